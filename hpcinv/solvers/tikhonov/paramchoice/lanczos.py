"""Choosing lambda from Gauss / Gauss-Radau bounds on a growing Golub-Kahan bidiagonalisation
(Luiken thesis, Algorithms 3-5).

Each step adds one column to B_{k+1,k} and bounds every functional V(lambda) from above and
below (``quadrature.TikhonovBounds``).  lambda^U minimises the upper bound; once the bounds
agree there, lambda^L minimises the lower bound, and the choice has converged when both
agree to ``epsilon``:

* DP, Reginska, QO (Alg. 3): (ub - lb) / ub at lambda^U < epsilon and
  |lambda^U - lambda^L| < epsilon lambda^U.  DP finds the roots of the residual bounds
  (target tau ||e||) instead of minimisers, and its gap is that of the residual norm^2,
  since V_dp(lambda^U) = 0 for the upper bound; the residual rises with lambda, so
  lambda^U <= lambda_DP <= lambda^L.
* GCV with Hutchinson probes (Alg. 4): one more bidiagonalisation per Rademacher vector u,
  bounding u^T (I - A A_lambda) u = lambda u^T (A A^T + lambda I)^-1 u (whose Gauss-Radau
  rule has k + 1 nodes; the thesis bounds u^T A A_lambda u through A^T A); the GCV bounds
  combine the residual's upper (lower) bound with the trace's lower (upper) one; then as
  Alg. 3.
* GCV with the Ritz trace (Alg. 5): trace(I - A A_lambda) ~ m - sum_i theta_i / (theta_i +
  lambda) = lambda sum_i 1 / (theta_i + lambda) + m - k, with theta_i the squared singular
  values of B_{k+1,k} and m the number of rows (the thesis writes n - k).  The estimate is no
  bound, so the gap compares with the previous step: the larger of |ub_k - ub_{k-1}| / ub_k
  at lambda^U (Alg. 5) and |lambda^U_k - lambda^U_{k-1}| / lambda^U_k.  The second term is
  ours: GCV is flat at its minimum; on the tests' 80 x 60 gravity problem with 1% noise the
  upper bound changed by 4e-4 between steps 9 and 10 while lambda^U moved by 2%, so Alg. 5
  alone stopped with lambda 8% off at epsilon = 1e-3.

All tolerances are relative.  The thesis samples 10 lambdas and resamples around the best;
``minimise_on_log_grid`` (a log grid then a bounded Brent search) does both at once.

lambda is searched in ``bounds`` or, by default, [1e-16 theta_max, theta_max] with theta_max
the largest Ritz value, a lower estimate of sigma_max^2 that is accurate within a few steps:
the exact reference (``SpectralModel.default_bounds``) searches [max(sigma_min^2, 1e-16
sigma_max^2), sigma_max^2].  The range deliberately reaches far below the smallest Ritz
value: there the upper bounds grow (the Gauss-Radau node at 0) and the lower bound's
minimiser only matches lambda^U once the Krylov space resolves that region, so a functional
with several local minima does not converge on one merely because the other lies below the
spectrum explored so far.  A minimiser or DP root on the ends of the range counts as none
found.

A local minimum is not the choice (QO, GCV; Reginska by the second point below only).  The
bounds converge to a local minimiser of the upper bound, and on severely ill-posed problems
one does so before the Krylov space has reached the smaller lambdas where the global
minimum lies: QO on shaw and heat (n = 100 and 200, 0.1% noise) converged at k = 7-8 on a
local minimum up to 13 000x too large (``benchmarks/lanczos_qo.py``), while the global one
shows from the next step on.  So a
choice has settled only when, besides the test above,

* no lambda of the searched range within [theta_min, theta_max] (the squared Ritz values'
  span, where the lower bound means something; below theta_min it falls to 0 whatever the
  functional does) has a lower bound beneath (1 - epsilon) times the chosen upper bound:
  there the functional may undercut the choice (``FunctionalBounds.undercut``, which says
  why Reginska is left out); and
* it settles at the same lambda (within epsilon) on two consecutive steps, which costs one
  step: the new Ritz value of the next step is what revealed the global minimum on shaw
  and heat.

``benchmarks/lanczos_qo.py`` measures the rule against the dense choice: on shaw, heat and
phillips (n = 100 and 200, 0.1/1/5% noise, 4 draws; 72 cases per rule) no QO, GCV or
Reginska lambda lies more than 0.5% from the dense one, where the bounds' first agreement
was more than 5% off in 33 QO cases and one GCV case.  QO's mean steps rose from 8 to 22 on
heat and from 7 to 9 on shaw.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ....linalg.random import normal_slice
from ....linalg.decompositions.golub_kahan import GolubKahan, hybrid_tikhonov
from ..quadrature import TikhonovBounds
from .functionals import (GRID_POINTS, RULES, SpectralModel, discrepancy_lambda,
                          minimise_on_log_grid)
from ....core.mpi import same_on_every_rank
from ....core.petsc_env import release_memory

TRACES = ("ritz", "hutchinson")

DEFAULT_RANGE_RATIO = 1e-16   # lower / upper end of the default lambda range


@dataclass
class LanczosChoice:
    """The chosen ``lam`` (lambda^U of the last step; None if no minimiser was found), the
    number of steps ``k``, all products with A and A^T (probes included), and the projected
    Tikhonov ``solution`` of ``lam`` with its norms (Theorem 1, no further products).
    ``history`` rows are (k, lambda^U, lambda^L, gap); lambda^L is None until the gap is
    below epsilon, the gap inf without lambda^U."""
    lam: float | None
    k: int
    matvecs: int
    converged: bool
    history: list = field(default_factory=list)
    solution: object = None
    solution_norm: float | None = None
    residual_norm: float | None = None


def rademacher(template, seed: int, row_ranges=None):
    """A Vec like ``template`` of +-1 entries, the same for any number of ranks: entry i of
    the sequence ``seed`` for row number i, this rank's rows numbered by ``row_ranges``
    (an operator's ``natural_row_ranges``; default the Vec's ownership range)."""
    vec = template.duplicate()
    ranges = row_ranges if row_ranges is not None else [vec.getOwnershipRange()]
    draws = np.concatenate([normal_slice(seed, start, stop) for start, stop in ranges])
    vec.getArray()[:] = np.where(draws >= 0, 1.0, -1.0)
    return vec


def _probe_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _projected_model(gk: GolubKahan, rows: int, unfiltered: int) -> SpectralModel:
    """The Ritz values of A (singular values of B_{k+1,k}) with b's coefficients."""
    left, singular, _ = np.linalg.svd(gk.bidiagonal(), full_matrices=False)
    return SpectralModel(singular, gk.start_norm * left[0], gk.start_norm ** 2, rows,
                         unfiltered=unfiltered)



