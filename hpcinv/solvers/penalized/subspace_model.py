"""The small dense part of the six-direction scheme (Pichon & Thiebaut 1997, Sect. 3.3 and
Fig. 4): the subspace system solved by truncated SVD and the choice of mu that steers the
chi-square toward L_aim = max(N_e, (1 - alpha) L + alpha L_min).

With search directions d_i, the subspace models are L(f + sum lambda_i d_i) = L - lambda.B^L
+ lambda.A^L lambda / 2 (exact: L is quadratic) and the same for R to second order, with
A_ij = d_i^T (Hessian) d_j and B_i = -d_i^T (gradient).  Pure numpy on replicated 6 x 6
arrays: every rank takes the same decisions from the same reduced numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# mu is searched geometrically; this factor moves it while only one side is bracketed.
_EXPAND = 4.0
_MAX_SEARCH = 200
# "mu -> infinity" is evaluated at this multiple of the scale that balances the two models:
# far enough that the likelihood only breaks ties among the penalty's subspace minimisers
# (A^R may be singular in the subspace, the case the paper leaves open).
_LARGE_MU = 1e8


def truncated_solve(matrix: np.ndarray, rhs: np.ndarray, tolerance: float):
    """(x, rank): the truncated-SVD solution of matrix x = rhs, keeping singular values
    above ``tolerance`` times the largest."""
    u, s, vt = np.linalg.svd(matrix)
    keep = s > tolerance * s[0] if s.size and s[0] > 0 else np.zeros(s.shape, bool)
    x = vt[keep].T @ ((u[:, keep].T @ rhs) / s[keep])
    return x, int(keep.sum())


@dataclass
class SubspaceStep:
    coefficients: np.ndarray   # lambda
    mu: float
    chi_square_model: float    # L_mu, the model's L after the step
    l_min: float
    l_max: float
    l_aim: float
    rank: int


@dataclass
class SubspaceSystem:
    """A^L, B^L, A^R, B^R of the current iterate and its chi-square L."""
    likelihood_matrix: np.ndarray
    likelihood_vector: np.ndarray
    penalty_matrix: np.ndarray
    penalty_vector: np.ndarray
    chi_square: float

    def solve(self, mu: float, tolerance: float):
        """(lambda^mu, rank) from (A^L + mu A^R) lambda = B^L + mu B^R."""
        return truncated_solve(self.likelihood_matrix + mu * self.penalty_matrix,
                               self.likelihood_vector + mu * self.penalty_vector, tolerance)

    def model_chi_square(self, coefficients: np.ndarray) -> float:
        return float(self.chi_square - coefficients @ self.likelihood_vector
                     + 0.5 * coefficients @ self.likelihood_matrix @ coefficients)

    def balancing_mu(self) -> float:
        """The mu at which both Hessian blocks weigh alike (the search's natural scale)."""
        penalty = np.trace(self.penalty_matrix)
        return float(np.trace(self.likelihood_matrix) / penalty) if penalty > 0 else 1.0


def choose_step(system: SubspaceSystem, target: float, mu: float, *, alpha: float = 2 / 3,
                tolerance: float = 1e-3, svd_tolerance: float = 1e-10) -> SubspaceStep:
    """The step of one iteration: lambda at the mu whose model chi-square is L_aim, within
    ``tolerance`` times the subspace's reach L - L_min (relative to L_aim itself, a slow
    late step would count as on target at any mu), starting the search from the previous
    ``mu``."""
    solve = system.solve
    lowest, rank = solve(0.0, svd_tolerance)
    l_min = system.model_chi_square(lowest)
    l_aim = max(target, (1 - alpha) * system.chi_square + alpha * l_min)
    large = _LARGE_MU * max(system.balancing_mu(), mu)
    flattest, rank = solve(large, svd_tolerance)
    l_max = system.model_chi_square(flattest)
    if l_max <= l_aim:
        return SubspaceStep(flattest, max(mu, 0.0), l_max, l_min, l_max, l_aim, rank)
    low, high = 0.0, math.inf
    mu = mu if mu > 0 else system.balancing_mu()
    accuracy = tolerance * max(system.chi_square - l_min, 1e-12 * l_aim)
    for _ in range(_MAX_SEARCH):
        coefficients, rank = solve(mu, svd_tolerance)
        model = system.model_chi_square(coefficients)
        if abs(model - l_aim) <= accuracy:
            break
        if model > l_aim:
            high = mu
        else:
            low = mu
        if high < math.inf and low > 0:
            if high <= low * (1 + 1e-12):
                break
            mu = math.sqrt(low * high)
        else:
            mu = mu / _EXPAND if model > l_aim else mu * _EXPAND
    return SubspaceStep(coefficients, mu, model, l_min, l_max, l_aim, rank)
