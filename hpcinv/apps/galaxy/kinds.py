"""The galaxy app's problem kind ``galaxy``: a 5-D distribution function from an IFU datacube
(or the seeded mock galaxy), with tensor block rows for PNKR."""
from __future__ import annotations

from ...core.jobspec import PROBLEMS, ProblemKind
from ...solvers.kaczmarz.block_rows import TensorBlockRows
from .memory import galaxy_memory
from .problem import PARAMETERS, build, prepare


@PROBLEMS.register("galaxy")
class GalaxyKind(ProblemKind):
    parameters = PARAMETERS
    prepare = staticmethod(prepare)
    build = staticmethod(build)
    memory_estimate = staticmethod(galaxy_memory)

    @staticmethod
    def capabilities(values: dict) -> tuple:
        return (TensorBlockRows,)

    @staticmethod
    def figures(result, directory, stem: str) -> list:
        from .figures import galaxy_figures

        return galaxy_figures(result, directory, stem)
