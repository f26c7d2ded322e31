"""The job kinds ``cgls``, ``lsqr`` and ``ksp``: the Krylov methods under a [solver] table."""
from __future__ import annotations

from ...core.jobspec import SOLVERS, Field
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from .cgls import CGLS
from .ksp import KSP_TYPES, KSPLeastSquares
from .lsqr import LSQR


def _own_method_petsc_problems(options: dict) -> list:
    """hpcinv's LSQR and CGLS are no KSPs: of PETSc's ``ksp_*`` options they honour only
    ``ksp_monitor = true`` (``monitor.ksp_monitor``); any other would be silently ignored."""
    problems = []
    for key, value in options.items():
        name = str(key).lstrip("-").lower()
        honoured = name == "ksp_monitor" and (value is True or value == "")
        if name.startswith("ksp_") and not honoured:
            problems.append((key, "hpcinv's own lsqr and cgls are not PETSc KSPs and take no "
                                  "ksp_* option but ksp_monitor = true (lines on standard "
                                  "output); use solver.kind = \"ksp\" for PETSc's KSP"))
    return problems


@SOLVERS.register("cgls")
class CGLSKind(MethodKind):
    """CGLS with its state saved exactly (a resumed run repeats the same iterates)."""

    check_petsc_options = staticmethod(_own_method_petsc_problems)

    @classmethod
    def build(cls, problem, values: dict) -> CGLS:
        return CGLS(problem.operator, problem.data, **discrepancy_arguments(problem, values))


@SOLVERS.register("lsqr")
class LSQRKind(MethodKind):
    """LSQR with its state saved exactly (a resumed run repeats the same iterates)."""

    check_petsc_options = staticmethod(_own_method_petsc_problems)

    @classmethod
    def build(cls, problem, values: dict) -> LSQR:
        return LSQR(problem.operator, problem.data, **discrepancy_arguments(problem, values))


@SOLVERS.register("ksp")
class KSPKind(MethodKind):
    """PETSc's KSPLSQR or KSPCGLS, configured by the job's [petsc] options (all but those
    deciding convergence: ``framework.ksp_options``)."""

    parameters = {**COMMON_PARAMETERS,
                  "ksp_type": Field(str, "lsqr", "PETSc least-squares Krylov method",
                                    choices=KSP_TYPES)}

    @classmethod
    def build(cls, problem, values: dict) -> KSPLeastSquares:
        return KSPLeastSquares(problem.operator, problem.data, ksp_type=values["ksp_type"],
                               **discrepancy_arguments(problem, values))
