"""FISTA, the baseline SR3 is measured against for L = I (Luiken's thesis, ch. 6), on
distributed Vecs (``admm.py`` is the baseline for any L):

- ``ProximalGradient``: FISTA, the accelerated proximal gradient method (momentum as in
  O'Donoghue's apg, the thesis' ref. [94]: weight 1 - theta_{k+1}, about k / (k + 2), without
  apg's adaptive restart; Beck and Teboulle's is (k - 1) / (k + 2)), for
  min 1/2 ||A x - b||^2 + R(x) (L = I): x_{k+1} = prox_{alpha R}(v_k - alpha A^T (A v_k - b))
  with alpha = 1 / ||A||_2^2 (||A||_2 by SLEPc), v the same extrapolation as SR3's, and the
  same stop ||v - x|| / max(1, ||x||) <= ``tolerance``;
"""
from __future__ import annotations

import math

from ...core.errors import ArgumentError, check_number
from ...core.state import SolverState
from ..framework.method import IterativeMethod
from ..framework.stopping import RelativeChange
from .extrapolation import extrapolate


def operator_norm(operator) -> float:
    """||A||_2, the largest singular value (SLEPc's thick-restart Lanczos to 1e-8)."""
    from ...linalg.decompositions.svd_backends import slepc_svd

    return float(slepc_svd(operator, 1, tol=1e-8).s[0])


def safe_step(operator) -> float:
    """1 / ||A||_2^2, shortened by 1e-6 relative: SLEPc's estimate may sit a hair below
    ||A||_2, and a step past 1 / ||A||^2 loses FISTA's guarantee."""
    norm = operator_norm(operator)
    if not norm > 0:
        raise ArgumentError("operator", "is zero (||A||_2 = 0): nothing to fit")
    return (1.0 - 1e-6) / norm ** 2


class ProximalGradient(IterativeMethod):
    """FISTA on 1/2 ||A x - b||^2 + R(x) for a prox.L1Norm or prox.L1Ball R."""

    def __init__(self, operator, data, regularizer, *, tolerance: float = 1e-6,
                 accelerate: bool = True, step: float | None = None,
                 max_iterations: int = 5000):
        super().__init__(operator, data, max_iterations=max_iterations,
                         stopping=RelativeChange(tolerance))
        self.regularizer, self.accelerate = regularizer, bool(accelerate)
        self.step_length = (safe_step(operator) if step is None
                            else check_number("step", step, positive=True))
        self._gradient, self._residual = operator.create_vecs()

    def initial_state(self) -> SolverState:
        x = self.operator.create_vecs()[0]
        # The step goes into the state: a resumed run keeps it (SLEPc's estimate of ||A||
        # may differ in its last digits on another rank count).
        return SolverState(vectors={"x": x, "v": x.copy()},
                           scalars={"theta": 1.0, "change": math.inf, "step": self.step_length,
                                    "residual_norm": self.data.norm()})

    def step(self, state: SolverState) -> float:
        x, v = state.vectors["x"], state.vectors["v"]
        scalars = state.scalars
        self._apply_residual(v)
        self.operator.mult_transpose(self._residual, self._gradient)
        new_x = v.copy()
        new_x.axpy(-scalars["step"], self._gradient)
        self.regularizer.prox(new_x, scalars["step"])
        theta, change = extrapolate(v, new_x, x, scalars["theta"], self.accelerate)
        new_x.destroy()
        scalars.update(theta=theta, change=change)
        return self._apply_residual(x)

    def _apply_residual(self, x) -> float:
        self.operator.mult(x, self._residual)
        self._residual.axpy(-1.0, self.data)
        return self._residual.norm()

    def history_columns(self, state: SolverState) -> dict:
        return {"change": state.scalars["change"]}

    def result_attributes(self, state: SolverState) -> dict:
        return {"step": state.scalars["step"]}
