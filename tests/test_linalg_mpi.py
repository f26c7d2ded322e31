"""Layout and the operator algebra on 1 and 2 ranks, against dense numpy references built
identically on every rank."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.linalg import Layout, MatOperator, Operator, dot_test
from hpcinv.linalg.dense import dense_matrix
from hpcinv.linalg.layout import default_counts
from hpcinv.linalg.operator import Composed, NormalOperator, Scaled, Sum, Transposed
from hpcinv.apps.galaxy.operator import CubeOperator
from helpers import MatrixFree, distributed_matrix, domain_vec, gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD
RNG = np.random.default_rng(7)
A = RNG.standard_normal((9, 7))
B = RNG.standard_normal((7, 5))
C = RNG.standard_normal((9, 7))


@pytest.mark.mpi
@pytest.mark.parametrize("size", [0, 1, 7, 13])
def test_the_default_layout_is_petscs_split(size):
    layout = Layout.default(COMM, size)
    assert layout.local_size == PETSc.Sys.splitOwnership(size, comm=COMM)[0]
    vec = PETSc.Vec().createMPI((PETSc.DECIDE, size), comm=COMM)
    assert (layout.start, layout.stop) == vec.getOwnershipRange()
    assert layout == Layout.of_vec(vec) == Layout.from_local(COMM, layout.local_size)
    assert sum(layout.counts) == size and len(layout.counts) == COMM.getSize()


@pytest.mark.mpi
def test_gather_and_local_part_are_inverse():
    layout = Layout.default(COMM, 11)
    whole = np.arange(33.0).reshape(11, 3)
    mine = layout.local_part(whole)
    assert mine.shape == (layout.local_size, 3)
    np.testing.assert_array_equal(layout.gather(mine), whole)
    np.testing.assert_array_equal(layout.gather(mine[:, 0]), whole[:, 0])
    flat = layout.rows_of(3)
    assert flat.size == 33 and flat.start == 3 * layout.start
    vec = flat.vec_from(whole.ravel())
    np.testing.assert_array_equal(gather(vec), whole.ravel())
    with pytest.raises(ValueError, match="11"):
        layout.local_part(np.zeros(10))


def test_counts_are_checked():
    assert default_counts(10, 3) == (4, 3, 3)
    with pytest.raises(ValueError, match="counts"):
        Layout(COMM, [1] * (COMM.getSize() + 1))


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["aij", "dense"])
def test_the_algebra_matches_dense_products(kind):
    a, b, c = (distributed_matrix(m, kind) for m in (A, B, C))
    cases = {
        "A @ B": (a @ b, A @ B),
        "A.T": (a.T, A.T),
        "2.5 * A": (2.5 * a, 2.5 * A),
        "A + C": (a + c, A + C),
        "A - C": (a - c, A - C),
        "-A": (-a, -A),
        "(A - C).T @ A": ((a - c).T @ a, (A - C).T @ A),
        "A^T A": (NormalOperator(a), A.T @ A),
    }
    for name, (operator, expected) in cases.items():
        assert isinstance(operator, Operator), name
        np.testing.assert_allclose(dense_matrix(operator), expected, atol=1e-12, err_msg=name)
        assert dot_test(operator) < 1e-13, name
    assert isinstance(a.T, Transposed) and a.T.T is a
    assert isinstance(a @ b, Composed) and isinstance(a + c, Sum) and isinstance(2 * a, Scaled)
    assert NormalOperator(a).symmetric


@pytest.mark.mpi
def test_mismatched_layouts_are_refused():
    a, b = distributed_matrix(A), distributed_matrix(B)
    with pytest.raises(ValueError, match="layouts differ"):
        a @ a
    with pytest.raises(ValueError, match="layouts differ"):
        a + b


@pytest.mark.mpi
@pytest.mark.parametrize("make", [lambda m: distributed_matrix(m, "aij"),
                                  lambda m: distributed_matrix(m, "dense"),
                                  lambda m: MatrixFree(distributed_matrix(m))])
def test_block_products_equal_products_column_by_column(make):
    a = make(A)
    X = RNG.standard_normal((7, 4))
    Y = RNG.standard_normal((9, 4))
    domain, range_ = a.domain_layout, a.range_layout
    np.testing.assert_allclose(range_.gather(a.matmat(domain.local_part(X))), A @ X,
                               atol=1e-12)
    np.testing.assert_allclose(domain.gather(a.rmatmat(range_.local_part(Y))), A.T @ Y,
                               atol=1e-12)
    composed = a.T @ make(C)
    np.testing.assert_allclose(domain.gather(composed.matmat(domain.local_part(X))),
                               A.T @ C @ X, atol=1e-11)
    with pytest.raises(ValueError, match="block"):
        a.matmat(np.zeros((domain.local_size + 1, 2)))


@pytest.mark.mpi
def test_the_cube_operator_block_product_is_one_batched_gemm():
    kernel = RNG.standard_normal((6, 4))
    spatial = Layout.default(COMM, 5)
    cube = CubeOperator(kernel, spatial)
    assert dot_test(cube) < 1e-13
    U = RNG.standard_normal((5 * 4, 3))
    whole = spatial.rows_of(6).gather(cube.matmat(spatial.rows_of(4).local_part(U)))
    expected = np.stack([(U[:, j].reshape(5, 4) @ kernel.T).ravel() for j in range(3)], axis=1)
    np.testing.assert_allclose(whole, expected, atol=1e-12)
    x = domain_vec(cube, U[:, 1])
    y = cube.create_vecs()[1]
    cube.mult(x, y)
    np.testing.assert_allclose(gather(y), expected[:, 1], atol=1e-12)


def test_dtype_follows_the_operands():
    a = distributed_matrix(A)
    assert a.dtype == np.float64 and (a @ distributed_matrix(B)).dtype == np.float64

    class ComplexBlock(Operator):
        def __init__(self, layout):
            super().__init__(layout, layout, np.complex128)

    block = ComplexBlock(a.domain_layout)
    assert (a @ block).dtype == np.complex128 and (2 * block).dtype == np.complex128


def test_an_operator_that_skips_the_base_init_is_told_so():
    class Forgetful(Operator):
        def __init__(self):
            pass

    with pytest.raises(AttributeError, match="Operator.__init__"):
        Forgetful().shape


def test_mat_operator_layouts_come_from_the_mat():
    a = distributed_matrix(A)
    assert isinstance(a, MatOperator)
    assert (a.range_layout.start, a.range_layout.stop) == a.mat.getOwnershipRange()
    assert a.shape == (9, 7) and a.local_shape == a.mat.getLocalSize()


@pytest.mark.parametrize("start, stop", [(0, 5), (10, 20), (65530, 65545), (70000, 70001)])
def test_random_slices_are_the_streams_entries(start, stop):
    """Each chunk's stream drawn whole, entries [start, stop) picked out: what any slice
    (any rank's rows, however few) must return."""
    from hpcinv.linalg.random import CHUNK, normal_slice, uniform_slice

    for draw, name in ((normal_slice, "standard_normal"), (uniform_slice, "random")):
        whole = np.concatenate([getattr(np.random.default_rng([4, block]), name)(CHUNK)
                                for block in range(2)])
        np.testing.assert_array_equal(draw(4, start, stop), whole[start:stop])
