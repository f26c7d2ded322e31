"""Separable Gaussian blur on a regular grid, assembled as a distributed PETSc AIJ matrix."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..linalg.dense import aij_matrix
from ..linalg.layout import Layout
from ..linalg.operator import MatOperator


def gaussian_factor(n: int, spacing: float, sigma: float, truncate: float) -> sp.csr_matrix:
    """1-D blur: midpoint-rule quadrature of the unit-mass Gaussian kernel of width ``sigma``,
    zero outside the domain, cut at ``truncate`` standard deviations."""
    bandwidth = min(n - 1, int(np.floor(truncate * sigma / spacing)))
    offsets = np.arange(-bandwidth, bandwidth + 1)
    weights = spacing / (np.sqrt(2 * np.pi) * sigma) * np.exp(-0.5 * (offsets * spacing / sigma) ** 2)
    diagonals = [np.full(n - abs(k), w) for k, w in zip(offsets, weights)]
    return sp.diags(diagonals, offsets, shape=(n, n), format="csr")


def kron_rows(factors: list[sp.csr_matrix], start: int, stop: int) -> sp.csr_matrix:
    """Rows [start, stop) of kron(factors[0], factors[1], ...) without forming the rest."""
    inner = factors[1:]
    inner_size = int(np.prod([f.shape[0] for f in inner])) if inner else 1
    first, last = start // inner_size, (stop - 1) // inner_size + 1
    block = factors[0][first:last]
    for factor in inner:
        block = sp.kron(block, factor, format="csr")
    offset = first * inner_size
    return block[start - offset:stop - offset].tocsr()


def gaussian_blur(comm, grid_shape, spacing, sigma: float, truncate: float = 4.0) -> MatOperator:
    """The blur kron(B_0, ..., B_{d-1}) acting on C-ordered grid vectors, rows split by PETSc."""
    factors = [gaussian_factor(n, h, sigma, truncate) for n, h in zip(grid_shape, spacing)]
    size = int(np.prod(grid_shape))
    layout = Layout.default(comm, size)
    rows = kron_rows(factors, layout.start, layout.stop)
    return MatOperator(aij_matrix(comm, (size, size), rows))
