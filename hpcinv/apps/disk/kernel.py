"""The kernel a of the major-axis forward model F = a f (Pichon & Thiebaut 1997, Eqs. 47-50):
a_{ij,kl} = v_l(R_i v_j) sqrt(-2 eps_min) int_{eta_c}^1 u_k(eta) / sqrt(eta - eta_c) d eta,
with eps_min = eps_min(R_i v_j) and eta_c = 1 + Y / eps_min, Y = psi(R_i) - v_j^2 / 2; the
eta integrals are the closed forms alpha'_k, alpha''_k of Appendix A."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...core.errors import ArgumentError, check_count
from .grid import DistributionGrid
from .potential import Potential

# Rows per dense (rows, K) block of eta integrals: bounds the memory of a block.
ROW_CHUNK = 4096


def eta_integrals(eta_c, eta_nodes: int) -> np.ndarray:
    """The (len(eta_c), K) array of int_{eta_c}^1 u_k(eta) / sqrt(eta - eta_c) d eta for the
    hats u_k on the nodes eta_k = k / (K - 1), K = ``eta_nodes``."""
    K = check_count("eta_nodes", eta_nodes, minimum=2)
    c = np.asarray(eta_c, dtype=float)
    if c.ndim != 1 or not np.all((c >= 0.0) & (c <= 1.0)):
        raise ArgumentError("eta_c", "must be a 1-D array of values in [0, 1]")
    d_eta = 1.0 / (K - 1)
    left = np.linspace(0.0, 1.0, K)[None, :-1]    # cell j = [eta_j, eta_{j+1}]
    right = left + d_eta
    c = c[:, None]
    # The part of each cell above eta_c; an empty cell has lower == upper == eta_c.
    lower = np.maximum(left, c)
    upper = np.maximum(right, lower)
    root_lower, root_upper = np.sqrt(lower - c), np.sqrt(upper - c)
    scale = 2.0 / (3.0 * d_eta)
    # alpha'_{j+1}: the rising half of hat j + 1 on cell j; alpha''_j: the falling half of hat j.
    rising = scale * (root_upper * (upper - 3.0 * left + 2.0 * c)
                      - root_lower * (lower - 3.0 * left + 2.0 * c))
    falling = scale * (root_upper * (3.0 * right - upper - 2.0 * c)
                       - root_lower * (3.0 * right - lower - 2.0 * c))
    integrals = np.zeros((c.shape[0], K))
    integrals[:, 1:] += rising
    integrals[:, :-1] += falling
    return integrals


def check_points(radii, velocities) -> tuple:
    """The data points as two equal-length 1-D float arrays, radii >= 0."""
    radii, velocities = np.asarray(radii, dtype=float), np.asarray(velocities, dtype=float)
    if radii.ndim != 1 or velocities.shape != radii.shape:
        raise ArgumentError("velocities", f"radii and velocities must be 1-D arrays of one "
                                          f"length, got shapes {radii.shape} and "
                                          f"{velocities.shape}")
    if not np.all(np.isfinite(radii) & (radii >= 0.0)):
        raise ArgumentError("radii", "must be finite and >= 0 (the far side of the centre "
                                     "maps to (R, v) -> (-R, -v))")
    if not np.all(np.isfinite(velocities)):
        raise ArgumentError("velocities", "must be finite")
    return radii, velocities


def h_weights(grid: DistributionGrid, h) -> tuple:
    """The two hats v_l, v_{l+1} nonzero at each h: (l, weight of l, weight of l + 1), zero
    weights where h lies outside [h_0, h_{L-1}]."""
    nodes = grid.h
    d_h = grid.spacing[1]
    h = np.asarray(h, dtype=float)
    cell = np.clip(np.floor((h - nodes[0]) / d_h).astype(int), 0, nodes.size - 2)
    upper = np.clip((h - nodes[cell]) / d_h, 0.0, 1.0)
    inside = (h >= nodes[0]) & (h <= nodes[-1])
    return cell, np.where(inside, 1.0 - upper, 0.0), np.where(inside, upper, 0.0)


def major_axis_rows(potential: Potential, grid: DistributionGrid, radii,
                    velocities) -> sp.csr_matrix:
    """The kernel rows (points x grid.size, CSR) of F_phi(R, v) = int f(eps, R v) dv_R over
    the bound region (Eq. 2), one row per point (radii[i], velocities[i]); rows of points
    with no bound orbit (Y <= 0) or with R v outside the h grid are empty."""
    radii, velocities = check_points(radii, velocities)
    h = radii * velocities
    Y = potential.psi(radii) - 0.5 * velocities ** 2
    rows = np.flatnonzero((Y > 0.0) & (h >= grid.h[0]) & (h <= grid.h[-1]))
    blocks = [_major_axis_block(potential, grid, rows[start:start + ROW_CHUNK],
                                h[rows[start:start + ROW_CHUNK]],
                                Y[rows[start:start + ROW_CHUNK]])
              for start in range(0, rows.size, ROW_CHUNK)]
    return assemble_rows(blocks, (radii.size, grid.size))


def _major_axis_block(potential, grid, rows, h, Y) -> tuple:
    eps_min = potential.minimum_energy(h)
    # -Y >= eps_min mathematically; the clip absorbs rounding at the circular velocity.
    eta_c = np.clip(1.0 + Y / eps_min, 0.0, 1.0)
    radial = np.sqrt(-2.0 * eps_min)[:, None] * eta_integrals(eta_c, grid.shape[0])
    cell, lower, upper = h_weights(grid, h)
    L = grid.shape[1]
    k = np.arange(grid.shape[0])[None, :]
    columns = np.stack([k * L + cell[:, None], k * L + cell[:, None] + 1])
    values = np.stack([radial * lower[:, None], radial * upper[:, None]])
    return np.broadcast_to(rows[:, None], columns.shape), columns, values


def assemble_rows(blocks, shape) -> sp.csr_matrix:
    """CSR from (rows, columns, values) triplet blocks, duplicates summed and exact zeros
    dropped."""
    if not blocks:
        return sp.csr_matrix(shape)
    rows, columns, values = (np.concatenate([block[n].ravel() for block in blocks])
                             for n in range(3))
    keep = values != 0.0
    matrix = sp.coo_matrix((values[keep], (rows[keep], columns[keep])), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix
