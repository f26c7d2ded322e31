"""Operators on 1 and 2 ranks: adjoint tests, the shell-Mat adapter, row slicing."""
import numpy as np
import pytest
import scipy.sparse as sp

from hpcinv.linalg import Layout, Operator, dot_test
from hpcinv.operators.gaussian import gaussian_blur, gaussian_factor, kron_rows
from hpcinv.linalg.random import fill_normal, normal_slice
from hpcinv.core.petsc_env import initialize
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


@pytest.mark.mpi
@pytest.mark.parametrize("shape", [(97,), (24, 31)])
def test_gaussian_blur_passes_the_adjoint_test(shape):
    operator = gaussian_blur(COMM, shape, [1.0 / n for n in shape], sigma=0.05)
    assert dot_test(operator, seed=3) < 1e-13


@pytest.mark.mpi
def test_gaussian_blur_equals_dense_kronecker_product():
    shape = (9, 13)
    operator = gaussian_blur(COMM, shape, (0.1, 0.1), sigma=0.15, truncate=3.0)
    dense = sp.kron(gaussian_factor(9, 0.1, 0.15, 3.0), gaussian_factor(13, 0.1, 0.15, 3.0)).toarray()
    x, y = operator.create_vecs()
    fill_normal(x, 5)
    operator.mult(x, y)
    np.testing.assert_allclose(gather(y), dense @ gather(x), rtol=1e-13, atol=1e-14)


def test_kron_rows_matches_the_full_product():
    factors = [gaussian_factor(n, 0.1, 0.2, 4.0) for n in (5, 4, 3)]
    full = sp.kron(sp.kron(factors[0], factors[1]), factors[2]).toarray()
    for start, stop in [(0, 60), (7, 23), (59, 60), (11, 12)]:
        np.testing.assert_array_equal(kron_rows(factors, start, stop).toarray(), full[start:stop])


class _Scaled(Operator):
    """A matrix-free operator: scales by 1..n (exercises the shell adapter)."""

    def __init__(self, n):
        layout = Layout.default(COMM, n)
        super().__init__(layout, layout)

    def _weights(self, vec):
        start, stop = vec.getOwnershipRange()
        return np.arange(start + 1, stop + 1, dtype=float)

    def mult(self, x, y):
        y.getArray()[:] = self._weights(x) * x.getArray(readonly=True)

    def mult_transpose(self, y, x):
        self.mult(y, x)


@pytest.mark.mpi
def test_shell_adapter_lets_ksp_solve_a_matrix_free_operator():
    operator = _Scaled(50)
    assert dot_test(operator) < 1e-15
    x, b = operator.create_vecs()
    b.set(1.0)
    ksp = PETSc.KSP().create(comm=COMM)
    ksp.setOperators(operator.as_petsc_mat())
    ksp.setType("cg")
    ksp.getPC().setType("none")
    ksp.setTolerances(rtol=1e-12)
    ksp.solve(b, x)
    np.testing.assert_allclose(gather(x), 1.0 / np.arange(1, 51), rtol=1e-10)


@pytest.mark.mpi
def test_random_vectors_do_not_depend_on_the_layout():
    x = PETSc.Vec().createMPI(200000, comm=COMM)
    fill_normal(x, 11)
    np.testing.assert_array_equal(gather(x), normal_slice(11, 0, 200000))


@pytest.mark.mpi
def test_shell_adapter_lets_slepc_compute_singular_values():
    from hpcinv.core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    operator = _Scaled(40)
    svd = SLEPc.SVD().create(comm=COMM)
    svd.setOperators(operator.as_petsc_mat())
    svd.setDimensions(nsv=3)
    svd.setWhichSingularTriplets(SLEPc.SVD.Which.LARGEST)
    svd.setTolerances(tol=1e-12)
    svd.solve()
    assert svd.getConverged() >= 3
    assert [round(svd.getValue(i), 8) for i in range(3)] == [40.0, 39.0, 38.0]
