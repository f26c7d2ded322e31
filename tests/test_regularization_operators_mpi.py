"""Regularization operators L on 1 and 2 ranks: against dense numpy matrices, adjoint tests,
null spaces and ranks."""
import numpy as np
import pytest

from hpcinv.linalg import dot_test
from hpcinv.linalg.random import fill_normal
from hpcinv.operators.regularization import regularization_operator
from hpcinv.core.petsc_env import initialize
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD

CASES = [("identity", (13,)), ("identity", (5, 7)), ("derivative", (17,)),
         ("laplacian", (17,)), ("laplacian2d", (6, 9)), ("gradient2d", (6, 9))]


def _dirichlet(n):
    return -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)


def _reference(name, shape):
    """L as a dense matrix, written independently of the operator module."""
    n = int(np.prod(shape))
    if name == "identity":
        return np.eye(n)
    if name == "derivative":
        return np.diff(np.eye(n), axis=0)          # rows e_{i+1} - e_i
    if name == "laplacian":
        return np.diff(np.eye(n), 2, axis=0)       # rows e_i - 2 e_{i+1} + e_{i+2}
    n0, n1 = shape
    if name == "laplacian2d":
        return np.kron(_dirichlet(n0), np.eye(n1)) + np.kron(np.eye(n0), _dirichlet(n1))
    return np.vstack([np.kron(np.eye(n0), np.diff(np.eye(n1), axis=0)),
                      np.kron(np.diff(np.eye(n0), axis=0), np.eye(n1))])


@pytest.mark.mpi
@pytest.mark.parametrize("name,shape", CASES)
def test_operator_equals_the_dense_matrix(name, shape):
    operator = regularization_operator(COMM, name, shape)
    reference = _reference(name, shape)
    assert operator.shape == reference.shape
    x, y = operator.create_vecs()
    fill_normal(x, 7)
    operator.mult(x, y)
    np.testing.assert_allclose(operator.gathered_range(y), reference @ gather(x), rtol=1e-14,
                               atol=1e-14)


@pytest.mark.mpi
def test_gradient_rows_start_in_the_columns_their_rank_owns():
    """[I (x) D; D (x) I] is split by pixels, a share of each block per rank, so that L x
    exchanges only a halo; its natural ranges number those rows in block order."""
    shape = (7, 10)
    operator = regularization_operator(COMM, "gradient2d", shape)
    ranges = operator.natural_row_ranges()
    horizontal = shape[0] * (shape[1] - 1)
    assert len(ranges) == 2 and ranges[0][1] <= horizontal <= ranges[1][0]
    reference = _reference("gradient2d", shape)
    mine = np.concatenate([np.arange(start, stop) for start, stop in ranges])
    first_columns = np.argmax(reference[mine] != 0, axis=1)
    low, high = operator.mat.getOwnershipRangeColumn()
    assert np.all((low <= first_columns) & (first_columns < high))
    counts = COMM.tompi4py().allgather(len(mine))
    assert sum(counts) == reference.shape[0] and len(mine) == operator.local_shape[0]


@pytest.mark.mpi
@pytest.mark.parametrize("name,shape", CASES)
def test_operator_passes_the_adjoint_test(name, shape):
    assert dot_test(regularization_operator(COMM, name, shape), seed=11) < 1e-12


@pytest.mark.mpi
@pytest.mark.parametrize("name,shape", CASES)
def test_null_space_basis_is_orthonormal_and_complete(name, shape):
    operator = regularization_operator(COMM, name, shape)
    basis = operator.null_space_basis()
    reference = _reference(name, shape)
    rank = np.linalg.matrix_rank(reference)
    assert len(basis) == reference.shape[1] - rank
    assert operator.full_row_rank == (rank == reference.shape[0])
    if basis:
        columns = np.column_stack([gather(w) for w in basis])
        np.testing.assert_allclose(columns.T @ columns, np.eye(len(basis)), atol=1e-14)
    _, image = operator.create_vecs()
    for w in basis:
        operator.mult(w, image)
        assert image.norm() < 1e-13


def test_null_spaces_are_constants_and_lines():
    gradient = regularization_operator(COMM, "gradient2d", (4, 5)).null_space_basis()
    np.testing.assert_allclose(gather(gradient[0]), np.full(20, 1 / np.sqrt(20)))
    constant, linear = regularization_operator(COMM, "laplacian", (6,)).null_space_basis()
    np.testing.assert_allclose(np.diff(gather(linear), 2), 0, atol=1e-15)
    assert np.ptp(gather(constant)) == 0 and np.ptp(gather(linear)) > 0


@pytest.mark.mpi
def test_columns_are_split_like_the_unknown():
    """General-form solvers stack [A; L]: L's local columns must match the unknown's layout."""
    operator = regularization_operator(COMM, "gradient2d", (7, 6))
    x = PETSc.Vec().createMPI(42, comm=COMM)
    assert operator.local_shape[1] == x.getLocalSize()
    assert operator.create_vecs()[0].getOwnershipRange() == x.getOwnershipRange()


@pytest.mark.parametrize("name,shape,message", [
    ("tv", (10,), "unknown regularization operator 'tv'"),
    ("derivative", (4, 5), "'derivative' acts on 1-D grids"),
    ("laplacian", (4, 5), "'laplacian' acts on 1-D grids"),
    ("gradient2d", (20,), "'gradient2d' acts on 2-D grids"),
    ("laplacian2d", (2, 3, 4), "'laplacian2d' acts on 2-D grids"),
    ("laplacian", (2,), "at least 3 points"),
    ("identity", (0, 3), "positive sizes"),
])
def test_bad_names_and_grids_are_refused(name, shape, message):
    with pytest.raises(ValueError, match=message):
        regularization_operator(COMM, name, shape)


def test_identity_works_on_any_grid():
    assert regularization_operator(COMM, "identity", (2, 3, 4)).shape == (24, 24)
