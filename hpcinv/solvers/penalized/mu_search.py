"""The outer search on the penalty weight mu of Q(f) = L(f) + mu R(f) for a target chi-square.

The minimiser f_mu of Q moves from the best fit (mu -> 0) toward the penalty's minimum
(mu -> infinity), so its chi-square L(mu) = L(f_mu) grows with mu.  ``MuSearch`` picks the
next mu from the L found at the last one, a pure-Python state machine whose state is a few
floats in a SolverState's scalars (a checkpoint keeps the search).  ``PenalizedIteration``
is the outer loop around it: each step minimises Q at the search's mu (an inner solver
that a subclass supplies, TAO or KSP) and then asks the search for the next mu.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ...core.errors import ArgumentError, check_count, check_number
from ...core.state import SolverState
from ..framework.method import IterativeMethod
from ..framework.stopping import StoppingRule
from .likelihood import ChiSquare

_PREFIX = "mu_search_"
TRIAL, CONVERGED = _PREFIX + "trial", _PREFIX + "converged"
_LAST_MOVED = _PREFIX + "last_moved"   # -1: the lower end, +1: the upper end, 0: neither
# mu > 0 and L >= 0, so -1 marks a bracket end not found yet (checkpoints refuse infinities).
UNSET = -1.0


class _End(NamedTuple):
    """The scalars' keys of one end of the bracket: its mu, its L and its Illinois weight."""
    mu: str
    chi_square: str
    weight: str

    @classmethod
    def named(cls, name: str) -> "_End":
        return cls(*(f"{_PREFIX}{name}_{field}" for field in cls._fields))


_LOWER, _UPPER = _End.named("lower"), _End.named("upper")


class MuSearch:
    """Finds mu with |L(mu) - target| <= ``tolerance`` * target for an increasing L(mu).

    Until both a lower end (L < target) and an upper end (L > target) are known, the trial
    moves by the factor ``expansion`` toward the missing end.  Inside the bracket it is the
    secant (regula falsi) of log L against log mu, exact for a power law L ~ mu^p, with the
    Illinois modification: when the same end moved twice running, the other end's
    log(L / target) counts half (again each further time), since plain regula falsi on a
    curved L keeps one end and creeps in from the other.  Where log L is undefined (L = 0
    at the lower end) it bisects in log mu.

    The state lives in ``scalars`` (floats under ``mu_search_*`` keys), by default a new
    dict; pass a SolverState's scalars to keep it there.  ``start(mu)`` begins a search."""

    def __init__(self, target: float, *, tolerance: float = 1e-3, expansion: float = 10.0,
                 scalars: dict | None = None):
        self.target = check_number("target", target, positive=True)
        self.tolerance = check_number("tolerance", tolerance, positive=True)
        self.expansion = check_number("expansion", expansion, positive=True)
        if not self.expansion > 1.0:
            raise ArgumentError("expansion", f"must be > 1, got {expansion!r}")
        self.scalars = scalars if scalars is not None else {}

    def start(self, mu: float) -> None:
        """Begin at the trial ``mu`` with nothing bracketed."""
        self.scalars.update({TRIAL: check_number("mu", mu, positive=True), CONVERGED: 0.0,
                             _LAST_MOVED: 0.0})
        for end in (_LOWER, _UPPER):
            self.scalars.update({end.mu: UNSET, end.chi_square: UNSET, end.weight: 1.0})

    @property
    def trial(self) -> float:
        """The mu to minimise at next."""
        return self.scalars[TRIAL]

    @property
    def converged(self) -> bool:
        return self.scalars[CONVERGED] == 1.0

    @property
    def bracket(self) -> tuple:
        """(lower end, upper end) in mu, None where not found yet."""
        return tuple(None if self.scalars[end.mu] == UNSET else self.scalars[end.mu]
                     for end in (_LOWER, _UPPER))

    def update(self, mu: float, chi_square: float) -> float:
        """Record that the minimiser at ``mu`` has chi-square ``chi_square``; return the next
        trial (``mu`` itself once within tolerance of the target)."""
        mu = check_number("mu", mu, positive=True)
        chi_square = check_number("chi_square", chi_square)
        if abs(chi_square - self.target) <= self.tolerance * self.target:
            self.scalars.update({TRIAL: mu, CONVERGED: 1.0})
            return mu
        below = chi_square < self.target
        moved, kept = (-1.0, _UPPER) if below else (1.0, _LOWER)
        if self.scalars[_LAST_MOVED] == moved:
            self.scalars[kept.weight] *= 0.5
        end = _LOWER if below else _UPPER
        self.scalars.update({end.mu: mu, end.chi_square: chi_square, end.weight: 1.0,
                             _LAST_MOVED: moved, CONVERGED: 0.0})
        self.scalars[TRIAL] = self._next_trial()
        return self.trial

    def _next_trial(self) -> float:
        lower, upper = self.bracket
        if upper is None:
            return lower * self.expansion
        if lower is None:
            return upper / self.expansion
        log_lower, log_upper = math.log(lower), math.log(upper)
        if not self.scalars[_LOWER.chi_square] > 0:
            return math.exp(0.5 * (log_lower + log_upper))
        low_gap, high_gap = (self.scalars[end.weight]
                             * math.log(self.scalars[end.chi_square] / self.target)
                             for end in (_LOWER, _UPPER))   # < 0 and > 0
        return math.exp(log_lower - low_gap * (log_upper - log_lower) / (high_gap - low_gap))


