"""LSQR on a stacked operator [A; w L] with data [b; w c], the solve that general-form
Tikhonov (c = 0, w = sqrt(lambda)) and the relaxed splittings SR3 and ADMM (c changing every
outer step) share: PETSc's KSPLSQR warm-started at the current x (so LSQR works on the
correction, Luiken's Eq. 6.28), either to LSQR's own tolerance or until a test of the
iterate, made after every LSQR step of one continuing Golub-Kahan process, says stop
(Algorithm 8's inner loop: the iterate is inspected, LSQR is not restarted between
inspections).
"""
from __future__ import annotations

from ...core.errors import RuntimeFailure
from ...linalg.operator import StackedOperator
from .ksp_driver import ksp_stop_reason


class StackedLSQR:
    """LSQR solves of [A; weight L] x ~ [b; weight c] for changing c (collective).  With
    ``prefix``, PETSc options under it (``-PREFIXksp_monitor``, ...) reach the KSP."""

    def __init__(self, A, L, data, weight: float, *, max_iterations: int,
                 prefix: str | None = None):
        self.stacked = StackedOperator(A, L, weight)
        self.weight = weight
        self.max_iterations = max_iterations
        self.prefix = prefix
        self.rhs = self.stacked.stack_data(data)
        self.last_reason = 0
        self._mat = self.stacked.as_petsc_mat()

    def solve(self, x, bottom=None, *, tolerance: float, inspect=None,
              strict: bool = True) -> int:
        """Update ``x`` in place from its current value; ``bottom`` is c (L's rows; None:
        0).  With ``inspect``, a callable ``inspect(x_l) -> bool`` called after each LSQR
        step l >= 1 with the current iterate, the solve stops when it returns True;
        otherwise LSQR stops at relative residual or normal-equation residual
        ``tolerance``.  Returns the LSQR steps taken; ``last_reason`` keeps KSP's reason
        (with ``strict`` a breakdown raises; running out of steps never does)."""
        from petsc4py import PETSc

        with self.stacked.blocks(self.rhs) as (_, lower):
            if bottom is None:
                lower.zeroEntries()
            else:
                bottom.copy(lower)
                lower.scale(self.weight)
        ksp = PETSc.KSP().create(comm=self.stacked.comm)
        try:
            ksp.setOperators(self._mat)
            ksp.setType(PETSc.KSP.Type.LSQR)
            ksp.getPC().setType(PETSc.PC.Type.NONE)
            ksp.setInitialGuessNonzero(True)
            ksp.setTolerances(rtol=tolerance, atol=0.0, max_it=self.max_iterations)
            if self.prefix is not None:
                from ...core.petsc_options import petsc_input_errors

                ksp.setOptionsPrefix(self.prefix)
                with petsc_input_errors():   # a bad option value is bad input
                    ksp.setFromOptions()
            if inspect is not None:
                ksp.setConvergenceTest(_inspecting_test(inspect, x, self.max_iterations))
            ksp.solve(self.rhs, x)
            self.last_reason = code = ksp.getConvergedReason()
            if strict and code < 0 and code != PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT:
                raise RuntimeFailure(f"LSQR on the stacked [A; w L] failed: "
                                     f"{ksp_stop_reason(code)}")
            return ksp.getIterationNumber()
        finally:
            ksp.destroy()


def _inspecting_test(inspect, x, max_iterations: int):
    """A KSP convergence test calling ``inspect(x)`` after every LSQR step.  KSPLSQR
    updates the solution Vec ``x`` in place each step, so ``x`` is the current iterate
    (``ksp.buildSolution()`` would return the same values in a new Vec every call)."""
    from petsc4py import PETSc

    def test(ksp, iteration, residual_norm):
        if iteration == 0:   # the warm start: nothing new, or already exact
            return (PETSc.KSP.ConvergedReason.CONVERGED_ATOL if residual_norm == 0
                    else PETSc.KSP.ConvergedReason.ITERATING)
        if inspect(x):
            return PETSc.KSP.ConvergedReason.CONVERGED_ITS
        if iteration >= max_iterations:
            return PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT
        return PETSc.KSP.ConvergedReason.ITERATING

    return test
