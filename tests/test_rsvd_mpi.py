"""Randomized range finder and SVD (Halko Algs. 4.1, 4.2, 5.1) on 1 and 2 ranks against dense
numpy references built identically on every rank."""
import math
from collections import deque

import numpy as np
import pytest

from hpcinv.linalg.random import normal_slice
from hpcinv.core.petsc_env import initialize, initialize_slepc
from hpcinv.linalg.decompositions.rsvd import adaptive_range_finder, column_seed, randomized_svd
from helpers import decaying_matrix, distributed_matrix, gather, gather_bv

PETSc = initialize()
SLEPc = initialize_slepc()
COMM = PETSc.COMM_WORLD

M, N = 120, 80
DECAY = 0.7 ** np.arange(N)


def _dense(rank=N):
    """A 120 x 80 matrix with singular values 0.7^i, i < rank (zero beyond)."""
    return decaying_matrix(M, N, DECAY[:rank], 20240607)


def _numpy_adaptive_rank(dense, epsilon, lookahead, seed):
    """Halko Alg. 4.2 in numpy with the same Gaussian columns: the rank it stops at."""
    def sample(column):
        return dense @ normal_slice(column_seed(seed, column), 0, dense.shape[1])

    threshold = epsilon / (10 * math.sqrt(2 / math.pi))
    window = deque(sample(column) for column in range(lookahead))
    basis = np.zeros((dense.shape[0], 0))
    while max(np.linalg.norm(y) for y in window) > threshold:
        y = window.popleft()
        for _ in range(2):
            y = y - basis @ (basis.T @ y)
        q = y / np.linalg.norm(y)
        basis = np.column_stack([basis, q])
        window = deque(w - q * (q @ w) for w in window)
        fresh = sample(basis.shape[1] + lookahead - 1)
        for _ in range(2):
            fresh = fresh - basis @ (basis.T @ fresh)
        window.append(fresh)
    return basis.shape[1]


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("epsilon", [1e-2, 1e-4, 1e-6])
def test_adaptive_range_finder_meets_the_tolerance(epsilon, transpose):
    dense = _dense()
    basis = adaptive_range_finder(distributed_matrix(dense), epsilon, lookahead=10, seed=3,
                                  transpose=transpose)
    Q = gather_bv(basis.Q)
    residual = dense - Q @ (Q.T @ dense) if not transpose else dense - (dense @ Q) @ Q.T
    assert np.linalg.norm(residual, 2) <= epsilon
    np.testing.assert_allclose(Q.T @ Q, np.eye(basis.rank), atol=1e-13)
    assert basis.compressed and basis.rank < N
    assert basis.matvecs == basis.rank + 10
    # The 0.7^i spectrum has exactly this many singular values above epsilon, which any
    # basis meeting the tolerance must capture.
    assert basis.rank >= np.sum(DECAY > epsilon)


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
def test_adaptive_rank_does_not_depend_on_the_rank_count(transpose):
    dense = _dense()
    basis = adaptive_range_finder(distributed_matrix(dense), 1e-5, lookahead=4, seed=11,
                                  transpose=transpose, block=1)   # Alg. 4.2's own rank
    assert basis.rank == _numpy_adaptive_rank(dense.T if transpose else dense, 1e-5, 4, 11)


@pytest.mark.mpi
def test_adaptive_range_finder_reports_a_basis_that_did_not_compress():
    basis = adaptive_range_finder(distributed_matrix(_dense()), 1e-6, lookahead=10, max_rank=5)
    assert (basis.rank, basis.compressed, basis.matvecs) == (5, False, 15)
    Q = gather_bv(basis.Q)
    np.testing.assert_allclose(Q.T @ Q, np.eye(5), atol=1e-13)


@pytest.mark.mpi
def test_adaptive_range_finder_refuses_bad_parameters():
    operator = distributed_matrix(_dense())
    for kwargs, name in [({"epsilon": 0.0}, "epsilon"), ({"epsilon": 1e-3, "lookahead": 0}, "lookahead"),
                         ({"epsilon": 1e-3, "max_rank": N + 1}, "max_rank"),
                         ({"epsilon": 100.0}, "epsilon")]:
        with pytest.raises(ValueError, match=name):
            adaptive_range_finder(operator, **kwargs)


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("epsilon", [1e-2, 1e-4, 1e-6])
def test_randomized_svd_is_within_epsilon_of_the_svd(epsilon, transpose):
    dense = _dense()
    svd = randomized_svd(distributed_matrix(dense), epsilon=epsilon, seed=5, transpose=transpose)
    U, V = gather_bv(svd.U), gather_bv(svd.V)
    # Weyl: |s_i(Q Q^T A) - s_i(A)| <= ||A - Q Q^T A|| <= epsilon
    assert np.max(np.abs(svd.s - DECAY[:svd.rank])) <= epsilon
    assert np.all(np.diff(svd.s) <= 0)
    assert np.linalg.norm(dense - (U * svd.s) @ V.T, 2) <= epsilon
    np.testing.assert_allclose(U.T @ U, np.eye(svd.rank), atol=1e-13)
    np.testing.assert_allclose(V.T @ V, np.eye(svd.rank), atol=1e-13)
    assert svd.matvecs == 2 * svd.rank + 10
    assert svd.method == "rsvd-adaptive" + ("-transposed" if transpose else "")


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
def test_fixed_rank_randomized_svd_of_a_rank_r_matrix_is_exact(transpose):
    rank = 7
    dense = _dense(rank)
    svd = randomized_svd(distributed_matrix(dense), rank=rank, oversampling=3, transpose=transpose)
    U, V = gather_bv(svd.U), gather_bv(svd.V)
    assert svd.rank == rank and svd.matvecs == 2 * (rank + 3)
    np.testing.assert_allclose(svd.s, DECAY[:rank], rtol=1e-13)
    np.testing.assert_allclose((U * svd.s) @ V.T, dense, atol=1e-13)
    np.testing.assert_allclose(U.T @ U, np.eye(rank), atol=1e-13)


@pytest.mark.mpi
def test_fixed_rank_randomized_svd_matches_halko_in_numpy():
    """Same Omega on any number of ranks: Alg. 4.1 + 5.1 equal their dense numpy version."""
    dense = _dense()
    svd = randomized_svd(distributed_matrix(dense), rank=6, oversampling=4, seed=9)
    omega = np.column_stack([normal_slice(column_seed(9, c), 0, N) for c in range(10)])
    Q, _ = np.linalg.qr(dense @ omega)
    np.testing.assert_allclose(svd.s, np.linalg.svd(Q.T @ dense, compute_uv=False)[:6],
                               rtol=1e-12)


@pytest.mark.mpi
def test_randomized_svd_tikhonov_solution_is_close_to_the_exact_one():
    dense = _dense()
    operator = distributed_matrix(dense)
    svd = randomized_svd(operator, epsilon=1e-8)
    x, b = operator.create_vecs()
    start, stop = b.getOwnershipRange()
    data = normal_slice(4, 0, M)
    b.getArray()[:] = data[start:stop]
    lam = 1e-3
    exact = np.linalg.solve(dense.T @ dense + lam * np.eye(N), dense.T @ data)
    np.testing.assert_allclose(gather(svd.tikhonov(b, lam)), exact, atol=1e-6)


@pytest.mark.mpi
def test_randomized_svd_refuses_bad_parameters():
    operator = distributed_matrix(_dense())
    with pytest.raises(ValueError, match="epsilon"):
        randomized_svd(operator)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd(operator, rank=N + 1)
    with pytest.raises(ValueError, match="oversampling"):
        randomized_svd(operator, rank=5, oversampling=-1)
