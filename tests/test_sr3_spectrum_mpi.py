"""Corollary 1 of Luiken's thesis (ch. 6), corrected: the singular values of SR3's reduced
operator F_kappa from the GSVD of (A, L), against a dense SVD of F_kappa formed from its
definition (Eq. 6.3), on 1 and 2 ranks, for L with fewer and with more rows than columns."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.linalg.decompositions.gsvd import gsvd
from hpcinv.solvers.relaxed.spectrum import (relaxed_singular_values,
                                             standard_form_singular_values)
from helpers import distributed_matrix, domain_vec

PETSc = initialize()


def _dense_f(A, L, kappa):
    H = A.T @ A + kappa * L.T @ L
    solved = np.linalg.solve(H, L.T)
    top = np.sqrt(kappa) * (np.eye(L.shape[0]) - kappa * L @ solved)
    return np.vstack([top, kappa * A @ solved])


def _pairs(A, L):
    """The finite GSVD pairs; N(L) (the constants for the differences) passed as a basis."""
    operator, regularization = distributed_matrix(A), distributed_matrix(L)
    null = [domain_vec(operator, np.full(L.shape[1], L.shape[1] ** -0.5))] \
        if np.allclose(L @ np.ones(L.shape[1]), 0) else []
    result = gsvd(operator, regularization, svd_type="lapack", null_basis=null)
    return result.sigma, result.gamma


CASES = {
    # m >= n, p < n: A 12 x 8, L the first differences (7 x 8, rank 7).
    "p < n": (np.random.default_rng(1).standard_normal((12, 8)),
              np.diff(np.eye(8), axis=0), 7),
    # m < n < p: A 5 x 8, L = [D; I] (15 x 8, rank 8): 7 values sqrt(kappa), 3 zeros.
    "p > n": (np.random.default_rng(2).standard_normal((5, 8)),
              np.vstack([np.diff(np.eye(8), axis=0), np.eye(8)]), 8),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kappa", [1e-3, 1.0, 1e3])
def test_f_kappa_singular_values_from_the_gsvd(case, kappa):
    A, L, rank = CASES[case]
    sigma, gamma = _pairs(A, L)
    expected = np.linalg.svd(_dense_f(A, L, kappa), compute_uv=False)
    got = relaxed_singular_values(sigma, gamma, kappa, rows=L.shape[0], rank=rank)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10 * np.sqrt(kappa))


@pytest.mark.mpi
def test_large_kappa_tends_to_the_standard_form_and_small_kappa_to_sqrt_kappa():
    A, L, rank = CASES["p < n"]
    sigma, gamma = _pairs(A, L)
    standard = standard_form_singular_values(sigma, gamma)
    large = relaxed_singular_values(sigma, gamma, 1e10, rows=7, rank=rank)
    np.testing.assert_allclose(large, standard, rtol=1e-6)
    small = relaxed_singular_values(sigma, gamma, 1e-10, rows=7, rank=rank)
    np.testing.assert_allclose(small, np.sqrt(1e-10), rtol=1e-6)


def test_inconsistent_pairs_are_refused():
    with pytest.raises(ValueError, match="gamma"):
        relaxed_singular_values([1.0], [0.0], 1.0, rows=2, rank=1)
    with pytest.raises(ValueError, match="rank"):
        relaxed_singular_values([1.0, 2.0], [1.0, 1.0], 1.0, rows=3, rank=1)
