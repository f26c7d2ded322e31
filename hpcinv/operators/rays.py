"""Straight-ray matrices on a regular 2-D grid: entry (i, j) is the length of segment i
inside cell j (the "line model" of AIR Tools' seismictomo and paralleltomo).

Written by hand (Siddon's algorithm, vectorised over rays with numpy) because no maintained
Python library packaged for Debian builds this sparse matrix: scikit-image's radon returns
interpolated sinograms, not the line model's matrix, and the toolkits that build projection
matrices (ASTRA, TIGRE) are not packaged.

Coordinates follow the grid's axes: a point is (axis-0 coordinate, axis-1 coordinate), and
cell (i0, i1) of the C-ordered grid is column i0 * n1 + i1.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..linalg.operator import MatOperator
from ..linalg.dense import aij_matrix
from ..linalg.layout import Layout

# Crossings of two grid lines at one point (a ray through a cell corner) come out as two
# parameters a rounding error apart; pieces shorter than this fraction of a cell are those.
_NEGLIGIBLE = 1e-10
# Rays are traced in chunks whose crossing arrays hold about this many entries.
_CHUNK_ENTRIES = 1 << 20


def _checked(segments, grid_shape, lower, upper):
    segments = np.asarray(segments, dtype=float)
    if segments.ndim != 3 or segments.shape[1:] != (2, 2):
        raise ValueError(f"segments: expected shape (rays, 2, 2) (two end points of two "
                         f"coordinates), got {segments.shape}")
    if not np.isfinite(segments).all():
        raise ValueError("segments: end points must be finite")
    shape = tuple(int(n) for n in grid_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"grid_shape: expected two positive sizes, got {tuple(grid_shape)}")
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lower.shape != (2,) or upper.shape != (2,) or not (upper > lower).all():
        raise ValueError(f"lower, upper: expected two corners with upper > lower, got "
                         f"{lower.tolist()} and {upper.tolist()}")
    return segments, shape, lower, upper


def _trace(segments, shape, lower, upper):
    """(ray, cell, length) of every piece of the rays between consecutive grid crossings."""
    extent = upper - lower
    spacing = extent / np.array(shape)
    origin = segments[:, 0, :]
    direction = segments[:, 1, :] - origin
    # Siddon: the ray is origin + a * direction, a in [0, 1]; the parameters where it
    # crosses grid lines, merged and sorted, cut it into pieces that each lie in one cell.
    crossings = [np.zeros((len(segments), 1)), np.ones((len(segments), 1))]
    for axis in (0, 1):
        lines = lower[axis] + spacing[axis] * np.arange(shape[axis] + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = (lines - origin[:, axis, None]) / direction[:, axis, None]
        # A ray parallel to these lines never crosses them: its parameters become 0, which
        # adds only empty pieces.
        crossings.append(np.clip(np.where(np.isfinite(a), a, 0.0), 0.0, 1.0))
    a = np.sort(np.hstack(crossings), axis=1)
    middle = 0.5 * (a[:, 1:] + a[:, :-1])
    length = (a[:, 1:] - a[:, :-1]) * np.hypot(direction[:, 0], direction[:, 1])[:, None]
    keep = length > _NEGLIGIBLE * spacing.min()
    cell = np.zeros(middle.shape, dtype=np.int64)
    for axis in (0, 1):
        offset = (origin[:, axis, None] + middle * direction[:, axis, None] - lower[axis])
        keep &= (offset >= 0) & (offset <= extent[axis])
        # A piece on a grid line counts for the cell after it (the last cell at the box's
        # upper edge), like AIR Tools' floor of the midpoint.
        index = np.minimum(np.floor(offset / spacing[axis]), shape[axis] - 1)
        cell = cell * shape[axis] + np.where(keep, index, 0).astype(np.int64)
    ray = np.broadcast_to(np.arange(len(segments))[:, None], middle.shape)
    return ray[keep], cell[keep], length[keep]


def ray_matrix_rows(segments, grid_shape, lower, upper, start: int, stop: int) -> sp.csr_matrix:
    """Rows [start, stop) of the ray matrix: the lengths of segments[start:stop] inside the
    cells of the ``grid_shape`` grid on the box [lower, upper].

    ``segments`` has shape (rays, 2, 2): two end points per ray, each (axis 0, axis 1).
    Parts of a segment outside the box contribute nothing.
    """
    segments, shape, lower, upper = _checked(segments, grid_shape, lower, upper)
    if not 0 <= start <= stop <= len(segments):
        raise ValueError(f"start, stop: need 0 <= start <= stop <= {len(segments)}, got "
                         f"{start}, {stop}")
    chunk = max(1, _CHUNK_ENTRIES // (sum(shape) + 4))
    rays, cells, lengths = [], [], []
    for first in range(start, stop, chunk):
        ray, cell, length = _trace(segments[first:min(stop, first + chunk)], shape, lower,
                                   upper)
        rays.append(ray + first - start)
        cells.append(cell)
        lengths.append(length)
    if not rays:
        return sp.csr_matrix((0, shape[0] * shape[1]))
    return sp.csr_matrix((np.concatenate(lengths), (np.concatenate(rays), np.concatenate(cells))),
                         shape=(stop - start, shape[0] * shape[1]))


def ray_operator(comm, segments, grid_shape, lower, upper) -> MatOperator:
    """The ray matrix of ``segments`` on the grid as a distributed AIJ matrix, its rows (rays)
    split across ranks like the data vector."""
    segments, shape, lower, upper = _checked(segments, grid_shape, lower, upper)
    layout = Layout.default(comm, len(segments))
    rows = ray_matrix_rows(segments, shape, lower, upper, layout.start, layout.stop)
    return MatOperator(aij_matrix(comm, (len(segments), shape[0] * shape[1]), rows,
                                  node_kernels=False))
