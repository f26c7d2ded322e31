"""The datacube forward operator Y = U K~^T with the rows of U (spatial basis functions)
distributed across ranks.

A coefficient vector is U in R^{N x L} in C order (spatial index major), so each rank owns
whole rows and both the forward and the adjoint map are local matrix products (BLAS-3):
no communication at all.
"""
from __future__ import annotations

import numpy as np

from ...linalg.layout import Layout
from ...linalg.operator import Operator


class CubeOperator(Operator):
    """U (N x L) -> Y = D U K~^T (N x R), flattened in C order; D is the diagonal of the
    spatial points whose data count (``fitted_rows``, all by default): a left-out spaxel's
    data are no equations for any solver, PNKR's and TAO's (which apply the same mask in
    their metric, ``TensorBlockRows.fitted_spaxels``) or a Krylov solver's."""

    def __init__(self, kernel: np.ndarray, spatial_layout: Layout,
                 fitted_rows: np.ndarray | None = None):
        self.kernel = np.ascontiguousarray(kernel)
        self.spatial_layout = spatial_layout
        self.row_mask = None if fitted_rows is None else \
            spatial_layout.local_part(np.asarray(fitted_rows, dtype=float))[:, None]
        wavelengths, thetas = kernel.shape
        super().__init__(spatial_layout.rows_of(wavelengths), spatial_layout.rows_of(thetas))

    def rows(self, vec, columns: int) -> np.ndarray:
        """This rank's rows of a flattened N x ``columns`` Vec, as a writable array view."""
        return vec.getArray().reshape(self.spatial_layout.local_size, columns)

    def mult(self, x, y) -> None:
        out = self.rows(y, self.kernel.shape[0])
        np.matmul(self.rows(x, self.kernel.shape[1]), self.kernel.T, out=out)
        if self.row_mask is not None:
            out *= self.row_mask

    def mult_transpose(self, y, x) -> None:
        out = self.rows(x, self.kernel.shape[1])
        np.matmul(self.rows(y, self.kernel.shape[0]), self.kernel, out=out)
        if self.row_mask is not None:
            out *= self.row_mask

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """Y_j = D U_j K~^T for every column j at once: one batched GEMM over the k columns."""
        return self._batched(X, self.kernel)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return self._batched(Y, self.kernel.T)

    def _batched(self, block, kernel) -> np.ndarray:
        block = np.asarray(block, dtype=float)
        rows = self.spatial_layout.local_size
        if block.ndim != 2 or block.shape[0] != rows * kernel.shape[1]:
            raise ValueError(f"block: expected this rank's {rows * kernel.shape[1]} rows and "
                             f"k columns, got shape {block.shape}")
        columns = block.shape[1]
        # (rows, in, k) -> (rows, out, k): kernel @ each row's (in x k) block
        stacked = block.reshape(rows, kernel.shape[1], columns)
        product = np.matmul(kernel, stacked)
        if self.row_mask is not None:
            product *= self.row_mask[:, :, None]
        return product.reshape(-1, columns)
