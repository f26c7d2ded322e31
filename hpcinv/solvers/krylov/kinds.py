"""The job kinds ``cgls``, ``lsqr`` and ``ksp``: the Krylov methods under a [solver] table."""
from __future__ import annotations

from ...core.jobspec import SOLVERS, Field
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from .cgls import CGLS
from .ksp import KSP_TYPES, KSPLeastSquares
from .lsqr import LSQR


@SOLVERS.register("cgls")
class CGLSKind(MethodKind):
    """CGLS with its state saved exactly (a resumed run repeats the same iterates)."""

    @classmethod
    def build(cls, problem, values: dict) -> CGLS:
        return CGLS(problem.operator, problem.data, **discrepancy_arguments(problem, values))


@SOLVERS.register("lsqr")
class LSQRKind(MethodKind):
    """LSQR with its state saved exactly (a resumed run repeats the same iterates)."""

    @classmethod
    def build(cls, problem, values: dict) -> LSQR:
        return LSQR(problem.operator, problem.data, **discrepancy_arguments(problem, values))


@SOLVERS.register("ksp")
class KSPKind(MethodKind):
    """PETSc's KSPLSQR or KSPCGLS, configured by the job's [petsc] options."""

    parameters = {**COMMON_PARAMETERS,
                  "ksp_type": Field(str, "lsqr", "PETSc least-squares Krylov method",
                                    choices=KSP_TYPES)}

    @classmethod
    def build(cls, problem, values: dict) -> KSPLeastSquares:
        return KSPLeastSquares(problem.operator, problem.data, ksp_type=values["ksp_type"],
                               **discrepancy_arguments(problem, values))
