"""Scaled-form ADMM, the baseline SR3 is measured against for any L (Luiken's thesis,
ch. 6), for min 1/2 ||A x - b||^2 + R(L x): x from LSQR on [A; sqrt(rho) L] x ~
[b; sqrt(rho) (z - u)] (the stacked solve SR3 uses, warm-started, to ``inner_tolerance``),
z = prox_{R/rho}(L x + u), u += L x - z; stopped once both the primal residual ||L x - z||
and the change of z are below ``tolerance`` relative to max(1, ||z||), the primal and dual
residuals going to the history.  With u = 0 the x step is SR3's with kappa = rho.
"""
from __future__ import annotations

import math

from ...core.errors import check_number
from ...core.state import SolverState
from ..framework.stopping import RelativeChange
from .splitting import StackedSplitting


class ADMM(StackedSplitting):
    """Scaled ADMM on 1/2 ||A x - b||^2 + R(L x), penalty ``rho``."""

    def __init__(self, operator, data, regularization, regularizer, *, rho: float,
                 inner_tolerance: float = 1e-6, tolerance: float = 1e-6,
                 max_iterations: int = 500, max_inner_iterations: int = 10000):
        self.rho = check_number("rho", rho, positive=True)
        super().__init__(operator, data, regularization, regularizer, weight=self.rho,
                         stopping=RelativeChange(tolerance), inner_tolerance=inner_tolerance,
                         max_iterations=max_iterations,
                         max_inner_iterations=max_inner_iterations)
        self._dual = operator.create_vecs()[0]

    def initial_state(self) -> SolverState:
        x = self.operator.create_vecs()[0]
        z = self.regularization.create_vecs()[1]
        return SolverState(vectors={"x": x, "z": z, "u": z.copy()},
                           orders={name: self.regularization.natural_row_ranges()
                                   for name in ("z", "u")},
                           scalars={"change": math.inf, "inner_iterations": 0,
                                    "total_inner_iterations": 0,
                                    "residual_norm": self.data.norm()})

    def step(self, state: SolverState) -> float:
        x, z, u = (state.vectors[name] for name in ("x", "z", "u"))
        scalars = state.scalars
        target = z.copy()
        target.axpy(-1.0, u)
        steps = self.inner.solve(x, target, tolerance=self.inner_tolerance)
        lx = target   # reused: L x
        self.regularization.mult(x, lx)
        new_z = lx.copy()
        new_z.axpy(1.0, u)
        self.regularizer.prox(new_z, 1.0 / self.rho)
        u.axpy(1.0, lx)
        u.axpy(-1.0, new_z)
        scale = max(1.0, new_z.norm())
        lx.axpy(-1.0, new_z)            # primal residual L x - z
        primal = lx.norm() / scale
        z.axpy(-1.0, new_z)             # z_old - z_new
        change = max(primal, z.norm() / scale)
        # Boyd et al.'s residuals: primal ||L x - z||, dual rho ||L^T (z_new - z_old)||.
        self.regularization.mult_transpose(z, self._dual)
        scalars.update(primal_residual=primal * scale, dual_residual=self.rho * self._dual.norm())
        new_z.copy(z)
        for vec in (lx, new_z):
            vec.destroy()
        scalars["change"] = change
        self.count_inner(state, steps)
        return self.data_residual(x)

    def history_columns(self, state: SolverState) -> dict:
        return {**super().history_columns(state),
                **{key: state.scalars.get(key, math.nan)
                   for key in ("primal_residual", "dual_residual")}}

    def result_attributes(self, state: SolverState) -> dict:
        return {"rho": self.rho,
                "total_inner_iterations": state.scalars["total_inner_iterations"]}
