"""The seismic app's problem kind ``mdd``: multidimensional deconvolution of synthetic or
measured wavefields, with frequency blocks for frequency-domain solvers and the impulse
response's geometry for the redatuming constraints."""
from __future__ import annotations

from ...core.jobspec import PROBLEMS, ProblemKind
from ...solvers.constrained.impulse_response import ImpulseResponseSystem
from ...solvers.krylov.frequency_system import FrequencyBlockSystem
from .memory import mdd_memory
from .problem import PARAMETERS, build, check_parameters, prepare


@PROBLEMS.register("mdd")
class MddKind(ProblemKind):
    parameters = PARAMETERS
    check_parameters = staticmethod(check_parameters)
    prepare = staticmethod(prepare)
    build = staticmethod(build)
    memory_estimate = staticmethod(mdd_memory)

    @staticmethod
    def capabilities(values: dict) -> tuple:
        return (FrequencyBlockSystem, ImpulseResponseSystem)

    @staticmethod
    def figures(result, directory, stem: str) -> list:
        from .figures import mdd_figures

        return mdd_figures(result, directory, stem)
