"""The datacube forward operator Y = U K~^T with the rows of U (spatial basis functions)
distributed across ranks.

A coefficient vector is U in R^{N x L} in C order (spatial index major), so each rank owns
whole rows and both the forward and the adjoint map are local matrix products (BLAS-3):
no communication at all.
"""
from __future__ import annotations

import numpy as np

from ...operators.base import Operator


def split_rows(count: int, comm) -> tuple[int, int]:
    """PETSc's default split of ``count`` rows: (first row, number of rows) of this rank."""
    from petsc4py import PETSc

    local = PETSc.Sys.splitOwnership(count, comm=comm)[0]
    start = comm.tompi4py().exscan(local) or 0
    return start, local


class CubeOperator(Operator):
    """U (N x L) -> Y = U K~^T (N x R), flattened in C order."""

    def __init__(self, kernel: np.ndarray, spatial_size: int, comm):
        self.kernel = np.ascontiguousarray(kernel)
        self.comm = comm
        self.spatial_size = spatial_size
        self.row_start, self.local_rows = split_rows(spatial_size, comm)
        wavelengths, thetas = kernel.shape
        self.shape = (spatial_size * wavelengths, spatial_size * thetas)
        self.local_shape = (self.local_rows * wavelengths, self.local_rows * thetas)

    def rows(self, vec, columns: int) -> np.ndarray:
        """This rank's rows of a flattened N x ``columns`` Vec, as a writable array view."""
        return vec.getArray().reshape(self.local_rows, columns)

    def mult(self, x, y) -> None:
        np.matmul(self.rows(x, self.kernel.shape[1]), self.kernel.T,
                  out=self.rows(y, self.kernel.shape[0]))

    def mult_transpose(self, y, x) -> None:
        np.matmul(self.rows(y, self.kernel.shape[0]), self.kernel,
                  out=self.rows(x, self.kernel.shape[1]))
