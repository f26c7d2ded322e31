"""The standard-form transformation A L_A^+ on every route to L^+ (LU, Cholesky of L L^T, CG
on L^T L), against dense references built identically on every rank."""
import numpy as np
import pytest

from hpcinv.linalg import MatOperator, dot_test
from hpcinv.linalg.random import fill_normal
from hpcinv.solvers.tikhonov.stacked_lsqr import tikhonov_lsqr
from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.tikhonov.standard_form import StandardForm, pseudo_inverse_by_cg
from helpers import MatrixFree, distributed_matrix, domain_vecs, gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD
M, N = 40, 30


def _decaying(m, n, seed=0):
    """m x n with singular values from 1 down to 1e-4."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((m, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return left @ np.diag(np.logspace(0, -4, n)) @ right.T


def _difference(n, order=1):
    return np.diff(np.eye(n), n=order, axis=0)


def _gradient_2d(rows, cols):
    """[I (x) D; D (x) I] on a rows x cols grid: p > n and N(L) = constants."""
    return np.vstack([np.kron(np.eye(rows), _difference(cols)),
                      np.kron(_difference(rows), np.eye(cols))])


A_DENSE = _decaying(M, N)
CONSTANTS = np.full((N, 1), N ** -0.5)
# name: (L, orthonormal basis of N(L), route to L^+, wrap L matrix-free)
CASES = {
    "invertible": (np.random.default_rng(1).standard_normal((N, N)) + 6 * np.eye(N),
                   np.zeros((N, 0)), "lu", False),
    "first_difference": (_difference(N), CONSTANTS, "cholesky", False),
    "second_difference": (_difference(N, 2),
                          np.linalg.qr(np.vander(np.arange(N), 2, increasing=True))[0],
                          "cholesky", False),
    "gradient_2d": (_gradient_2d(5, 6), CONSTANTS, "cg", False),
    "first_difference_matrix_free": (_difference(N), CONSTANTS, "cg", True),
}


def _setup(name):
    L_dense, null, method, matrix_free = CASES[name]
    A, L = distributed_matrix(A_DENSE), distributed_matrix(L_dense)
    standard = StandardForm(A, MatrixFree(L) if matrix_free else L, domain_vecs(A, null))
    assert standard.method == method
    _, b = A.create_vecs()
    fill_normal(b, 7)
    return A, standard, b, L_dense, null


def _oblique_pseudo_inverse(L, W):
    """Dense L_A^+ = (I - W (A W)^+ A) L^+."""
    return (np.eye(N) - W @ np.linalg.pinv(A_DENSE @ W) @ A_DENSE) @ np.linalg.pinv(L)


def _identity(size):
    local = PETSc.Sys.splitOwnership(size, comm=COMM)[0]
    mat = PETSc.Mat().createAIJ(((local, size), (local, size)), nnz=1, comm=COMM)
    start, stop = mat.getOwnershipRange()
    for i in range(start, stop):
        mat.setValue(i, i, 1.0)
    mat.assemble()
    return MatOperator(mat)


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(CASES))
def test_standard_form_operator_passes_the_adjoint_test(name):
    _, standard, _, L, _ = _setup(name)
    assert standard.shape == (M, L.shape[0])
    assert dot_test(standard, seed=4) < 1e-11


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(CASES))
def test_oblique_pseudo_inverse_and_its_transpose_match_dense(name):
    A, standard, _, L, null = _setup(name)
    dense = _oblique_pseudo_inverse(L, null)
    y, x = standard.create_vecs()
    fill_normal(y, 5)
    out, _ = A.create_vecs()
    standard.pinv.mult(y, out)
    np.testing.assert_allclose(gather(out), dense @ gather(y), rtol=0, atol=1e-9)
    x, _ = A.create_vecs()
    fill_normal(x, 6)
    standard.pinv.mult_transpose(x, y)
    np.testing.assert_allclose(gather(y), dense.T @ gather(x), rtol=0, atol=1e-9)


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("lam", [1e-1, 1e-4])
def test_back_transformed_standard_form_tikhonov_is_the_general_form_solution(name, lam):
    _, standard, b, L, null = _setup(name)
    b_dense = gather(b)
    x_null = standard.null_component(b)
    reference_null = null @ np.linalg.lstsq(A_DENSE @ null, b_dense, rcond=None)[0]
    np.testing.assert_allclose(gather(x_null), reference_null, rtol=0, atol=1e-12)
    y, _, converged = tikhonov_lsqr(standard, _identity(L.shape[0]), b, lam, rtol=1e-12)
    assert converged
    x = gather(standard.back_transform(y, b))
    reference = np.linalg.solve(A_DENSE.T @ A_DENSE + lam * L.T @ L, A_DENSE.T @ b_dense)
    assert np.linalg.norm(x - reference) / np.linalg.norm(reference) < 1e-8


@pytest.mark.mpi
def test_cg_pseudo_inverse_is_minimum_norm_also_for_inconsistent_right_hand_sides():
    """(L^+)^T x = L (L^T L)^+ x needs N(L) removed from x; StandardForm only passes
    projected x, so this route is checked on L^+ itself."""
    L_dense = _gradient_2d(5, 6)
    L = distributed_matrix(L_dense)
    pseudo_inverse = pseudo_inverse_by_cg(L, domain_vecs(L, CONSTANTS), 1e-12, "test_cg_")
    x, y = L.create_vecs()
    assert dot_test(pseudo_inverse) < 1e-10
    fill_normal(x, 1)
    fill_normal(y, 2)
    out_x, out_y = x.duplicate(), y.duplicate()
    pseudo_inverse.mult(y, out_x)
    pseudo_inverse.mult_transpose(x, out_y)
    dense = np.linalg.pinv(L_dense)
    np.testing.assert_allclose(gather(out_x), dense @ gather(y), rtol=0, atol=1e-10)
    np.testing.assert_allclose(gather(out_y), dense.T @ gather(x), rtol=0, atol=1e-10)


@pytest.mark.mpi
def test_singular_values_of_a_la_pinv_are_the_generalized_singular_values():
    """A L_A^+ = U Sigma Gamma^+ V^T (thesis 1.4): its SVD is the GSVD's finite part."""
    _, standard, _, L, _ = _setup("second_difference")
    columns = []
    y, r = standard.create_vecs()
    for j in range(L.shape[0]):
        y.zeroEntries()
        y.setValue(j, 1.0)
        y.assemble()
        standard.mult(y, r)
        columns.append(gather(r))
    singular = np.linalg.svd(np.column_stack(columns), compute_uv=False)
    q, _ = np.linalg.qr(np.vstack([A_DENSE, L]))
    cosines = np.linalg.svd(q[:M], compute_uv=False)[2:]  # the first two are N(L)'s
    np.testing.assert_allclose(singular, cosines / np.sqrt(1 - cosines ** 2), rtol=1e-8)


