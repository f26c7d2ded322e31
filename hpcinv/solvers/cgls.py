"""CGLS (conjugate gradients on the normal equations) with every vector in the state.

PETSc has KSPCGLS, but a KSP's Krylov vectors cannot be saved and restored; keeping x, r, p
and gamma here makes a resumed run reproduce the uninterrupted iterates exactly, which the
checkpoint/restart contract requires.  All vector algebra is PETSc's.
"""
from __future__ import annotations

from ..jobspec import SOLVERS
from .base import ExplicitStateSolver
from .state import SolverState


@SOLVERS.register("cgls")
class CGLS(ExplicitStateSolver):
    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self._s, self._q = self.operator.create_vecs()   # work vectors A^T r and A p

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["gamma"] == 0.0

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        r = self.problem.data.copy()          # r = b - A x with x = 0
        p = x.duplicate()
        self.operator.mult_transpose(r, p)     # p = s = A^T r
        return SolverState(vectors={"x": x, "r": r, "p": p},
                           scalars={"gamma": p.dot(p), "residual_norm": r.norm()})

    def step(self, state: SolverState) -> float:
        x, r, p = state.vectors["x"], state.vectors["r"], state.vectors["p"]
        s, q = self._s, self._q
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
