"""CGLS (conjugate gradients on the normal equations) with every vector in the state.

PETSc has KSPCGLS, but a KSP's Krylov vectors cannot be saved and restored; keeping x, r, p
and gamma here makes a resumed run reproduce the uninterrupted iterates exactly, which the
checkpoint/restart contract requires.  All vector algebra is PETSc's.
"""
from __future__ import annotations

from ...core.state import SolverState
from ..framework.method import IterativeMethod
from .monitor import ksp_monitor


class CGLS(IterativeMethod):
    """CGLS for min ||A x - b|| from x = 0, stopped by ``stopping`` (default: the
    discrepancy principle ||A x - b|| <= tau * noise_norm) or after ``max_iterations``."""

    _work = None   # A^T r and A p, made at the first step

    def iteration_monitor(self):
        return ksp_monitor(self.operator.comm)

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["gamma"] == 0.0

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        r = self.data.copy()                   # r = b - A x with x = 0
        p = x.duplicate()
        self.operator.mult_transpose(r, p)     # p = s = A^T r
        return SolverState(vectors={"x": x, "r": r, "p": p},
                           scalars={"gamma": p.dot(p), "residual_norm": r.norm()})

    def step(self, state: SolverState) -> float:
        x, r, p = state.vectors["x"], state.vectors["r"], state.vectors["p"]
        if self._work is None:
            self._work = self.operator.create_vecs()
        s, q = self._work
        gamma = state.scalars["gamma"]
        self.operator.mult(p, q)
        q_norm2 = q.dot(q)
        alpha = gamma / q_norm2
        x.axpy(alpha, p)
        r.axpy(-alpha, q)
        self.operator.mult_transpose(r, s)
        gamma_next = s.dot(s)
        p.aypx(gamma_next / gamma, s)          # p = s + beta p
        state.scalars["gamma"] = gamma_next
        return r.norm()
