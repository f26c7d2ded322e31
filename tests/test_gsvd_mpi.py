"""The stacked operator [A; w L], Tikhonov by LSQR on it, and SLEPc's GSVD in the thesis'
convention, against dense references built identically on every rank."""
import numpy as np
import pytest

from hpcinv.linalg import dot_test
from hpcinv.linalg.random import fill_normal
from hpcinv.linalg.operator import StackedOperator
from hpcinv.solvers.tikhonov.stacked_lsqr import tikhonov_lsqr
from hpcinv.core.petsc_env import initialize
from hpcinv.linalg.decompositions.gsvd import gsvd
from helpers import MatrixFree, distributed_matrix, domain_vecs, gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _decaying(m, n, seed=0):
    """m x n with singular values from 1 down to 1e-4."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((m, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return left @ np.diag(np.logspace(0, -4, n)) @ right.T


def _first_difference(n):
    return (np.eye(n, k=1) - np.eye(n))[:-1]


def _second_difference(n):
    return (np.eye(n, k=1) - 2 * np.eye(n) + np.eye(n, k=-1))[1:-1]


def _null_space(L):
    """Orthonormal basis of N(L), rank-independent (numpy on the full matrix)."""
    _, s, vt = np.linalg.svd(L)
    rank = int(np.sum(s > 1e-10 * s[0]))
    return vt[rank:].T


def _dense_gsvd(A, L):
    """(sigma, gamma, U, Y) from the cosine-sine decomposition of [A; L] = [Q_A; Q_L] R:
    Q_A = U C Z^T gives sigma = C, gamma = sqrt(1 - C^2), Y = R^{-1} Z; sigma descends, so
    sigma / gamma does too and the N(L) columns (sigma = 1) come first."""
    q, r = np.linalg.qr(np.vstack([A, L]))
    u, sigma, zt = np.linalg.svd(q[:A.shape[0]], full_matrices=False)
    return sigma, np.sqrt(np.clip(1 - sigma ** 2, 0, None)), u, np.linalg.solve(r, zt.T)


M, N = 40, 30
A_DENSE = _decaying(M, N)
L_CASES = {
    "first_difference": _first_difference(N),
    "second_difference": _second_difference(N),
    "invertible": np.random.default_rng(1).standard_normal((N, N)) + 6 * np.eye(N),
}


def _problem(name):
    L = L_CASES[name]
    A, L_op = distributed_matrix(A_DENSE), distributed_matrix(L)
    _, b = A.create_vecs()
    fill_normal(b, 7)
    return A, L_op, b, L, _null_space(L)


def _general_form(L, b, lam):
    return np.linalg.solve(A_DENSE.T @ A_DENSE + lam * L.T @ L, A_DENSE.T @ b)


def _relative(x, reference):
    return np.linalg.norm(x - reference) / np.linalg.norm(reference)


@pytest.mark.mpi
def test_stacked_operator_is_a_and_weighted_l_on_each_ranks_rows():
    A, L, b, L_dense, _ = _problem("first_difference")
    stacked = StackedOperator(A, L, 0.7)
    assert stacked.shape == (M + N - 1, N)
    assert dot_test(stacked, seed=2) < 1e-14
    x, z = stacked.create_vecs()
    fill_normal(x, 3)
    stacked.mult(x, z)
    top, bottom = stacked.split(z)
    np.testing.assert_allclose(gather(top), A_DENSE @ gather(x), atol=1e-14)
    np.testing.assert_allclose(gather(bottom), 0.7 * L_dense @ gather(x), atol=1e-14)
    top, bottom = stacked.split(stacked.stack_data(b))
    np.testing.assert_array_equal(gather(top), gather(b))
    assert bottom.norm() == 0.0


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [1e-1, 1e-4])
def test_tikhonov_lsqr_solves_the_general_form_problem(lam):
    A, L, b, L_dense, _ = _problem("first_difference")
    x, iterations, converged = tikhonov_lsqr(A, L, b, lam, rtol=1e-12)
    assert converged
    assert 0 < iterations < 200
    assert _relative(gather(x), _general_form(L_dense, gather(b), lam)) < 1e-9


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(L_CASES))
def test_lapack_gsvd_is_the_dense_gsvd_in_the_thesis_convention(name):
    A, L, _, L_dense, null = _problem(name)
    result = gsvd(A, L, null_basis=domain_vecs(A, null))
    sigma, gamma, _, _ = _dense_gsvd(A_DENSE, L_dense)
    q = null.shape[1]
    assert len(result.sigma) + len(result.null_Y) == N
    np.testing.assert_allclose(result.sigma, sigma[q:], rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.gamma, gamma[q:], rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.generalized_values(), sigma[q:] / gamma[q:], rtol=1e-8)
    for s, g, u, v, y in zip(result.sigma, result.gamma, result.U, result.V, result.Y):
        u, v, y = gather(u), gather(v), gather(y)
        assert abs(np.linalg.norm(u) - 1) < 1e-12 and abs(np.linalg.norm(v) - 1) < 1e-12
        assert np.linalg.norm(A_DENSE @ y - s * u) < 1e-10
        assert np.linalg.norm(L_dense @ y - g * v) < 1e-10
    U = np.column_stack([gather(u) for u in result.U + result.null_U])
    np.testing.assert_allclose(U.T @ U, np.eye(N), atol=1e-10)
    for u, y in zip(result.null_U, result.null_Y):
        np.testing.assert_allclose(A_DENSE @ gather(y), gather(u), atol=1e-12)
        assert np.linalg.norm(L_dense @ gather(y)) < 1e-12


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(L_CASES))
@pytest.mark.parametrize("lam", [1e-1, 1e-4])
def test_gsvd_tikhonov_equals_normal_equations_and_lsqr(name, lam):
    A, L, b, L_dense, null = _problem(name)
    x = gather(gsvd(A, L, null_basis=domain_vecs(A, null)).tikhonov(b, lam))
    assert _relative(x, _general_form(L_dense, gather(b), lam)) < 1e-8
    assert _relative(x, gather(tikhonov_lsqr(A, L, b, lam, rtol=1e-12)[0])) < 1e-8


@pytest.mark.mpi
@pytest.mark.parametrize("k", [0, 3, 10])
def test_truncated_gsvd_keeps_the_largest_generalized_values_and_n_of_l(k):
    A, L, b, L_dense, null = _problem("second_difference")
    sigma, _, U, Y = _dense_gsvd(A_DENSE, L_dense)
    q = null.shape[1]
    coefficients = np.r_[np.ones(q), 1 / sigma[q:q + k]] * (U[:, :q + k].T @ gather(b))
    reference = Y[:, :q + k] @ coefficients
    x = gather(gsvd(A, L, null_basis=domain_vecs(A, null)).tsvd(b, k))
    assert _relative(x, reference) < 1e-8


@pytest.mark.mpi
@pytest.mark.parametrize("wrap", [lambda op: op, MatrixFree], ids=["assembled", "matrix_free"])
def test_trlanczos_finds_the_largest_generalized_triplets(wrap):
    m, n, nsv = 150, 120, 4
    A_dense, L_dense = _decaying(m, n, seed=5), _first_difference(n)
    A, L = distributed_matrix(A_dense), distributed_matrix(L_dense)
    _, b = A.create_vecs()
    fill_normal(b, 8)
    null = domain_vecs(A, np.full((n, 1), n ** -0.5))
    result = gsvd(wrap(A), wrap(L), nsv=nsv, svd_type="trlanczos", null_basis=null)
    sigma, gamma, U, Y = _dense_gsvd(A_dense, L_dense)
    np.testing.assert_allclose(result.sigma, sigma[1:nsv + 1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.gamma, gamma[1:nsv + 1], rtol=0, atol=1e-8)
    for s, g, u, v, y in zip(result.sigma, result.gamma, result.U, result.V, result.Y):
        assert np.linalg.norm(A_dense @ gather(y) - s * gather(u)) < 1e-8
        assert np.linalg.norm(L_dense @ gather(y) - g * gather(v)) < 1e-8
    coefficients = np.r_[1.0, 1 / sigma[1:nsv + 1]] * (U[:, :nsv + 1].T @ gather(b))
    assert _relative(gather(result.tsvd(b, nsv)), Y[:, :nsv + 1] @ coefficients) < 1e-8


@pytest.mark.mpi
def test_gsvd_refuses_what_it_cannot_do():
    A, L, b, _, null = _problem("first_difference")
    with pytest.raises(ValueError, match="svd_type"):
        gsvd(MatrixFree(A), MatrixFree(L), null_basis=domain_vecs(A, null))
    with pytest.raises(ValueError, match="nsv"):
        gsvd(A, L, svd_type="trlanczos")
    with pytest.raises(ValueError, match="null_basis"):
        gsvd(A, L)
    result = gsvd(A, L, nsv=3, null_basis=domain_vecs(A, null))
    with pytest.raises(ValueError, match="k:"):
        result.tsvd(b, 4)
    with pytest.raises(ValueError, match="lam"):
        result.tikhonov(b, 0.0)
