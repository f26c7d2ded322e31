"""The largest singular triplets of an operator from SLEPc's SVD solvers, as a TruncatedSVD.

The iterative types see the operator through a counting shell Mat, so ``matvecs`` is the exact
number of products with A or A^T that SLEPc asked for (``cross`` applies A^T A, two per
step) and they never form A^T or A^T A.  ``lapack`` factorises the assembled entries densely
(``matvecs`` = 0) and so refuses matrix-free operators.  PETSc options with the prefix
(default ``-hpcinv_svd_``, e.g. ``-hpcinv_svd_svd_ncv 40``) override the arguments.
"""
from __future__ import annotations

import numpy as np

from ..operator import Operator, is_matrix_free
from ...core.errors import RuntimeFailure
from .truncated_svd import TruncatedSVD

SVD_TYPES = ("trlanczos", "randomized", "cross", "lapack")
OPTIONS_PREFIX = "hpcinv_svd_"


class _CountedOperator(Operator):
    """``operator`` with a tally of its products."""

    def __init__(self, operator):
        super().__init__(operator.range_layout, operator.domain_layout, operator.dtype)
        self.operator = operator
        self.products = 0

    def mult(self, x, y) -> None:
        self.products += 1
        self.operator.mult(x, y)

    def mult_transpose(self, y, x) -> None:
        self.products += 1
        self.operator.mult_transpose(y, x)


def slepc_svd(operator, rank: int, svd_type: str = "trlanczos", tol: float = 1e-10,
              max_it: int | None = None, prefix: str = OPTIONS_PREFIX) -> TruncatedSVD:
    """The ``rank`` largest singular triplets by SLEPc's ``svd_type`` solver."""
    from ...core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    if svd_type not in SVD_TYPES:
        raise ValueError(f"unknown svd_type {svd_type!r} (known: {', '.join(SVD_TYPES)})")
    if not 1 <= rank <= min(operator.shape):
        raise ValueError(f"rank must lie in [1, min(m, n)={min(operator.shape)}], got {rank}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    counted = _CountedOperator(operator)
    if svd_type == "lapack":
        mat = operator.as_petsc_mat()
        if is_matrix_free(operator):
            raise ValueError("svd_type='lapack' needs an assembled matrix; this operator is "
                             "matrix-free (use 'trlanczos', 'randomized' or 'cross')")
    else:
        mat = counted.as_petsc_mat()
    svd = SLEPc.SVD().create(comm=operator.comm)
    try:
        svd.setOptionsPrefix(prefix)
        svd.setOperators(mat)
        svd.setType(svd_type)
        svd.setImplicitTranspose(True)
        svd.setDimensions(nsv=rank)
        svd.setWhichSingularTriplets(SLEPc.SVD.Which.LARGEST)
        svd.setTolerances(tol=tol, max_it=max_it)
        from ...core.petsc_options import petsc_input_errors

        with petsc_input_errors():   # a bad option value is bad input
            svd.setFromOptions()
        svd.solve()
        if svd.getConverged() < rank:
            raise RuntimeFailure(
                f"SLEPc {svd.getType()} SVD converged {svd.getConverged()} of {rank} triplets "
                f"in {svd.getIterationNumber()} iterations (reason {svd.getConvergedReason()});"
                f" raise max_it, tol or -{prefix}svd_ncv")
        triplets = _triplets(svd, rank, f"slepc-{svd.getType()}")
        # Counted only now: cross computes u = A v / s when the triplets are read.
        triplets.matvecs = counted.products
        return triplets
    finally:
        svd.destroy()


def _triplets(svd, rank: int, method: str) -> TruncatedSVD:
    from ...core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    domain, range_ = svd.getOperators()[0].createVecs()
    U, V = SLEPc.BV().create(comm=svd.getComm()), SLEPc.BV().create(comm=svd.getComm())
    from ...core.petsc_options import petsc_input_errors

    for bv, template in ((U, range_), (V, domain)):
        bv.setSizesFromVec(template, rank)
        with petsc_input_errors():   # a bad option value is bad input
            bv.setFromOptions()
    s = np.empty(rank)
    for index in range(rank):
        u, v = U.getColumn(index), V.getColumn(index)
        s[index] = svd.getSingularTriplet(index, u, v)
        U.restoreColumn(index, u)
        V.restoreColumn(index, v)
    return TruncatedSVD(U=U, s=s, V=V, matvecs=0, method=method)
