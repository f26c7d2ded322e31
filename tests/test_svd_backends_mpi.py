"""SLEPc SVD backends and the TSVD/Tikhonov solutions and parameter-choice model of a
TruncatedSVD, on 1 and 2 ranks against numpy's SVD of the same dense matrix."""
import numpy as np
import pytest

from hpcinv.linalg.random import normal_slice
from hpcinv.core.errors import RuntimeFailure
from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.tikhonov.paramchoice import RULES, SpectralModel, choose_lambda
from hpcinv.linalg.decompositions.svd_backends import SVD_TYPES, slepc_svd
from helpers import MatrixFree, distributed_matrix, gather, gather_bv

PETSc = initialize()
COMM = PETSc.COMM_WORLD

M, N = 120, 80
TOP = 10


def _dense():
    """A 120 x 80 matrix with singular values 0.7^i, identical on every rank."""
    rng = np.random.default_rng(20240607)
    left, _ = np.linalg.qr(rng.standard_normal((M, N)))
    right, _ = np.linalg.qr(rng.standard_normal((N, N)))
    return (left * 0.7 ** np.arange(N)) @ right.T


def _assert_top_triplets(svd, dense, count):
    left, values, right_t = np.linalg.svd(dense, full_matrices=False)
    np.testing.assert_allclose(svd.s, values[:count], rtol=0, atol=1e-8)
    U, V = gather_bv(svd.U), gather_bv(svd.V)
    signs = np.sign(np.sum(U * left[:, :count], axis=0))
    np.testing.assert_allclose(U * signs, left[:, :count], atol=1e-8)
    np.testing.assert_allclose(V * signs, right_t[:count].T, atol=1e-8)


def _data(operator, seed=4):
    """A rank-independent right-hand side: its Vec and the same numbers in numpy."""
    _, b = operator.create_vecs()
    values = normal_slice(seed, 0, M)
    start, stop = b.getOwnershipRange()
    b.getArray()[:] = values[start:stop]
    return b, values


@pytest.mark.mpi
@pytest.mark.parametrize("svd_type", SVD_TYPES)
def test_every_slepc_type_finds_the_top_triplets(svd_type):
    dense = _dense()
    svd = slepc_svd(distributed_matrix(dense), TOP, svd_type)
    _assert_top_triplets(svd, dense, TOP)
    assert svd.method == f"slepc-{svd_type}"
    assert (svd.matvecs == 0) if svd_type == "lapack" else (svd.matvecs >= 2 * TOP)


@pytest.mark.mpi
@pytest.mark.parametrize("svd_type", ["trlanczos", "randomized", "cross"])
def test_matrix_free_operators_work_and_every_product_is_counted(svd_type):
    dense = _dense()
    operator = MatrixFree(distributed_matrix(dense))
    svd = slepc_svd(operator, TOP, svd_type)
    _assert_top_triplets(svd, dense, TOP)
    assert svd.matvecs == operator.products > 0


@pytest.mark.mpi
def test_lapack_refuses_a_matrix_free_operator():
    with pytest.raises(ValueError, match="assembled"):
        slepc_svd(MatrixFree(distributed_matrix(_dense())), TOP, "lapack")


@pytest.mark.mpi
def test_bad_arguments_and_non_convergence_are_reported():
    operator = distributed_matrix(_dense())
    with pytest.raises(ValueError, match="svd_type"):
        slepc_svd(operator, TOP, "jacobi")
    with pytest.raises(ValueError, match="rank"):
        slepc_svd(operator, N + 1)
    with pytest.raises(ValueError, match="tol"):
        slepc_svd(operator, TOP, tol=0.0)
    options = PETSc.Options()
    options.setValue("-small_basis_svd_ncv", 12)
    try:
        with pytest.raises(RuntimeFailure, match="converged"):
            slepc_svd(operator, TOP, "trlanczos", max_it=1, prefix="small_basis_")
    finally:
        options.delValue("-small_basis_svd_ncv")


@pytest.mark.mpi
def test_petsc_options_with_the_prefix_override_the_arguments():
    options = PETSc.Options()
    options.setValue("-test_override_svd_type", "cross")
    try:
        svd = slepc_svd(distributed_matrix(_dense()), TOP, "trlanczos", prefix="test_override_")
    finally:
        options.delValue("-test_override_svd_type")
    assert svd.method == "slepc-cross"


@pytest.mark.mpi
def test_tikhonov_and_tsvd_from_the_full_svd_equal_the_dense_formulas():
    dense = _dense()
    operator = distributed_matrix(dense)
    svd = slepc_svd(operator, N, "lapack")
    b, data = _data(operator)
    for lam in (1e-6, 1e-3, 1.0):
        exact = np.linalg.solve(dense.T @ dense + lam * np.eye(N), dense.T @ data)
        # the normal equations' condition number 1/lam bounds the reference's own accuracy
        np.testing.assert_allclose(gather(svd.tikhonov(b, lam)), exact, rtol=0,
                                   atol=1e-9 * np.abs(exact).max())
    left, values, right_t = np.linalg.svd(dense, full_matrices=False)
    for k in (0, 5, 20):
        exact = right_t[:k].T @ ((left[:, :k].T @ data) / values[:k])
        np.testing.assert_allclose(gather(svd.tsvd(b, k)), exact, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="lam"):
        svd.tikhonov(b, -1.0)
    with pytest.raises(ValueError, match="k must"):
        svd.tsvd(b, N + 1)


@pytest.mark.mpi
def test_combine_and_project_are_v_c_and_u_transpose_b():
    dense = _dense()
    operator = distributed_matrix(dense)
    svd = slepc_svd(operator, TOP, "trlanczos")
    b, data = _data(operator)
    U, V = gather_bv(svd.U), gather_bv(svd.V)
    np.testing.assert_allclose(svd.project(b), U.T @ data, atol=1e-13)
    coefficients = np.arange(1.0, TOP + 1)
    np.testing.assert_allclose(gather(svd.combine(coefficients)), V @ coefficients, atol=1e-13)
    with pytest.raises(ValueError, match="coefficients"):
        svd.combine(np.ones(TOP + 1))


@pytest.mark.mpi
def test_model_of_the_full_svd_chooses_the_lambdas_of_numpys_svd():
    dense = _dense()
    operator = distributed_matrix(dense)
    truth, _ = operator.create_vecs()
    start, stop = truth.getOwnershipRange()
    truth.getArray()[:] = normal_slice(8, 0, N)[start:stop]
    noise_values = 1e-3 * normal_slice(9, 0, M)
    b, _ = _data(operator)
    operator.mult(truth, b)
    b.getArray()[:] += noise_values[slice(*b.getOwnershipRange())]
    data = gather(b)
    left, values, _ = np.linalg.svd(dense, full_matrices=False)
    reference = SpectralModel(values, left.T @ data, float(data @ data), M)
    model = SpectralModel.of_svd(slepc_svd(operator, N, "lapack"), b)
    assert model.rows == M and model.data_norm2 == pytest.approx(data @ data, rel=1e-14)
    noise_norm = float(np.linalg.norm(noise_values))
    for rule in RULES:
        expected = choose_lambda(reference, rule, noise_norm=noise_norm)
        chosen = choose_lambda(model, rule, noise_norm=noise_norm)
        assert (chosen is None) == (expected is None), rule
        if expected is not None:
            assert chosen == pytest.approx(expected, rel=1e-6), rule
