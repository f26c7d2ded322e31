"""Problems whose equations are block rows with a tensor-product structure.

The unknown is U in R^{N x L} (N spatial basis functions, L basis functions of a second
variable), equation r reads H_r u = N U k_r with k_r a row of the kernel K (R x L), the
metric of the unknown is M = Psi (x) Phi and that of the data N.  Kaczmarz-type solvers
(PNKR) need exactly this, as a problem capability; rows of U are distributed across ranks
by ``spatial_layout``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...core.problem import Capability
from ...linalg.layout import Layout


@dataclass
class TensorBlockRows(Capability):
    description = "tensor block rows"
    examples = "galaxy"

    kernel: np.ndarray            # K (R x L), replicated
    data_gram: sp.csr_matrix      # N (N x N): Gram matrix of the data space
    spatial_metric: sp.csr_matrix  # Psi (N x N): spatial part of M
    theta_metric: sp.csr_matrix   # Phi (L x L): second factor of M
    equation_noise: np.ndarray    # delta_r (R,): noise norm of each block equation
    spatial_layout: Layout        # how the N rows of U are split across ranks
    order: int = 0                # s of the bases (0: piecewise constants)
    spatial_shape: tuple = ()     # the spatial basis as a grid (C order), for smoothing
    theta_shape: tuple = ()       # the second basis as a grid (C order)
    # 1 where a spatial point's data count, 0 where they are left out (N holds the same
    # mask, D N D); None: all count.
    fitted_spaxels: np.ndarray | None = None

    @property
    def row_start(self) -> int:
        """The first row of U on this rank."""
        return self.spatial_layout.start

    @property
    def local_rows(self) -> int:
        """How many rows of U this rank holds."""
        return self.spatial_layout.local_size

    @property
    def spatial_size(self) -> int:
        return self.data_gram.shape[0]

    @property
    def equations(self) -> int:
        return self.kernel.shape[0]

    @property
    def theta_size(self) -> int:
        return self.kernel.shape[1]

    def local_data_weights(self) -> np.ndarray:
        """Row sums of N for this rank's rows (the lumped data metric)."""
        rows = self.spatial_layout.local_slice
        return np.asarray(self.data_gram[rows].sum(axis=1)).ravel()