def _interior(lam: float | None, bounds: tuple[float, float]) -> float | None:
    return lam if lam is not None and bounds[0] < lam < bounds[1] else None


def _validate(operator, rule, epsilon, noise_norm, tau, trace, hutchinson_vectors, max_steps,
              bounds):
    if rule not in RULES:
        raise ValueError(f"rule: unknown parameter-choice rule {rule!r} "
                         f"(known: {', '.join(RULES)})")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must lie in (0, 1), got {epsilon}")
    if rule == "dp" and not noise_norm > 0:
        raise ValueError("noise_norm: the discrepancy principle needs the noise norm ||e|| > 0")
    if rule == "dp" and not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if trace not in TRACES:
        raise ValueError(f"trace must be one of {', '.join(TRACES)}, got {trace!r}")
    if hutchinson_vectors < 1:
        raise ValueError(f"hutchinson_vectors must be >= 1, got {hutchinson_vectors}")
    limit = min(operator.shape)
    max_steps = limit if max_steps is None else max_steps
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if bounds is not None and not 0 < bounds[0] < bounds[1]:
        raise ValueError(f"bounds must satisfy 0 < lo < hi, got {bounds}")
    return max_steps


class FunctionalBounds:
    """upper(lam) and lower(lam) of V(lam) for ``rule`` after the current step."""

    def __init__(self, rule, gk, probes, trace, rows, noise_norm, tau, unfiltered):
        self.rule, self.rows, self.target = rule, rows, tau * noise_norm
        self.unfiltered = unfiltered
        self.data = TikhonovBounds(gk.bidiagonal(), gk.start_norm, gk.invariant)
        self.model = _projected_model(gk, rows, unfiltered)
        self.probes = [TikhonovBounds(p.bidiagonal(), p.start_norm, p.invariant) for p in probes]
        self.trace = trace

    def _trace_bounds(self, lam):
        if self.trace == "ritz":
            estimate = self.model.residual_trace(lam)
            return estimate, estimate
        low, high = zip(*(probe.residual_trace_probe(lam) for probe in self.probes))
        return (float(np.mean(low)) - self.unfiltered, float(np.mean(high)) - self.unfiltered)

    def both(self, lam) -> tuple[float, float]:
        if self.rule == "reginska":
            (s_low, s_high), (r_low, r_high) = (self.data.solution_norm2(lam),
                                                self.data.residual_norm2(lam))
            return s_low * r_low, s_high * r_high
        if self.rule == "qo":
            return self.data.quasi_optimality(lam)
        if self.rule == "gcv":
            (r_low, r_high), (t_low, t_high) = (self.data.residual_norm2(lam),
                                                self._trace_bounds(lam))
            return r_low / (t_high / self.rows) ** 2, r_high / (t_low / self.rows) ** 2
        return self.data.residual_norm2(lam)   # dp: the residual norm^2 it matches

    def upper(self, lam) -> float:
        return self.both(lam)[1]

    def lower(self, lam) -> float:
        return self.both(lam)[0]

    def default_range(self) -> tuple[float, float]:
        """[DEFAULT_RANGE_RATIO theta_max, theta_max], theta_max the largest Ritz value."""
        top = self.model.default_bounds()[1]
        return DEFAULT_RANGE_RATIO * top, top

    def undercut(self, lam: float, epsilon: float, lam_range) -> bool:
        """Whether the lower bound falls below (1 - epsilon) upper(lam) somewhere in the
        resolved part of the searched range, lam_range within [theta_min, theta_max] (a
        geometric grid of GRID_POINTS; an end of lam_range itself left out, since a
        minimum there counts as none): the functional may have a lower minimum there."""
        if self.rule in ("dp", "reginska"):
            # DP: a root of a monotone residual, not a minimiser.  Reginska: its lower bound
            # is a product of two lower bounds, loose enough in the resolved range that on
            # the cross-well tomography of reproduce luiken-ch3 it kept undercutting the
            # choice up to the step cap, where the bounds' first agreement was already
            # close to the dense lambda (and no Reginska case of benchmarks/lanczos_qo.py
            # was off).
            return False
        resolved = self.model.s[self.model.s > 0] ** 2
        low, high = max(resolved.min(), lam_range[0]), min(resolved.max(), lam_range[1])
        if not low < high:
            return False
        grid = np.geomspace(low, high, GRID_POINTS)
        inside = (grid > lam_range[0]) & (grid < lam_range[1])
        floor = (1.0 - epsilon) * self.upper(lam)
        return any(self.lower(point) < floor for point in grid[inside])

    def choose(self, bound, lam_range) -> float | None:
        if self.rule == "dp":
            return _interior(discrepancy_lambda(bound, self.target, lam_range), lam_range)
        return _interior(minimise_on_log_grid(bound, lam_range), lam_range)


