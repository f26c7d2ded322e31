"""LSQR (Paige & Saunders 1982) with the Golub-Kahan state in ``SolverState``.

PETSc's KSPLSQR (kind ``ksp``) cannot save its Krylov vectors; keeping u, v, w, x and the
plane-rotation scalars here makes a resumed run reproduce the uninterrupted iterates exactly.
All vector algebra is PETSc's.
"""
from __future__ import annotations

import math

from ..jobspec import SOLVERS
from .base import ExplicitStateSolver
from .state import SolverState


def _normalise(vec) -> float:
    """Scale ``vec`` to unit norm (unless zero); return its former norm."""
    norm = vec.norm()
    if norm > 0:
        vec.scale(1.0 / norm)
    return norm


@SOLVERS.register("lsqr")
class LSQR(ExplicitStateSolver):
    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self._work_domain, self._work_range = self.operator.create_vecs()

    def initial_state(self) -> SolverState:
        x, u = self.operator.create_vecs()
        self.problem.data.copy(u)
        beta = _normalise(u)
        v = x.duplicate()
        self.operator.mult_transpose(u, v)
        alpha = _normalise(v)
        return SolverState(vectors={"x": x, "u": u, "v": v, "w": v.copy()},
                           scalars={"alpha": alpha, "rhobar": alpha, "phibar": beta,
                                    "residual_norm": beta})

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["alpha"] == 0.0 or state.scalars["phibar"] == 0.0

    def step(self, state: SolverState) -> float:
        x, u, v, w = (state.vectors[name] for name in "xuvw")
        scalars = state.scalars
        # Bidiagonalisation: beta u = A v - alpha u, alpha v = A^T u - beta v.
        self.operator.mult(v, self._work_range)
        u.aypx(-scalars["alpha"], self._work_range)
        beta = _normalise(u)
        self.operator.mult_transpose(u, self._work_domain)
        v.aypx(-beta, self._work_domain)
        alpha = _normalise(v)
        # Plane rotation eliminating beta; phibar is ||b - A x|| of the new iterate.
        rho = math.hypot(scalars["rhobar"], beta)
        c, s = scalars["rhobar"] / rho, beta / rho
        theta, phi = s * alpha, c * scalars["phibar"]
        x.axpy(phi / rho, w)
        w.aypx(-theta / rho, v)
        scalars.update(alpha=alpha, rhobar=-c * alpha, phibar=s * scalars["phibar"])
        return abs(scalars["phibar"])
