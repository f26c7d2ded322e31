"""The four parameter-choice functionals V(lambda) of Luiken's Table 3.1 from a spectral model
A ~ U diag(s) V^T, and their minimisation over lambda.

With beta = U^T b and the data's part outside range(U), ||b||^2 - ||beta||^2:

* ||A x_lambda - b||^2 = lambda^2 b^T (A A^T + lambda I)^-2 b
                       = sum (lambda / (s^2 + lambda))^2 beta^2 + (||b||^2 - ||beta||^2)
* ||x_lambda||^2       = b^T A (A^T A + lambda I)^-2 A^T b = sum (s beta / (s^2 + lambda))^2
* trace(I - A A_lambda) = m - sum s^2 / (s^2 + lambda)
* quasi-optimality      = lambda^2 b^T A (A^T A + lambda I)^-4 A^T b
                        = lambda^2 sum s^2 beta^2 / (s^2 + lambda)^4

On a standard form A L_A^+ (general-form Tikhonov with L) the model's unknown is y = L x, so
quasi-optimality there is ||lambda L dx/dlambda||^2, not ||lambda dx/dlambda||^2
(docs/regularization.md, "Quasi-optimality in general form").

A full SVD gives the exact functionals (the reference lambdas of the thesis' tables); a
truncated or randomized SVD gives the reduced-model ones.  The thesis writes the discrepancy
rule with delta^2 m for a per-entry noise deviation delta; hpcinv's noise level is the norm
||e|| (``Problem.noise_norm``), so the rule is ||A x_lambda - b|| = tau ||e||.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

RULES = ("dp", "gcv", "reginska", "qo")
# What quasi-optimality measures in general form: the change of L x (the standard-form
# unknown; every method) or of x itself (methods with a spectral model: svd, rsvd, gsvd).
QO_NORMS = ("Lx", "x")

GRID_POINTS = 100   # log-spaced samples of lambda before refining; V(lambda) costs O(k)


@dataclass
class SpectralModel:
    """Tikhonov quantities from singular values ``s`` (any order) and ``beta`` = U^T b.

    ``data_norm2`` = ||b||^2 and ``rows`` = m, the number of data; the data outside the
    model's range count fully in the residual and the GCV trace counts m - sum of filters.

    General form (a GSVD, or the standard-form transformation): ``s`` are the generalized
    values sigma_i / gamma_i, ``solution_norm2`` is then ||L x||^2, and the ``unfiltered``
    components (the directions of N(L), fitted exactly whatever lambda) have filter 1: they
    leave the residual and take ``unfiltered`` from the GCV trace.

    ``solution_gram`` (optional, one row and column per entry of ``s``): G = W^T W for the
    directions W through which the solution x = W (s beta / (s^2 + lambda)) + x_N depends on
    lambda; quasi-optimality then measures ||lambda dx/dlambda||^2 = c^T G c with c =
    lambda s beta / (s^2 + lambda)^2.  None: orthonormal directions, i.e. in general form
    the standard-form unknown, ||lambda L dx/dlambda||^2 (``QO_NORMS``).
    """
    s: np.ndarray
    beta: np.ndarray
    data_norm2: float
    rows: int
    unfiltered: int = 0
    unfiltered_norm2: float = 0.0
    solution_gram: np.ndarray | None = None

    def __post_init__(self):
        self.s = np.asarray(self.s, dtype=float)
        self.beta = np.asarray(self.beta, dtype=float)
        fitted = float(self.beta @ self.beta) + self.unfiltered_norm2
        self._outside = max(self.data_norm2 - fitted, 0.0)

    @classmethod
    def of_svd(cls, svd, b) -> "SpectralModel":
        """The functionals of a (truncated) SVD ``svd`` (``TruncatedSVD``) for the data b."""
        rows = svd.U.getSizes()[0][1]
        return cls(svd.s, svd.project(b), b.norm() ** 2, rows)

    def filters(self, lam: float) -> np.ndarray:
        """Tikhonov filter factors s^2 / (s^2 + lambda)."""
        return self.s ** 2 / (self.s ** 2 + lam)

    def residual_norm2(self, lam: float) -> float:
        return float(np.sum((lam / (self.s ** 2 + lam) * self.beta) ** 2)) + self._outside

    def solution_norm2(self, lam: float) -> float:
        return float(np.sum((self.s * self.beta / (self.s ** 2 + lam)) ** 2))

    def residual_trace(self, lam: float) -> float:
        """trace(I - A A_lambda) with A_lambda = (A^T A + lambda I)^-1 A^T."""
        return self.rows - self.unfiltered - float(np.sum(self.filters(lam)))

    def quasi_optimality(self, lam: float) -> float:
        """||lambda dy/dlambda||^2 = lambda^2 sum s^2 beta^2 / (s^2 + lambda)^4 (y the model's
        unknown), or c^T G c with ``solution_gram`` G."""
        if self.solution_gram is None:
            return lam ** 2 * float(np.sum(self.s ** 2 * self.beta ** 2
                                           / (self.s ** 2 + lam) ** 4))
        change = lam * self.s * self.beta / (self.s ** 2 + lam) ** 2
        return float(change @ self.solution_gram @ change)

    def value(self, rule: str, lam: float, *, noise_norm: float = 0.0, tau: float = 1.0) -> float:
        """V(lambda) of ``rule``; the discrepancy rule needs ``noise_norm`` = ||e||."""
        if rule == "dp":
            return (self.residual_norm2(lam) - (tau * noise_norm) ** 2) ** 2
        if rule == "gcv":
            return self.residual_norm2(lam) / (self.residual_trace(lam) / self.rows) ** 2
        if rule == "reginska":
            return self.solution_norm2(lam) * self.residual_norm2(lam)
        if rule == "qo":
            return self.quasi_optimality(lam)
        raise ValueError(f"unknown parameter-choice rule {rule!r} (known: {', '.join(RULES)})")

    def default_bounds(self) -> tuple[float, float]:
        """[s_min^2, s_max^2] of the resolved singular values (at most 16 decades), the range
        Regularization Tools searches: outside it quasi-optimality tends to 0 at both ends
        and the other functionals flatten."""
        positive = self.s[self.s > 0]
        top = float(positive.max()) ** 2
        return max(float(positive.min()) ** 2, top * 1e-16), top


def minimise_on_log_grid(function, bounds: tuple[float, float],
                         points: int = GRID_POINTS) -> float | None:
    """The interior minimiser of ``function`` on [lo, hi] with the smallest value: sampled at
    ``points`` log-spaced lambdas, then refined by a bounded Brent search in log lambda
    between the best sample's neighbours.  None when no sample is an interior local minimum
    (the functional has no minimiser in the range: quasi-optimality on tomography in the
    thesis), since a boundary "minimiser" only reflects the chosen range."""
    grid = np.linspace(math.log(bounds[0]), math.log(bounds[1]), points)
    values = np.array([function(math.exp(t)) for t in grid])
    interior = [i for i in range(1, points - 1)
                if values[i] <= values[i - 1] and values[i] <= values[i + 1]
                and values[i] < max(values[i - 1], values[i + 1])]
    if not interior:
        return None
    best = min(interior, key=lambda i: values[i])
    result = minimize_scalar(lambda t: function(math.exp(t)), bounds=(grid[best - 1], grid[best + 1]),
                             method="bounded", options={"xatol": 1e-10})
    return math.exp(result.x) if result.fun <= values[best] else math.exp(grid[best])


def discrepancy_lambda(residual_norm2, target_norm: float,
                       bounds: tuple[float, float]) -> float | None:
    """The lambda with ||A x_lambda - b|| = target: the residual grows monotonically with
    lambda, so a bracketing root finder on log lambda finds it.  None when the target lies
    outside the residuals of ``bounds`` (a reduced model too small to resolve it, or a
    noise level below what the model can fit): an end of the range would only reflect the
    range."""
    lo, hi = (math.log(b) for b in bounds)

    def gap(t):
        return residual_norm2(math.exp(t)) - target_norm ** 2

    if gap(lo) >= 0 or gap(hi) <= 0:
        return None
    return math.exp(brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12))


def choose_lambda(model: SpectralModel, rule: str, *, noise_norm: float = 0.0, tau: float = 1.0,
                  bounds: tuple[float, float] | None = None) -> float | None:
    """The lambda that ``rule`` picks on ``model`` (DP by root finding, the others by
    minimising V(lambda)); None when the functional has no interior minimiser."""
    if rule not in RULES:
        raise ValueError(f"unknown parameter-choice rule {rule!r} (known: {', '.join(RULES)})")
    bounds = bounds or model.default_bounds()
    if rule == "dp":
        if noise_norm <= 0:
            raise ValueError("the discrepancy principle needs the noise norm ||e|| > 0")
        return discrepancy_lambda(model.residual_norm2, tau * noise_norm, bounds)
    return minimise_on_log_grid(lambda lam: model.value(rule, lam), bounds)
