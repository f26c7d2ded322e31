"""The inner solve SR3 and ADMM share: min_x ||[A; w L] x - [b; w c]|| by PETSc's KSPLSQR
on the stacked operator, warm-started at the current x (so LSQR works on the correction,
Luiken's Eq. 6.28), either to LSQR's own tolerance or until a test of the iterate, made
after every LSQR step from one continuing Golub-Kahan process, says stop (Algorithm 8's
inner loop: the iterate is inspected, LSQR is not restarted between inspections).
"""
from __future__ import annotations

import math

from ...core.errors import ArgumentError, RuntimeFailure, check_count, check_number
from ...linalg.operator import StackedOperator
from ..framework.ksp_driver import ksp_stop_reason
from ..framework.method import IterativeMethod


class StackedLSQR:
    """LSQR solves of [A; weight L] x ~ [b; weight c] for changing c (collective)."""

    def __init__(self, A, L, data, weight: float, *, max_iterations: int):
        self.stacked = StackedOperator(A, L, weight)
        self.weight = weight
        self.max_iterations = max_iterations
        self.rhs = self.stacked.stack_data(data)
        self._mat = self.stacked.as_petsc_mat()

    def solve(self, x, bottom, *, tolerance: float, inspect=None) -> int:
        """Update ``x`` in place from its current value; ``bottom`` is c (L's rows).  With
        ``inspect``, a callable ``inspect(x_l) -> bool`` called after each LSQR step l >= 1
        with the current iterate, the solve stops when it returns True; otherwise LSQR
        stops at relative residual or normal-equation residual ``tolerance``.  Returns the
        LSQR steps taken."""
        from petsc4py import PETSc

        with self.stacked.blocks(self.rhs) as (_, lower):
            bottom.copy(lower)
            lower.scale(self.weight)
        ksp = PETSc.KSP().create(comm=self.stacked.comm)
        try:
            ksp.setOperators(self._mat)
            ksp.setType(PETSc.KSP.Type.LSQR)
            ksp.getPC().setType(PETSc.PC.Type.NONE)
            ksp.setInitialGuessNonzero(True)
            ksp.setTolerances(rtol=tolerance, atol=0.0, max_it=self.max_iterations)
            if inspect is not None:
                ksp.setConvergenceTest(_inspecting_test(inspect, x, self.max_iterations))
            ksp.solve(self.rhs, x)
            code = ksp.getConvergedReason()
            if code < 0 and code != PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT:
                raise RuntimeFailure(f"LSQR on [A; sqrt(kappa) L] failed: "
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


class StackedSplitting(IterativeMethod):
    """What SR3 and ADMM share: R(L x) split off by a weighted ||L x - target||^2 term, x
    from ``StackedLSQR`` with weight sqrt(``weight``), the LSQR steps counted per outer step
    (``state.scalars['inner_iterations']``) and in total, the data residual ||A x - b||."""

    def __init__(self, operator, data, regularization, regularizer, *, weight: float,
                 stopping, inner_tolerance: float, max_iterations: int,
                 max_inner_iterations: int):
        super().__init__(operator, data, max_iterations=max_iterations, stopping=stopping)
        if regularization.shape[1] != operator.shape[1]:
            raise ArgumentError("regularization", f"L has {regularization.shape[1]} columns, "
                                                  f"A {operator.shape[1]}")
        self.regularization, self.regularizer = regularization, regularizer
        self.inner_tolerance = check_number("inner_tolerance", inner_tolerance, positive=True)
        self.inner = StackedLSQR(operator, regularization, data, math.sqrt(weight),
                                 max_iterations=check_count("max_inner_iterations",
                                                            max_inner_iterations, 1))
        self._data_residual = operator.create_vecs()[1]

    @staticmethod
    def count_inner(state, steps: int) -> None:
        state.scalars.update(inner_iterations=steps, total_inner_iterations=state.scalars.get(
            "total_inner_iterations", 0) + steps)

    def data_residual(self, x) -> float:
        self.operator.mult(x, self._data_residual)
        self._data_residual.axpy(-1.0, self.data)
        return self._data_residual.norm()

    def history_columns(self, state) -> dict:
        scalars = state.scalars
        return {"inner_iterations": scalars["inner_iterations"],
                "total_inner_iterations": scalars["total_inner_iterations"],
                "change": scalars["change"]}
