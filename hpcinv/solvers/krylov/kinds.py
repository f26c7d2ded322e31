"""The job kinds ``cgls``, ``lsqr``, ``ksp`` and ``block-krylov``: the Krylov methods under a
[solver] table."""
from __future__ import annotations

from ...core.jobspec import SOLVERS, Field
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from ..memory import block_krylov_memory
from .block_frequency import METHODS
from .block_mdd import BlockKrylovMDD
from .cgls import CGLS
from .frequency_system import FrequencyBlockSystem
from .ksp import KSP_TYPES, KSPLeastSquares
from .lsqr import LSQR


def own_method_petsc_problems(options: dict) -> list:
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

    check_petsc_options = staticmethod(own_method_petsc_problems)

    @classmethod
    def build(cls, problem, values: dict) -> CGLS:
        return CGLS(problem.operator, problem.data, **discrepancy_arguments(problem, values))


@SOLVERS.register("lsqr")
class LSQRKind(MethodKind):
    """LSQR with its state saved exactly (a resumed run repeats the same iterates)."""

    check_petsc_options = staticmethod(own_method_petsc_problems)

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


def _below_one(value) -> str | None:
    return None if value < 1 else "must be below 1"


@SOLVERS.register("block-krylov")
class BlockKrylovKind(MethodKind):
    """Frequency-domain MDD: per frequency, block CG on the normal equations from a deflated
    block of right-hand sides (or the column-by-column baseline), on the owning rank."""

    parameters = {
        **COMMON_PARAMETERS,
        "method": Field(str, "block", "block: all right-hand sides of a frequency in one "
                        "deflated block; column: each on its own (the baseline)",
                        choices=tuple(METHODS)),
        "iterations": Field(int, 1, "block steps of every frequency (without "
                            "frequency_discrepancy)", minimum=1),
        "deflation_tolerance": Field(float, 1e-6, "keep the data's pivoted-QR directions "
                                     "with |R_ii| > tolerance * |R_00|", minimum=0.0,
                                     check=_below_one),
        "frequency_discrepancy": Field(bool, False, "stop each frequency once ||P_f - G_f "
                                       "Q_f||_F <= tau * delta_f (the problem's noise per "
                                       "frequency), at most max_iterations steps"),
    }
    memory_estimate = staticmethod(block_krylov_memory)

    @staticmethod
    def requirements(values: dict) -> dict:
        return {FrequencyBlockSystem: "solver.kind"}

    @classmethod
    def build(cls, problem, values: dict) -> BlockKrylovMDD:
        return BlockKrylovMDD(
            problem.require(FrequencyBlockSystem), problem.data, method=values["method"],
            iterations=values["iterations"],
            deflation_tolerance=values["deflation_tolerance"],
            frequency_discrepancy=values["frequency_discrepancy"],
            **discrepancy_arguments(problem, values))