class SearchConverged(StoppingRule):
    """Converged once the search on mu has found L within its tolerance of the target."""

    reason = "chi_square"

    def __init__(self, chi_square_target: float):
        self.target = math.sqrt(chi_square_target)

    def met(self, state, residual: float) -> bool:
        return state.scalars.get(CONVERGED) == 1.0


class FixedWeight(StoppingRule):
    """mu given and not searched: the run ends once the minimisation at it has settled."""

    reason = "fixed_mu"

    def met(self, state, residual: float) -> bool:
        return state.iteration >= 1 and state.scalars.get("inner_settled", 1.0) == 1.0


class PenalizedIteration(IterativeMethod):
    """The outer loop on mu: each step minimises Q(f) = L(f) + mu R(f) from the current f
    at the search's trial mu, then moves mu toward ``chi_square_target`` (``MuSearch``, to
    within ``tolerance`` relative).  With ``chi_square_target=None`` the given ``mu`` is
    kept and one step is the run.  ``mu=None`` starts the search where the two terms' Hessians
    weigh alike (``balancing_mu``).  The step returns sqrt(L), the weighted residual norm.

    Subclasses implement ``start`` (f0), ``minimise`` (the inner solver, in place; its
    iteration count goes to the history column named ``inner_iterations``),
    ``penalty_value`` and ``penalty_curvature``.  An inner solve that stopped at its
    iteration cap before converging (``last_settled`` False) is continued at the same mu
    by the next step, until L moves by less than ``tolerance`` times the target: until
    then its chi-square is not yet L(mu), and the search would be misled by it (it would
    bracket the target with values measured on unconverged iterates)."""

    last_settled = True
    search_expansion = 10.0   # the factor a trial moves by until mu is bracketed

    inner_iterations = "inner_iterations"

    def __init__(self, operator, data, *, chi_square_target: float | None, mu: float | None,
                 tolerance: float, max_iterations: int, likelihood=None):
        if chi_square_target is None:
            if mu is None:
                raise ArgumentError("mu", "is required when chi_square_target is None (no "
                                          "search: the run minimises at this mu)")
            stopping = FixedWeight()
        else:
            chi_square_target = check_number("chi_square_target", chi_square_target,
                                             positive=True)
            stopping = SearchConverged(chi_square_target)
        super().__init__(operator, data, max_iterations=check_count("max_iterations",
                                                                    max_iterations, 1),
                         stopping=stopping)
        self.chi_square_target = chi_square_target
        self.tolerance = check_number("tolerance", tolerance, positive=True)
        self.initial_mu = None if mu is None else check_number("mu", mu, positive=True)
        self.likelihood = likelihood or ChiSquare(operator, data)

    def start(self):
        """f0, a new Vec."""
        raise NotImplementedError

    def minimise(self, f, mu: float) -> int:
        """Minimise Q at ``mu`` from ``f``, in place; return the inner iteration count."""
        raise NotImplementedError

    def penalty_value(self, f) -> float:
        raise NotImplementedError

    def penalty_curvature(self, f, e) -> float:
        """e^T (Hessian of R at f) e."""
        raise NotImplementedError

    @property
    def searching(self) -> bool:
        return self.chi_square_target is not None

    def search(self, state: SolverState) -> MuSearch:
        """The search on mu kept in ``state``."""
        return MuSearch(self.chi_square_target, tolerance=self.tolerance,
                        expansion=self.search_expansion, scalars=state.scalars)

    def balancing_mu(self, f) -> float:
        """mu at which L and mu R curve alike along grad L(f), the direction the data pull f:
        the first minimiser is then neither the bare fit nor the penalty's minimum.  It
        does not change when L or R is rescaled, unlike a fixed number, and unlike
        L(f0) / R(f0) it exists where R(f0) = 0 (roughness and the floating prior vanish
        at a constant start).  1 when R is flat along that direction."""
        direction = f.duplicate()
        self.likelihood.gradient(f, direction)
        likelihood = self.likelihood.curvature(direction)
        penalty = self.penalty_curvature(f, direction)
        direction.destroy()
        ratio = likelihood / penalty if likelihood > 0 and penalty > 0 else 1.0
        return ratio if math.isfinite(ratio) else 1.0

    def initial_state(self) -> SolverState:
        f = self.start()
        chi_square = self.likelihood.value(f)
        state = SolverState(vectors={"x": f}, scalars={
            "chi_square": chi_square, "penalty": self.penalty_value(f),
            "residual_norm": math.sqrt(chi_square), "inner_iterations": 0.0,
            "inner_iterations_total": 0.0})
        if self.searching:
            mu = self.initial_mu if self.initial_mu is not None else self.balancing_mu(f)
            self.search(state).start(mu)
        return state

    def step(self, state: SolverState) -> float:
        f, scalars = state.vectors["x"], state.scalars
        search = self.search(state) if self.searching else None
        mu = self.initial_mu if search is None else search.trial
        before = scalars["chi_square"]
        iterations = float(self.minimise(f, mu))
        chi_square = self.likelihood.value(f)
        # A continued solve that no longer moves L has settled as far as the search needs.
        scale = self.chi_square_target if self.chi_square_target else before
        settled = self.last_settled or abs(chi_square - before) <= self.tolerance * scale
        scalars.update(mu=mu, chi_square=chi_square, penalty=self.penalty_value(f),
                       inner_iterations=iterations, inner_settled=float(settled),
                       inner_iterations_total=scalars["inner_iterations_total"] + iterations)
        if search is not None and settled:
            search.update(mu, chi_square)
        return math.sqrt(chi_square)

    def history_columns(self, state: SolverState) -> dict:
        scalars = state.scalars
        return {"mu": scalars.get("mu", math.nan), "chi_square": scalars["chi_square"],
                "penalty": scalars["penalty"],
                self.inner_iterations: scalars["inner_iterations"]}

    def result_attributes(self, state: SolverState) -> dict:
        scalars = state.scalars
        attributes = {"mu": scalars.get("mu", math.nan), "chi_square": scalars["chi_square"],
                      "penalty": scalars["penalty"],
                      self.inner_iterations: int(scalars["inner_iterations_total"])}
        if self.searching:
            attributes["chi_square_target"] = self.chi_square_target
        return attributes
