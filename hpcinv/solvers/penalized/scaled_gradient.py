"""The single-direction scaled-gradient schemes of Pichon & Thiebaut (1997, Eq. 30) at a
fixed mu: delta f = -q grad Q with the metric q of this work (f^nu), Richardson-Lucy (f),
classical maximum entropy (f / mu) or Cornwell-Evans (f / (mu + 2 f sum_i a_ik^2), the
diagonal of the Hessian), then a line search for lambda in Q(f + lambda delta f) that keeps
f above a positive floor.

They stop (Fig. 3) when the step no longer lowers Q by a fraction ``decrease`` (the paper's
epsilon_1 = 1e-8) or when rho = ||delta f|| / (||delta f_L|| + ||delta f_R||) falls below
``progress`` (epsilon_2 = 1e-5: the two terms' pulls cancel).  They are the baseline the
six-direction scheme (``subspace.py``) is measured against.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from ...core.errors import ArgumentError, check_number
from ...core.state import SolverState
from ...linalg.operator import is_matrix_free
from ...linalg.vectors import norms
from ..framework.method import IterativeMethod
from ..framework.stopping import StoppingRule
from .likelihood import ChiSquare
from .start import clip_to_floor, floored_start

METRICS = ("power", "lucy", "mem", "cornwell-evans")


class Stalled(StoppingRule):
    """Fig. 3's two tests on the step just taken (scalars the step records)."""

    reason = "converged"

    def __init__(self, decrease: float, progress: float):
        self.decrease, self.progress = decrease, progress

    def met(self, state, residual: float) -> bool:
        scalars = state.scalars
        return ("relative_decrease" in scalars
                and (scalars["relative_decrease"] < self.decrease
                     or scalars["progress_ratio"] < self.progress))


