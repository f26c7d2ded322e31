"""LSQR (Paige & Saunders 1982) with the Golub-Kahan state in ``SolverState``.

PETSc's KSPLSQR (kind ``ksp``) cannot save its Krylov vectors; keeping u, v, w, x and the
plane-rotation scalars here makes a resumed run reproduce the uninterrupted iterates exactly.
All vector algebra is PETSc's.
"""
from __future__ import annotations

import math

from ...core.state import SolverState
from ..framework.method import IterativeMethod
from .monitor import ksp_monitor


def _normalise(vec) -> float:
    """Scale ``vec`` to unit norm (unless zero); return its former norm."""
    norm = vec.norm()
    if norm > 0:
        vec.scale(1.0 / norm)
    return norm


class LSQR(IterativeMethod):
    """LSQR for min ||A x - b|| from x = 0, stopped by ``stopping`` (default: the
    discrepancy principle ||A x - b|| <= tau * noise_norm) or after ``max_iterations``."""

    _work = None   # a domain and a range Vec, made at the first step; after a step the
    # range one holds A v of the step's v (before its update)
    last_update = None   # (x_step, w_step) of the last step's x += x_step w; w = v - w_step w

    def iteration_monitor(self):
        return ksp_monitor(self.operator.comm)

    def initial_state(self) -> SolverState:
        x, u = self.operator.create_vecs()
        self.data.copy(u)
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
        if self._work is None:
            self._work = self.operator.create_vecs()
        work_domain, work_range = self._work
        # Bidiagonalisation: beta u = A v - alpha u, alpha v = A^T u - beta v.
        self.operator.mult(v, work_range)
        u.aypx(-scalars["alpha"], work_range)
        beta = _normalise(u)
        self.operator.mult_transpose(u, work_domain)
        v.aypx(-beta, work_domain)
        alpha = _normalise(v)
        # Plane rotation eliminating beta; phibar is ||b - A x|| of the new iterate.
        rho = math.hypot(scalars["rhobar"], beta)
        c, s = scalars["rhobar"] / rho, beta / rho
        theta, phi = s * alpha, c * scalars["phibar"]
        x.axpy(phi / rho, w)
        w.aypx(-theta / rho, v)
        self.last_update = (phi / rho, theta / rho)
        scalars.update(alpha=alpha, rhobar=-c * alpha, phibar=s * scalars["phibar"])
        return abs(scalars["phibar"])
