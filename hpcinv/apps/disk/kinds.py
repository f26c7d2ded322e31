"""The disk app's problem kind ``disk``: a thin disk's distribution function from velocity
profiles (``problem.py``), for the penalised-likelihood solvers and any least-squares one."""
from __future__ import annotations

from ...core.jobspec import PROBLEMS, ProblemKind
from ...solvers.penalized.capabilities import PenaltyGrid
from .memory import disk_memory
from .build import build
from .problem import PARAMETERS, check_parameters, prepare


@PROBLEMS.register("disk")
class DiskKind(ProblemKind):
    parameters = PARAMETERS
    check_parameters = staticmethod(check_parameters)
    prepare = staticmethod(prepare)
    build = staticmethod(build)
    memory_estimate = staticmethod(disk_memory)

    @staticmethod
    def capabilities(values: dict) -> tuple:
        return (PenaltyGrid,)

    @staticmethod
    def figures(result, directory, stem: str) -> list:
        from .figures import disk_figures

        return disk_figures(result, directory, stem)