@pytest.mark.mpi
def test_standard_form_refuses_inconsistent_null_spaces():
    A, L = distributed_matrix(A_DENSE), distributed_matrix(_gradient_2d(5, 6))
    with pytest.raises(ValueError, match="full_row_rank"):
        StandardForm(A, L, domain_vecs(A, CONSTANTS), full_row_rank=True)
    with pytest.raises(ValueError, match="orthonormal"):
        StandardForm(A, L, domain_vecs(A, 2 * CONSTANTS))


@pytest.mark.mpi
def test_random_samples_of_an_l_range_domain_agree_on_any_number_of_ranks():
    """A L_A^+ with the gradient, whose rows (so the domain of L^+) are split by pixels:
    the range finder's Gaussian samples are drawn by L's own row numbers, so a fixed-rank
    randomized SVD is the same on 1 and 2 ranks (found by review)."""
    from hpcinv.linalg.decompositions.rsvd import randomized_svd
    from hpcinv.linalg.dense import dense_operator
    from hpcinv.operators.regularization import regularization_operator

    grid = (5, 6)
    dense = _decaying(M, grid[0] * grid[1], seed=4)

    def singular_values(comm):
        A = dense_operator(comm, dense.shape, lambda start, stop: dense[start:stop])
        L = regularization_operator(comm, "gradient2d", grid)
        standard = StandardForm(A, L, L.null_space_basis())
        return randomized_svd(standard, rank=3, oversampling=2, seed=5).s

    np.testing.assert_allclose(singular_values(COMM), singular_values(PETSc.COMM_SELF),
                               rtol=1e-9)
