"""The spectrum of SR3's reduced operator F_kappa (Luiken's thesis, Theorem 5 and
Corollary 1): eliminating x from the relaxed problem leaves min_y 1/2 ||F_kappa y - g_kappa||^2
+ R(y) with

    F_kappa = [ sqrt(kappa) (I - kappa L H^-1 L^T) ;  kappa A H^-1 L^T ],
    H = A^T A + kappa L^T L,

whose singular values follow from the GSVD (A = U Sigma X, L = V Gamma X) pair by pair:
psi_i^2 = kappa sigma_i^2 / (sigma_i^2 + kappa gamma_i^2) = c_i^2 / (c_i^2 / kappa + 1) with
c_i = sigma_i / gamma_i, the singular values of the standard-form operator A L_A^+.  So
F_kappa inherits A L_A^+'s decay (psi_i -> c_i as kappa -> infinity) capped at sqrt(kappa)
(psi_i -> sqrt(kappa) as kappa -> 0).  The directions of y outside range(L) (p - rank(L) of
them, when L has more rows than rank) have psi = sqrt(kappa), and pairs with sigma = 0
(A's null space within range(L^T)) psi = 0.  The thesis' printed forms drop the square root
([130]'s Eq. 9, its L2444) and the squares (Remark 1); these are the corrected ones.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import ArgumentError, check_count, check_number


def relaxed_singular_values(sigma, gamma, kappa: float, *, rows: int,
                            rank: int) -> np.ndarray:
    """The singular values of F_kappa, descending, from the finite GSVD pairs (sigma_i,
    gamma_i > 0) of (A, L); ``rows`` is p (L's rows), ``rank`` rank(L).  Pairs the GSVD did
    not return (at most min(m, n, p) are finite) are those with sigma = 0."""
    kappa = check_number("kappa", kappa, positive=True)
    sigma, gamma = np.asarray(sigma, dtype=float), np.asarray(gamma, dtype=float)
    if sigma.shape != gamma.shape or np.any(gamma <= 0):
        raise ArgumentError("gamma", "needs one gamma_i > 0 per sigma_i (the finite GSVD pairs)")
    rows, rank = check_count("rows", rows, 1), check_count("rank", rank, 1)
    if not sigma.size <= rank <= rows:
        raise ArgumentError("rank", f"must lie in [{sigma.size} (the pairs given), {rows} "
                                    f"(L's rows)], got {rank}")
    paired = np.sqrt(kappa * sigma ** 2 / (sigma ** 2 + kappa * gamma ** 2))
    values = np.concatenate([paired, np.zeros(rank - sigma.size),
                             np.full(rows - rank, np.sqrt(kappa))])
    return np.sort(values)[::-1]


def standard_form_singular_values(sigma, gamma) -> np.ndarray:
    """The singular values sigma_i / gamma_i of A L_A^+, descending: F_kappa's limit as
    kappa -> infinity."""
    return np.sort(np.asarray(sigma, dtype=float) / np.asarray(gamma, dtype=float))[::-1]
