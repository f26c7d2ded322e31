"""Separable Gaussian smoothing on tensor grids of cells: reduced PNKR's Z_s (Hinterer et al.,
eq. 4.30), which stands in for M^{-1} when the bases are piecewise constants."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _gaussian_band(size: int, width: float) -> sp.csr_matrix:
    reach = min(int(np.ceil(4 * width)), size - 1)
    offsets = np.arange(-reach, reach + 1)
    weights = np.exp(-0.5 * (offsets / width) ** 2)
    weights /= weights.sum()
    return sp.diags([np.full(size - abs(k), w) for k, w in zip(offsets, weights)], offsets,
                    format="csr")


def gaussian_smoothing(size: int, width: float) -> sp.csr_matrix:
    """Gaussian convolution on ``size`` cells, ``width`` (standard deviation) in cells:
    G G^T with G the banded Gaussian of width / sqrt(2) cut off at four of its widths, so Z
    is symmetric positive semi-definite by construction (a truncated Gaussian band alone is
    not, for wide widths) and interior rows sum to one.  Width 0 is the identity."""
    if width == 0:
        return sp.identity(size, format="csr")
    half = _gaussian_band(size, width / np.sqrt(2))
    return (half @ half.T).tocsr()


def separable_smoothing(shape: tuple, width: float) -> sp.csr_matrix:
    """Z_1 (x) Z_2 (x) ... on a C-ordered grid of ``shape`` cells, the same width on every
    axis (in cells)."""
    smoothing = sp.identity(1, format="csr")
    for size in shape:
        smoothing = sp.kron(smoothing, gaussian_smoothing(size, width), format="csr")
    return smoothing
