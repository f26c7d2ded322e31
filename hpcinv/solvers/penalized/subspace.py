"""The six-direction subspace scheme of Pichon & Thiebaut (1997, Sect. 3.3, Fig. 4), a
generalisation of Skilling & Bryan's maximum-entropy algorithm to any penalty.

Each iteration builds six directions from the gradients and Hessians of L (chi-square) and
R (penalty), scaled by the metric q = f^nu: d1 = -q grad L, d2 = -q grad R, d3 = -q HL d1,
d4 = -q HL d2, d5 = -q HR d1, d6 = -q HR d2.  On their span it solves the quadratic models of
L and R by truncated SVD, choosing mu so that the model chi-square is L_aim = max(N_e,
(1 - alpha) L + alpha L_min) (``subspace_model.choose_step``): L falls to the target N_e,
then R is minimised at constant L.  Entries are kept above a positive floor.

No library offers this: TAO and KSP minimise at a fixed mu, while the point of the scheme is
that mu is found on the fly inside a six-dimensional subspace, each iteration costing a
fixed 7 products with A, 3 with A^T and 6 Hessian products of the penalty.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import ArgumentError, check_number
from ...core.state import SolverState
from ...linalg.vectors import dot_matrix
from ..framework.method import IterativeMethod
from ..framework.stopping import StoppingRule
from .likelihood import ChiSquare
from .start import clip_to_floor, floored_start
from .subspace_model import SubspaceSystem, choose_step

DIRECTIONS = 6


class Settled(StoppingRule):
    """Converged when the chi-square has reached its target (within ``tolerance``) and the
    last step changed f by at most ``convergence``: sum f |delta f| / sum f^2 (the paper's
    f-weighted change, made relative so it does not depend on the scale of f)."""

    reason = "converged"

    def __init__(self, chi_square_target: float, tolerance: float, convergence: float):
        self.chi_square_target = chi_square_target
        self.tolerance = tolerance
        self.convergence = convergence
        self.target = float(np.sqrt(chi_square_target))

    def met(self, state, residual: float) -> bool:
        change = state.scalars.get("change")
        return (change is not None and change <= self.convergence
                and residual * residual <= self.chi_square_target * (1 + self.tolerance))


class SubspaceDescent(IterativeMethod):
    """min R(f) subject to ||A f - b||^2 = ``chi_square_target`` (N_e), f >= floor > 0.

    ``operator`` and ``data`` are noise-weighted (rows divided by their standard
    deviations); ``penalty`` is a penalty object (``penalties.py``).  ``nu`` is the metric
    exponent (1: Skilling & Bryan's q = f), ``alpha`` how far toward the subspace's least
    chi-square each step aims, ``floor`` the lowest value of f relative to the constant
    start, ``convergence`` the relative change at which a run at the target stops,
    ``tolerance`` how closely mu matches L_aim and the target counts as reached, and
    ``svd_tolerance`` the relative singular-value cut of the subspace system.  ``mu`` seeds
    the first search (None: the value that balances the two Hessians).  ``memory`` adds the
    previous step as a seventh direction (not in the paper): like conjugate gradients'
    momentum, it carries the search along the slow valley of minimising R at constant L,
    which the six fresh directions of each iteration cross only slowly."""

    def __init__(self, operator, data, penalty, *, chi_square_target: float, nu: float = 1.0,
                 alpha: float = 2 / 3, floor: float = 1e-8, convergence: float = 1e-5,
                 tolerance: float = 1e-3, svd_tolerance: float = 1e-10, mu: float | None = None,
                 max_iterations: int = 500, initial=None, memory: bool = False):
        target = check_number("chi_square_target", chi_square_target, positive=True)
        if not 1.0 <= nu <= 2.0:
            raise ArgumentError("nu", f"must be in [1, 2] (the paper's metric q = f^nu), got "
                                      f"{nu}")
        if not 0.0 < alpha < 1.0:
            raise ArgumentError("alpha", f"must be in (0, 1), got {alpha}")
        self.tolerance = check_number("tolerance", tolerance, positive=True)
        super().__init__(operator, data, max_iterations=max_iterations,
                         stopping=Settled(target, self.tolerance,
                                          check_number("convergence", convergence)))
        self.penalty = penalty
        self.memory = bool(memory)
        self.count = DIRECTIONS + self.memory
        self.likelihood = ChiSquare(operator, data)
        self.chi_square_target, self.nu, self.alpha = target, float(nu), float(alpha)
        self.svd_tolerance = check_number("svd_tolerance", svd_tolerance, positive=True)
        self.initial_mu = 0.0 if mu is None else check_number("mu", mu, positive=True)
        self.initial, self.floor = floored_start(
            operator, data, check_number("floor", floor, positive=True), initial)
        self._work = None
        # (x, iteration, grad L): computed at the end of a step, for the next step on that x
        self._cached_gradient = None

    def initial_state(self) -> SolverState:
        self._cached_gradient = None
        f = self.initial.copy()
        chi_square = self.likelihood.value(f)
        vectors = {"x": f}
        if self.memory:
            vectors["last_step"] = f.duplicate()
            vectors["last_step"].zeroEntries()
        return SolverState(vectors=vectors,
                           scalars={"mu": self.initial_mu, "chi_square": chi_square,
                                    "residual_norm": float(np.sqrt(chi_square))})

    def _vectors(self, f):
        if self._work is None:
            domain = [f.duplicate() for _ in range(2 * self.count + 4)]
            ranges = [self.operator.create_vecs()[1] for _ in range(self.count)]
            self._work = domain, ranges
        return self._work

    def _likelihood_gradient(self, state, out) -> float:
        cached = self._cached_gradient
        if (cached is not None and cached[0] is state.vectors["x"]
                and cached[1] == state.iteration):
            cached[2].copy(out)
            return state.scalars["chi_square"]
        return self.likelihood.value_and_gradient(state.vectors["x"], out)

    def step(self, state: SolverState) -> float:
        f = state.vectors["x"]
        domain, images = self._vectors(f)
        count = self.count
        directions, penalty_curvatures = domain[:count], domain[count:2 * count]
        grad_l, grad_r, metric, scratch = domain[2 * count:]
        chi_square = self._likelihood_gradient(state, grad_l)
        self.penalty.gradient(f, grad_r)
        metric.getArray()[:] = f.getArray(readonly=True) ** self.nu
        first, second = directions[0], directions[1]
        _scaled_descent(metric, grad_l, first)
        _scaled_descent(metric, grad_r, second)
        _normalise([first, second], metric, scratch)
        # d3, d4 from the likelihood's Hessian: 2 A^T (A d), keeping A d1, A d2 for A^L.
        for source, image, target in ((first, images[0], directions[2]),
                                      (second, images[1], directions[3])):
            self.operator.mult(source, image)
            self.operator.mult_transpose(image, scratch)
            scratch.scale(2.0)
            _scaled_descent(metric, scratch, target)
        for source, curvature, target in ((first, penalty_curvatures[0], directions[4]),
                                          (second, penalty_curvatures[1], directions[5])):
            self.penalty.hessian_mult(f, source, curvature)
            _scaled_descent(metric, curvature, target)
        if self.memory:
            state.vectors["last_step"].copy(directions[DIRECTIONS])
        _normalise(directions[2:], metric, scratch)
        for index in range(2, count):
            self.operator.mult(directions[index], images[index])
            self.penalty.hessian_mult(f, directions[index], penalty_curvatures[index])
        gradients = dot_matrix([grad_l, grad_r], directions)
        system = SubspaceSystem(
            likelihood_matrix=2.0 * _symmetric(dot_matrix(images, images)),
            likelihood_vector=-gradients[0],
            penalty_matrix=_symmetric(dot_matrix(penalty_curvatures, directions)),
            penalty_vector=-gradients[1],
            chi_square=chi_square)
        choice = choose_step(system, self.chi_square_target, state.scalars["mu"],
                             alpha=self.alpha, tolerance=self.tolerance,
                             svd_tolerance=self.svd_tolerance)
        update = scratch
        update.zeroEntries()
        update.maxpy(choice.coefficients, directions)
        before = f.copy()
        f.axpy(1.0, update)
        clip_to_floor(f, self.floor)
        state.scalars.update(mu=choice.mu, rank=choice.rank, l_min=choice.l_min,
                             l_max=choice.l_max, l_aim=choice.l_aim,
                             change=_relative_change(before, f))
        if self.memory:
            state.vectors["last_step"].waxpy(-1.0, before, f)
        new_chi_square = self.likelihood.value_and_gradient(f, grad_l)
        if self._cached_gradient is None:
            self._cached_gradient = (f, state.iteration + 1, grad_l.copy())
        else:
            grad_l.copy(self._cached_gradient[2])
            self._cached_gradient = (f, state.iteration + 1, self._cached_gradient[2])
        state.scalars["chi_square"] = new_chi_square
        before.destroy()
        return float(np.sqrt(new_chi_square))

    def history_columns(self, state: SolverState) -> dict:
        scalars = state.scalars
        return {"mu": scalars["mu"], "chi_square": scalars["chi_square"],
                "penalty": self.penalty.value(state.vectors["x"]),
                "subspace_rank": scalars.get("rank", 0),
                "change": scalars.get("change", np.nan)}

    def result_attributes(self, state: SolverState) -> dict:
        return {"mu": state.scalars["mu"], "chi_square": state.scalars["chi_square"],
                "chi_square_target": self.chi_square_target,
                "penalty": self.penalty.value(state.vectors["x"])}


def _scaled_descent(metric, gradient, out) -> None:
    """out = -metric * gradient (entrywise)."""
    out.pointwiseMult(metric, gradient)
    out.scale(-1.0)


def _normalise(directions, metric, scratch) -> None:
    """Scale each direction to unit length in the metric 1/q, so the subspace system's
    singular values compare the directions' information, not their scale."""
    for direction in directions:
        scratch.pointwiseDivide(direction, metric)
        norm2 = direction.dot(scratch)
        if norm2 > 0:
            direction.scale(1.0 / np.sqrt(norm2))


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    return 0.5 * (matrix + matrix.T)


def _relative_change(before, after) -> float:
    """sum f |f_new - f| / sum f^2 over all ranks (the paper's measure, scale-free)."""
    old, new = before.getArray(readonly=True), after.getArray(readonly=True)
    local = np.array([np.sum(old * np.abs(new - old)), np.sum(old * old)])
    total = before.getComm().tompi4py().allreduce(local)
    return float(total[0] / total[1]) if total[1] > 0 else 0.0