def lanczos_choice(operator, data, rule: str, *, epsilon: float, noise_norm: float = 0.0,
                   tau: float = 1.0, trace: str = "ritz", hutchinson_vectors: int = 1,
                   seed: int = 0, max_steps: int | None = None,
                   bounds: tuple[float, float] | None = None,
                   reorthogonalize: bool = True, unfiltered: int = 0,
                   on_step=None) -> LanczosChoice:
    """lambda for ``rule`` (dp, gcv, reginska, qo) from Lanczos bounds on the data Vec
    ``data``, stepping until the bounds converge to ``epsilon`` (relative) or ``max_steps``
    (default min(m, n)) or an invariant Krylov space.  ``trace`` picks GCV's trace estimate;
    the Hutchinson probes draw from ``seed``.  ``unfiltered`` directions outside the
    operator are fitted exactly whatever lambda (N(L) of a standard-form transformation) and
    leave GCV's trace.  ``on_step(gk, row, bounds)`` is called after every step with its history
    row and the step's ``TikhonovBounds``; a true return value stops the choice there
    (unconverged)."""
    max_steps = _validate(operator, rule, epsilon, noise_norm, tau, trace, hutchinson_vectors,
                          max_steps, bounds)
    rows = operator.shape[0]
    mpi = operator.comm.tompi4py()
    # Earlier choices' bases, dropped but not destroyed until every rank says so: a
    # thesis-size basis is gigabytes.
    release_memory(operator.comm)
    gk = GolubKahan(operator, data, reorthogonalize)
    probes = []
    if rule == "gcv" and trace == "hutchinson":
        probe_rows = operator.natural_row_ranges()
        probes = [GolubKahan(operator, rademacher(data, _probe_seed(seed, i), probe_rows),
                             reorthogonalize) for i in range(hutchinson_vectors)]
    history, previous, lam_upper, converged = [], None, None, False
    settled_before = None   # lambda^U of the previous step when it settled
    while gk.k < max_steps and not gk.invariant:
        gk.step()
        for probe in probes:
            probe.step()
        if gk.k == 0:
            raise ValueError("data: A^T b = 0, so every lambda gives x = 0")
        current = FunctionalBounds(rule, gk, probes, trace, rows, noise_norm, tau, unfiltered)
        lam_range = bounds or current.default_range()
        lam_upper = current.choose(current.upper, lam_range)
        lam_lower, gap = None, math.inf
        if lam_upper is not None:
            high = current.upper(lam_upper)
            if trace == "ritz" and rule == "gcv":
                if previous is not None and history[-1][1] is not None:
                    gap = max(abs(high - previous.upper(lam_upper)) / high,
                              abs(lam_upper - history[-1][1]) / lam_upper)
                if gk.invariant:
                    gap = 0.0   # nothing can change the upper bound any more
            else:
                gap = (high - current.lower(lam_upper)) / high
        if gap < epsilon:
            lam_lower = current.choose(current.lower, lam_range)
        # Every rank computed these from the same small arrays, but LAPACK on other
        # hardware may round differently: rank 0's values keep all ranks on one path (a
        # rank that stopped alone would leave the others in Golub-Kahan's reductions).
        settled = lam_lower is not None and abs(lam_upper - lam_lower) < epsilon * lam_upper \
            and not current.undercut(lam_upper, epsilon, lam_range)
        lam_upper, lam_lower, gap, settled = same_on_every_rank(
            mpi, (lam_upper, lam_lower, gap, settled))
        if settled and (gk.invariant or settled_before is not None
                        and abs(lam_upper - settled_before) < epsilon * lam_upper):
            converged = True
        settled_before = lam_upper if settled else None
        history.append((gk.k, lam_upper, lam_lower, gap))
        previous = current
        stop = on_step(gk, history[-1], current.data) if on_step is not None else False
        if converged or stop:
            break
    matvecs = gk.matvecs + sum(probe.matvecs for probe in probes)
    if lam_upper is None:
        return LanczosChoice(None, gk.k, matvecs, converged, history)
    solution_norm, residual_norm = current.data.galerkin_norms(lam_upper)
    return LanczosChoice(lam_upper, gk.k, matvecs, converged, history,
                         hybrid_tikhonov(gk, lam_upper), solution_norm, residual_norm)
