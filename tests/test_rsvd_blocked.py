"""The blocked adaptive range finder (``block`` columns per step) against the one-vector Alg. 4.2
(``block=1``), a numpy version of itself built identically on every rank (so 1-rank and
2-rank runs must agree), and numpy's dense SVD."""
import math

import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.linalg.decompositions.rsvd import adaptive_range_finder, column_seed, randomized_svd
from hpcinv.linalg.random import normal_slice
from helpers import MatrixFree, decaying_matrix, distributed_matrix, gather_bv

PETSc = initialize()

M, N = 150, 90
DECAY = 0.75 ** np.arange(N)


def _dense():
    """A 150 x 90 matrix with singular values 0.75^i."""
    return decaying_matrix(M, N, DECAY, 20250114)


def _operator(dense, kind):
    """``dense`` as a sparse or dense Mat, or seen through products only (one per column
    of a block)."""
    if kind == "matrix-free":
        return MatrixFree(distributed_matrix(dense))
    return distributed_matrix(dense, kind)


def _numpy_blocked(dense, epsilon, lookahead, seed, block, max_rank=None):
    """The blocked finder in numpy with the same Omega: Q spans the first ``rank`` samples,
    ``rank`` the first multiple of ``block`` (or ``max_rank``) whose next ``lookahead``
    samples pass (4.3).  (Q, compressed)."""
    max_rank = max_rank or min(dense.shape)
    omega = np.column_stack([normal_slice(column_seed(seed, column), 0, dense.shape[1])
                             for column in range(max_rank + lookahead)])
    samples = dense @ omega
    threshold = epsilon / (10 * math.sqrt(2 / math.pi))
    rank = 0
    while True:
        basis = np.linalg.qr(samples[:, :rank])[0] if rank else np.zeros((len(dense), 0))
        test = samples[:, rank:rank + lookahead]
        for _ in range(2):
            test = test - basis @ (basis.T @ test)
        if np.linalg.norm(test, axis=0).max() <= threshold:
            return basis, True
        if rank == max_rank:
            return basis, False
        rank = min(rank + block, max_rank)


def _projection_distance(first, second, sampled):
    """||(Q1 Q1^T - Q2 Q2^T) A||_2 for the matrix whose range was sampled: the two bases'
    approximations of A apart.  (Their last directions, from samples that A shrank by up to
    0.75^rank, are themselves only fixed to rounding over that.)"""
    return np.linalg.norm((first @ first.T - second @ second.T) @ sampled, 2)


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("block", [3, 8, 16, 32])
def test_blocked_basis_extends_the_one_vector_basis(block, transpose):
    """Both grow Q from the same samples, so the blocked Q's first columns span Alg. 4.2's
    Q, and it stops at the first multiple of ``block`` past Alg. 4.2's rank."""
    dense = _dense()
    operator = distributed_matrix(dense)
    one = adaptive_range_finder(operator, 1e-6, seed=4, transpose=transpose, block=1)
    blocked = adaptive_range_finder(operator, 1e-6, seed=4, transpose=transpose, block=block)
    assert blocked.rank == min(math.ceil(one.rank / block) * block, N)
    assert blocked.matvecs == blocked.rank + 10 and blocked.compressed
    Q1, Qb = gather_bv(one.Q), gather_bv(blocked.Q)
    assert _projection_distance(Q1, Qb[:, :one.rank], dense.T if transpose else dense) <= 1e-13
    np.testing.assert_allclose(Qb.T @ Qb, np.eye(blocked.rank), atol=1e-13)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["aij", "dense", "matrix-free"])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("block", [1, 5, 16])
def test_blocked_finder_matches_numpy_on_any_rank_count(block, transpose, kind):
    """The numpy reference is the same on every rank: 1-rank and 2-rank runs draw the same
    Omega and keep the same rank and subspace."""
    dense = _dense()
    operator = _operator(dense, kind)
    basis = adaptive_range_finder(operator, 1e-5, lookahead=6, seed=8, transpose=transpose,
                                  block=block)
    sampled = dense.T if transpose else dense
    expected, compressed = _numpy_blocked(sampled, 1e-5, 6, 8, block)
    assert (basis.rank, basis.compressed) == (expected.shape[1], compressed)
    assert _projection_distance(gather_bv(basis.Q), expected, sampled) <= 1e-13
    if kind == "matrix-free":   # every product counted, one per column of a block
        assert operator.products == basis.matvecs == basis.rank + 6


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("block", [1, 4, 16, 32])
@pytest.mark.parametrize("epsilon", [1e-2, 1e-5, 1e-9])
def test_blocked_finder_meets_the_tolerance(epsilon, block, transpose):
    dense = _dense()
    basis = adaptive_range_finder(distributed_matrix(dense, "dense"), epsilon, seed=13,
                                  transpose=transpose, block=block)
    Q = gather_bv(basis.Q)
    residual = dense - Q @ (Q.T @ dense) if not transpose else dense - (dense @ Q) @ Q.T
    assert np.linalg.norm(residual, 2) <= epsilon
    assert basis.rank >= np.sum(DECAY > epsilon) and basis.compressed
    np.testing.assert_allclose(Q.T @ Q, np.eye(basis.rank), atol=1e-13)


@pytest.mark.mpi
def test_blocked_finder_stops_at_max_rank_inside_a_block():
    basis = adaptive_range_finder(distributed_matrix(_dense()), 1e-9, max_rank=10, block=4)
    assert (basis.rank, basis.compressed, basis.matvecs) == (10, False, 20)
    Q = gather_bv(basis.Q)
    np.testing.assert_allclose(Q.T @ Q, np.eye(10), atol=1e-13)
    expected, _ = _numpy_blocked(_dense(), 1e-9, 10, 0, 4, max_rank=10)
    assert _projection_distance(Q, expected, _dense()) <= 1e-13


@pytest.mark.mpi
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("block", [1, 16])
def test_blocked_randomized_svd_matches_the_dense_svd(block, transpose):
    dense = _dense()
    epsilon = 1e-8
    svd = randomized_svd(distributed_matrix(dense, "dense"), epsilon=epsilon, seed=2,
                         transpose=transpose, block=block)
    left, singular, right_t = np.linalg.svd(dense, full_matrices=False)
    U, V = gather_bv(svd.U), gather_bv(svd.V)
    # Weyl: |s_i(Q Q^T A) - s_i(A)| <= ||A - Q Q^T A|| <= epsilon
    np.testing.assert_allclose(svd.s, singular[:svd.rank], rtol=0, atol=epsilon)
    # The leading singular vectors, 25% apart, to within epsilon / gap.
    leading = 20
    np.testing.assert_allclose(np.abs(np.sum(U[:, :leading] * left[:, :leading], axis=0)),
                               1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(V[:, :leading] * right_t[:leading].T, axis=0)),
                               1.0, atol=1e-6)
    assert np.linalg.norm(dense - (U * svd.s) @ V.T, 2) <= epsilon
    assert svd.matvecs == 2 * svd.rank + 10


@pytest.mark.mpi
def test_blocked_finder_refuses_a_bad_block():
    with pytest.raises(ValueError, match="block"):
        adaptive_range_finder(distributed_matrix(_dense()), 1e-3, block=0)
