"""SR3, sparse relaxed regularized regression (Zheng et al. 2019), as Luiken's thesis
(ch. 6) implements it: the target min_x 1/2 ||A x - b||^2 + R(L x) is relaxed to

    min_{x, y} 1/2 ||A x - b||^2 + kappa/2 ||L x - y||^2 + R(y),

and solved by alternating x = argmin ||[A; sqrt(kappa) L] x - [b; sqrt(kappa) v]|| (LSQR on
the stacked operator, warm-started at the current x: Eq. 6.28) with y = prox_{R/kappa}(L x)
(Eqs. 6.7-6.8), v the extrapolated y of the accelerated proximal-gradient method on the
y-problem (the thesis "adapted apg" [94]; ``accelerate = False`` is Algorithm 8 literally).

Inexact SR3 (Algorithm 8, the thesis' proposal): LSQR stops as soon as the prospective
y_l = prox(L x_l), formed after every LSQR step of one continuing LSQR, changes by less than
``inner_tolerance`` relative (Eq. 6.30); exact SR3 runs LSQR to its own tolerance
``inner_tolerance`` each outer step.  Either stops once ||v - y|| / max(1, ||y||) <=
``tolerance`` (apg's rule; the thesis gives no delta for its ||x_{k+1} - x_k|| <= delta).

R is an ``prox.L1Norm`` (penalised form, prox: the soft threshold at weight / kappa) or an
``prox.L1Ball`` (constrained form, prox: the projection, whatever kappa).  Counts of LSQR
steps per outer step and in total go to the history with the duality gap of the relaxed
problem in y (the primal-dual diagnostic, 0 at the solution); resuming at an outer step is
exact.
"""
from __future__ import annotations

import math

import numpy as np

from ...core.errors import check_number
from ...core.state import SolverState
from ..framework.stopping import RelativeChange
from .extrapolation import extrapolate
from .splitting import StackedSplitting


class SR3(StackedSplitting):
    """SR3 on [A; sqrt(kappa) L] for R(L x), R a prox.L1Norm or prox.L1Ball."""

    def __init__(self, operator, data, regularization, regularizer, *, kappa: float,
                 inexact: bool = True, inner_tolerance: float = 1e-6,
                 tolerance: float = 1e-6, accelerate: bool = True, max_iterations: int = 500,
                 max_inner_iterations: int = 10000):
        self.kappa = check_number("kappa", kappa, positive=True)
        super().__init__(operator, data, regularization, regularizer, weight=self.kappa,
                         stopping=RelativeChange(tolerance), inner_tolerance=inner_tolerance,
                         max_iterations=max_iterations,
                         max_inner_iterations=max_inner_iterations)
        self.inexact, self.accelerate = bool(inexact), bool(accelerate)
        # Eq. 6.30's two y's, the new y and L x - y, reused every outer step (parallel Vecs
        # made per step would only be freed at PETSc's garbage cleanup).
        self._previous, self._candidate, self._new_y, self._lx, self._work = (
            regularization.create_vecs()[1] for _ in range(5))

    def initial_state(self) -> SolverState:
        x = self.operator.create_vecs()[0]
        y = self.regularization.create_vecs()[1]   # y_0 = 0 = L x_0
        return SolverState(vectors={"x": x, "y": y, "v": y.copy()},
                           orders={name: self.regularization.natural_row_ranges()
                                   for name in ("y", "v")},
                           scalars={"theta": 1.0, "change": math.inf, "inner_iterations": 0,
                                    "total_inner_iterations": 0,
                                    "residual_norm": self.data.norm()})

    def step(self, state: SolverState) -> float:
        x, y, v = (state.vectors[name] for name in ("x", "y", "v"))
        scalars = state.scalars
        if self.inexact:
            steps = self.inner.solve(x, v, tolerance=self.inner_tolerance,
                                     inspect=self._stagnation_test(v))
        else:
            steps = self.inner.solve(x, v, tolerance=self.inner_tolerance)
        misfit = self.data_residual(x)
        new_y, lx = self._new_y, self._lx
        self.regularization.mult(x, lx)
        lx.copy(new_y)
        self.regularizer.prox(new_y, 1.0 / self.kappa)
        scalars["duality_gap"] = self._duality_gap(misfit, lx, new_y, v)
        theta, change = extrapolate(v, new_y, y, scalars["theta"], self.accelerate)
        scalars.update(theta=theta, change=change)
        self.count_inner(state, steps)
        return misfit

    def _duality_gap(self, misfit: float, lx, y, v) -> float:
        """An upper bound of the suboptimality of y in the relaxed problem in y,
        min 1/2 ||F_kappa y - g_kappa||^2 + R(y), when x = x(v) (LSQR converged: exact SR3;
        approximately so for inexact SR3): the primal 1/2 (||A x - b||^2 + kappa
        ||L x - y||^2) + R(y) >= its value at y, less the dual at r = g - F v, for which
        ||r||^2 = ||A x - b||^2 + kappa ||L x - v||^2, F^T r = kappa (L x - v) and
        g^T r = ||r||^2 + kappa v^T (L x - v) (``pareto``'s identities).  Evaluated at y
        itself the gap would vanish by the prox's optimality, whatever x."""
        from petsc4py import PETSc

        work = self._work
        lx.copy(work)
        work.axpy(-1.0, y)
        primal = 0.5 * (misfit ** 2 + self.kappa * work.norm() ** 2) + self.regularizer.value(y)
        lx.copy(work)
        work.axpy(-1.0, v)
        residual_sq = misfit ** 2 + self.kappa * work.norm() ** 2
        g_dot_r = residual_sq + self.kappa * v.dot(work)
        dual_inf = self.kappa * work.norm(PETSc.NormType.NORM_INFINITY)
        return primal - self.regularizer.dual_value(residual_sq, g_dot_r, dual_inf)

    def _prox_of_lx(self, x, out):
        self.regularization.mult(x, out)
        self.regularizer.prox(out, 1.0 / self.kappa)
        return out

    def _stagnation_test(self, start):
        """Eq. 6.30 after each LSQR step: ||y_l - y_(l-1)|| <= eps max(||y_(l-1)||, ||y_l||)
        (the larger norm, so that a zero start cannot divide by zero), y_0 = ``start``."""
        from mpi4py import MPI

        previous, candidate = self._previous, self._candidate
        start.copy(previous)
        mpi = previous.getComm().tompi4py()
        squares = np.empty(3)

        def inspect(x_l) -> bool:
            self._prox_of_lx(x_l, candidate)
            # The three norms in one reduction: this test runs after every LSQR step, where
            # each reduction is a synchronisation of all ranks.
            new, old = candidate.getArray(readonly=True), previous.getArray()
            squares[0], squares[1] = old @ old, new @ new
            old -= new
            squares[2] = old @ old
            mpi.Allreduce(MPI.IN_PLACE, squares, op=MPI.SUM)
            candidate.copy(previous)
            return squares[2] <= self.inner_tolerance ** 2 * max(squares[0], squares[1])

        return inspect

    def history_columns(self, state: SolverState) -> dict:
        from petsc4py import PETSc

        return {**super().history_columns(state),
                "y_l1_norm": state.vectors["y"].norm(PETSc.NormType.NORM_1),
                "duality_gap": state.scalars.get("duality_gap", math.nan)}

    def result_attributes(self, state: SolverState) -> dict:
        return {"kappa": self.kappa, "inexact": self.inexact,
                "total_inner_iterations": state.scalars["total_inner_iterations"]}
