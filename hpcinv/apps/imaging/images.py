"""True images of the imaging problems, evaluated on any rows so each rank fills its slab.

``geometric_pattern`` stands in for IR Tools' 'pattern1' (a "geometrical image" whose exact
shapes the paper does not pin down); it is defined on continuous coordinates, so the same
scene can be sampled on a padded grid for data without the inverse crime.  ``star_field``
stands in for RestoreTools' Star Cluster: point sources at seeded positions with a power-law
brightness distribution, as the paper's log plots show.
"""
from __future__ import annotations

import numpy as np


def geometric_pattern(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Piecewise-constant shapes on the unit square scaled to n pixels, at pixel centres
    (rows, cols) (any integers: values outside [0, n) continue the scene beyond the field,
    where a bar and a disk cross the border)."""
    y = (rows[:, None] + 0.5) / n
    x = (cols[None, :] + 0.5) / n
    image = np.zeros((rows.size, cols.size))
    image += 1.0 * ((y > 0.12) & (y < 0.38) & (x > 0.10) & (x < 0.30))          # square
    image += 0.8 * ((y - 0.28) ** 2 + (x - 0.65) ** 2 < 0.14 ** 2)              # disk
    ring = np.hypot(y - 0.70, x - 0.30)
    image += 0.6 * ((ring > 0.09) & (ring < 0.16))                               # ring
    image += 0.9 * ((y > 0.55) & (y < 0.90) & (x - 0.55 > 0.9 - y) & (x < 0.85))  # triangle
    image += 0.5 * ((np.abs(y - x + 0.45) < 0.03) & (y > -0.2) & (y < 0.35))     # bar to the edge
    image += 0.7 * ((y - 1.02) ** 2 + (x - 0.5) ** 2 < 0.08 ** 2)                # disk on the edge
    return image


def star_positions(n: int, stars: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, fluxes) of ``stars`` point sources: uniform positions in the central 90%
    and Pareto(1.5) fluxes from 10 up, capped at 1e4 (a few bright, many faint stars)."""
    rng = np.random.default_rng([seed, 257])
    margin = int(0.05 * n)
    rows = rng.integers(margin, n - margin, size=stars)
    cols = rng.integers(margin, n - margin, size=stars)
    fluxes = np.minimum(10.0 * (1.0 + rng.pareto(1.5, size=stars)), 1.0e4)
    return rows, cols, fluxes


def star_field(first_row: int, last_row: int, n: int, stars: int, seed: int) -> np.ndarray:
    """Rows [first_row, last_row) of the n x n star field (stars on one pixel add up)."""
    rows, cols, fluxes = star_positions(n, stars, seed)
    image = np.zeros((last_row - first_row, n))
    mine = (rows >= first_row) & (rows < last_row)
    np.add.at(image, (rows[mine] - first_row, cols[mine]), fluxes[mine])
    return image