class ScaledGradient(IterativeMethod):
    """min L(f) + mu R(f), f >= floor, by delta f = -q grad Q and a line search.

    ``metric`` is one of ``METRICS`` ("power": q = f^nu), ``floor`` the lowest value of f
    relative to the constant start; ``decrease`` and ``progress`` are the stopping
    thresholds epsilon_1 and epsilon_2."""

    def __init__(self, operator, data, penalty, *, mu: float, metric: str = "power",
                 nu: float = 1.0, floor: float = 1e-8, decrease: float = 1e-8,
                 progress: float = 1e-5, max_iterations: int = 5000, initial=None):
        if metric not in METRICS:
            raise ArgumentError("metric", f"must be one of {', '.join(METRICS)}, got "
                                          f"{metric!r}")
        if not 1.0 <= nu <= 2.0:
            raise ArgumentError("nu", f"must be in [1, 2], got {nu}")
        super().__init__(operator, data, max_iterations=max_iterations,
                         stopping=Stalled(check_number("decrease", decrease, positive=True),
                                          check_number("progress", progress, positive=True)))
        self.penalty, self.metric, self.nu = penalty, metric, float(nu)
        self.mu = check_number("mu", mu, positive=True)
        self.likelihood = ChiSquare(operator, data)
        self.initial, self.floor = floored_start(
            operator, data, check_number("floor", floor, positive=True), initial)
        self._column_weights = (column_square_sums(operator) if metric == "cornwell-evans"
                                else None)
        self._work = None

    def objective(self, f) -> float:
        return self.likelihood.value(f) + self.mu * self.penalty.value(f)

    def initial_state(self) -> SolverState:
        f = self.initial.copy()
        chi_square = self.likelihood.value(f)
        return SolverState(vectors={"x": f},
                           scalars={"chi_square": chi_square,
                                    "objective": chi_square + self.mu * self.penalty.value(f),
                                    "residual_norm": math.sqrt(chi_square)})

    def _metric(self, f, out) -> None:
        values = f.getArray(readonly=True)
        if self.metric == "power":
            out.getArray()[:] = values ** self.nu
        elif self.metric == "lucy":
            out.getArray()[:] = values
        elif self.metric == "mem":
            out.getArray()[:] = values / self.mu
        else:
            weights = self._column_weights.getArray(readonly=True)
            out.getArray()[:] = values / (self.mu + 2.0 * values * weights)

    def step(self, state: SolverState) -> float:
        f = state.vectors["x"]
        if self._work is None:
            self._work = [f.duplicate() for _ in range(5)] + [self.operator.create_vecs()[1]]
        grad_l, grad_r, metric, direction, trial, image = self._work
        self.likelihood.gradient(f, grad_l)
        self.penalty.gradient(f, grad_r)
        self._metric(f, metric)
        grad_l.pointwiseMult(metric, grad_l)             # now -delta f_L
        grad_r.pointwiseMult(metric, grad_r)
        grad_r.scale(self.mu)                            # now -delta f_R
        direction.waxpy(1.0, grad_l, grad_r)
        direction.scale(-1.0)
        step_norm, likelihood_norm, penalty_norm = norms([direction, grad_l, grad_r])
        pulls = likelihood_norm + penalty_norm
        state.scalars["progress_ratio"] = step_norm / pulls if pulls > 0 else 0.0
        objective = state.scalars["objective"]
        length, new_objective = self._line_search(f, direction, trial, image, objective)
        state.scalars["relative_decrease"] = (objective - new_objective) / abs(objective)
        state.scalars["step_length"] = length
        if new_objective < objective:
            f.axpy(length, direction)
            clip_to_floor(f, self.floor)
        chi_square = self.likelihood.value(f)
        state.scalars.update(chi_square=chi_square,
                             objective=chi_square + self.mu * self.penalty.value(f))
        return math.sqrt(chi_square)

    def _line_search(self, f, direction, trial, image, objective):
        """(lambda, Q(f + lambda d)): Brent's bounded search on [0, lambda_max], lambda_max
        the positivity bound capped at a few Newton steps of the quadratic model."""
        residual = self.likelihood.residual(f)
        self.operator.mult(direction, image)
        slope_l = 2.0 * image.dot(residual)
        curvature_l = image.dot(image)                   # L(lambda) = L + s lambda + c lambda^2
        chi_square = residual.dot(residual)
        self.penalty.hessian_mult(f, direction, trial)
        curvature = 2.0 * curvature_l + self.mu * direction.dot(trial)
        self.penalty.gradient(f, trial)
        slope = slope_l + self.mu * direction.dot(trial)
        if not slope < 0:
            return 0.0, objective
        upper = min(_positivity_bound(f, direction),
                    4.0 * -slope / curvature if curvature > 0 else math.inf)
        if not math.isfinite(upper) or upper <= 0:
            return 0.0, objective

        def along(length: float) -> float:
            trial.waxpy(length, direction, f)
            return (chi_square + slope_l * length + curvature_l * length * length
                    + self.mu * self.penalty.value(trial))

        found = minimize_scalar(along, bounds=(0.0, upper), method="bounded",
                                options={"xatol": 1e-6 * upper})
        return float(found.x), float(found.fun)

    def history_columns(self, state: SolverState) -> dict:
        scalars = state.scalars
        return {"chi_square": scalars["chi_square"], "objective": scalars["objective"],
                "progress_ratio": scalars.get("progress_ratio", np.nan)}

    def result_attributes(self, state: SolverState) -> dict:
        return {"mu": self.mu, "chi_square": state.scalars["chi_square"],
                "objective": state.scalars["objective"], "metric": self.metric}


def _positivity_bound(f, direction) -> float:
    """The largest lambda with f + lambda d >= 0 (all ranks); the step then clips f to
    the floor (the paper's option (ii): bounding by the floor itself, option (i), would
    stop the search as soon as one entry neared the floor)."""
    values, steps = f.getArray(readonly=True), direction.getArray(readonly=True)
    falling = steps < 0
    local = (np.min(values[falling] / -steps[falling]) if falling.any() else math.inf)
    from mpi4py import MPI

    return float(f.getComm().tompi4py().allreduce(local, op=MPI.MIN))


def column_square_sums(operator):
    """sum_i A_ik^2 for each column k (the diagonal of A^T A), from an assembled Mat."""
    if is_matrix_free(operator):
        raise ArgumentError("metric", "cornwell-evans needs the diagonal of A^T A, so an "
                                      "assembled operator (this one is matrix-free)")
    mat = operator.as_petsc_mat()
    squared = mat.copy()
    if "dense" in squared.getType():
        array = squared.getDenseArray()
        array **= 2
    else:
        indptr, indices, values = squared.getValuesCSR()
        squared.setValuesCSR(indptr, indices, values ** 2)
    squared.assemble()
    ones, weights = operator.create_vecs()
    weights.set(1.0)
    squared.multTranspose(weights, ones)
    squared.destroy()
    return ones
