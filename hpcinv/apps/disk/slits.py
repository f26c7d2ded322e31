"""The kernel of a long slit at any angle (Pichon & Thiebaut 1997, Appendix C, re-derived).

Convention: the inclination i is the angle between the disk's axis and the line of sight
(i = 0 face-on, i = 90 edge-on); alpha is the slit's angle on the sky from the projected
major axis; both in degrees.  With x along the line of nodes and y in the disk plane, the
sky shows (x, y cos i) and the line of sight sees v_los = v_y sin i.  The slit at radius R
(on the sky) therefore samples the disk at azimuth beta and intrinsic radius r with

    tan beta = tan alpha / cos i,    r = R sqrt(cos^2 alpha + sin^2 alpha / cos^2 i),

where the paper prints sin i in place of cos i.  The observable is F_alpha(R, v_par) =
int f(eps, h) dv_perp over the bound orbits, with v_par = v_los / sin i = v_y =
v_R sin beta + v_phi cos beta (so alpha = 0 gives v_par = v_phi, Eq. 2) and v_perp = v_x =
v_R cos beta - v_phi sin beta, the in-plane velocity the line of sight does not see: an
integral along a straight line of the (v_R, v_phi) plane, where

    eps = (v_par^2 + v_perp^2) / 2 - psi(r),    h = r (v_par cos beta - v_perp sin beta).

The LOSVD in v_los is F_alpha(R, v_los / sin i) / sin i up to the mass-to-light ratio.
Since f(eps, h) is even in v_R, the slit's side of the major axis (the sign of alpha) and the
sign of v_perp do not matter; the other half of the slit maps by (R, v_par) -> (-R, -v_par).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ...core.errors import ArgumentError
from .grid import DistributionGrid
from .kernel import assemble_rows, check_points, major_axis_rows
from .potential import Potential

# Gauss-Legendre nodes per segment of the line on which the integrand is smooth (the
# segments end at the h-node and eta-node crossings), odd so that the middle node names the
# segment's cell.
_GAUSS_NODES = 5
# Points per block: bounds the memory of the ragged per-point arrays.
_POINT_CHUNK = 256
# Golden-section steps: 0.618^60 ~ 3e-13 of the bracket, below what a flat minimum resolves.
_GOLDEN_STEPS = 60
# Illinois (regula falsi) steps and tolerance, in units of d_eta, on an eta-node crossing.
_ROOT_STEPS = 60
_ROOT_TOLERANCE = 1e-11


def slit_geometry(alpha: float, inclination: float) -> tuple:
    """(beta, r / R) in radians and a ratio for the slit at ``alpha`` of a disk at
    ``inclination`` (degrees); r / R is inf where the slit misses an edge-on disk."""
    alpha, inclination = _check_angles(alpha, inclination)
    a = math.radians(alpha)
    # cos(radians(90)) is 6e-17, not 0: an edge-on disk is exactly a line on the sky.
    cos_i = 0.0 if inclination == 90.0 else math.cos(math.radians(inclination))
    if alpha == 0.0:
        return 0.0, 1.0
    if cos_i == 0.0:
        return math.pi / 2, math.inf
    return math.atan2(math.sin(a), math.cos(a) * cos_i), math.hypot(math.cos(a),
                                                                     math.sin(a) / cos_i)


def _check_angles(alpha, inclination) -> tuple:
    for name, value, valid in (("alpha", alpha, lambda x: 0.0 <= x <= 90.0),
                               ("inclination", inclination, lambda x: 0.0 < x <= 90.0)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or not valid(value)):
            bounds = "[0, 90]" if name == "alpha" else "(0, 90]"
            raise ArgumentError(name, f"must be a number of degrees in {bounds}, got "
                                      f"{value!r}")
    return float(alpha), float(inclination)


def slit_rows(potential: Potential, grid: DistributionGrid, radii, velocities, alpha: float,
              inclination: float):
    """The kernel rows (points x grid.size, CSR) of F_alpha(R, v_par) (module docstring),
    one row per point (radii[i], velocities[i] = v_par); rows of points with no bound orbit
    or whose line misses the h grid are empty.  Gauss-Legendre on the pieces of each line
    between its h-node and eta-node crossings: each entry to about 1e-10."""
    radii, velocities = check_points(radii, velocities)
    beta, stretch = slit_geometry(alpha, inclination)
    if beta == 0.0:
        return major_axis_rows(potential, grid, radii, velocities)
    shape = (radii.size, grid.size)
    # At the centre h = 0 along the whole line and every direction is the major axis.
    centre = np.flatnonzero(radii == 0.0)
    blocks = [_relabelled(major_axis_rows(potential, grid, radii[centre],
                                          velocities[centre]), centre)]
    if math.isfinite(stretch):
        off_centre = np.flatnonzero(radii > 0.0)
        line = _Line(potential, grid, beta, radii[off_centre] * stretch,
                     velocities[off_centre])
        blocks += [line.triplets(off_centre, start, start + _POINT_CHUNK)
                   for start in range(0, off_centre.size, _POINT_CHUNK)]
    return assemble_rows(blocks, shape)


def _relabelled(matrix, rows) -> tuple:
    coo = matrix.tocoo()
    return rows[coo.row], coo.col, coo.data


class _Line:
    """The quadrature of the hats u_k(eta) v_l(h) along the lines v_par = w_p of the
    (v_perp = t, v_par) plane at intrinsic radii r_p > 0, for beta > 0.

    h is affine in t, so the h-node crossings are explicit; eps_min(h) is concave on each
    side of h = 0 (Omega = d eps_min / dh falls outward), so eta(t) is quasiconvex there:
    split at h = 0 and at each side's minimum of eta, every piece is monotone in eta and
    its eta-node crossings are bracketed roots."""

    def __init__(self, potential, grid, beta, r, w):
        self.potential, self.grid = potential, grid
        self.w, self.psi = w, potential.psi(r)
        self.centre_h, self.slope = r * math.cos(beta) * w, r * math.sin(beta)   # h = c - s t
        self.d_eta = grid.spacing[0]

    def levels(self, point, t):
        """eta / d_eta at parameters t of the lines of ``point``."""
        h = self.centre_h[point] - self.slope[point] * t
        eps = 0.5 * (self.w[point] ** 2 + t * t) - self.psi[point]
        eta = 1.0 - eps / self.potential.minimum_energy(h)
        return np.clip(eta, 0.0, 1.0) / self.d_eta

    def triplets(self, rows, start, stop) -> tuple:
        point = np.arange(start, min(stop, rows.size))
        point, lower, upper = self._grid_span(point)
        owner, t = self._breakpoints(point, lower, upper)
        owner, t = self._with_eta_crossings(point, owner, t)
        return self._integrate(rows, point, owner, t)

    def _grid_span(self, point):
        """The bound part of each line (eps < 0: |t| < sqrt(2 psi - w^2)) within the h grid."""
        span = 2.0 * self.psi[point] - self.w[point] ** 2
        reach = np.sqrt(np.maximum(span, 0.0))
        nodes = self.grid.h
        c, s = self.centre_h[point], self.slope[point]
        lower = np.maximum(-reach, (c - nodes[-1]) / s)
        upper = np.minimum(reach, (c - nodes[0]) / s)
        keep = (span > 0.0) & (lower < upper)
        return point[keep], lower[keep], upper[keep]

    def _breakpoints(self, point, lower, upper) -> tuple:
        """(owner, t), sorted, with owner indexing ``point``: the ends, h = 0, the h nodes
        and the minimum of eta on each side of h = 0."""
        nodes = self.grid.h
        c, s = self.centre_h[point], self.slope[point]
        zero = np.clip(c / s, lower, upper)
        first = np.searchsorted(nodes, c - s * upper, side="right")
        count = np.maximum(np.searchsorted(nodes, c - s * lower, side="left") - first, 0)
        owner, offset = _ragged(count)
        crossing = (c[owner] - nodes[first[owner] + offset]) / s[owner]
        minima = [self._golden_minimum(point, lower, zero),
                  self._golden_minimum(point, zero, upper)]
        owners = np.concatenate([np.tile(np.arange(point.size), 5), owner])
        t = np.concatenate([lower, upper, zero, *minima, crossing])
        return _sorted(owners, t)

    def _golden_minimum(self, point, lower, upper):
        """The minimiser of the (quasiconvex) eta on [lower, upper] of each line."""
        ratio = (math.sqrt(5.0) - 1.0) / 2.0
        inner_low = upper - ratio * (upper - lower)
        inner_high = lower + ratio * (upper - lower)
        value_low, value_high = self.levels(point, inner_low), self.levels(point, inner_high)
        for _ in range(_GOLDEN_STEPS):
            left = value_low < value_high    # the minimum lies in [lower, inner_high]
            lower = np.where(left, lower, inner_low)
            upper = np.where(left, inner_high, upper)
            kept, kept_value = (np.where(left, inner_low, inner_high),
                                np.where(left, value_low, value_high))
            probe = np.where(left, upper - ratio * (upper - lower),
                             lower + ratio * (upper - lower))
            value = self.levels(point, probe)
            inner_low, value_low = np.where(left, probe, kept), np.where(left, value, kept_value)
            inner_high, value_high = (np.where(left, kept, probe),
                                      np.where(left, kept_value, value))
        return 0.5 * (lower + upper)

    def _with_eta_crossings(self, point, owner, t) -> tuple:
        """Adds the parameters where eta crosses a node inside a piece (eta is monotone
        on each piece, so each crossing is bracketed by the piece's ends)."""
        q = self.levels(point[owner], t)
        piece = np.flatnonzero((owner[:-1] == owner[1:]) & (t[1:] > t[:-1]))
        q_a, q_b = q[piece], q[piece + 1]
        first = np.floor(np.minimum(q_a, q_b)).astype(int) + 1
        count = np.maximum(np.ceil(np.maximum(q_a, q_b)).astype(int) - first, 0)
        which, offset = _ragged(count)
        level = first[which] + offset
        ends = piece[which]
        roots = self._roots(point[owner[ends]], t[ends], t[ends + 1], q[ends] - level,
                            q[ends + 1] - level, level)
        return _sorted(np.concatenate([owner, owner[ends]]), np.concatenate([t, roots]))

    def _roots(self, point, a, b, g_a, g_b, level):
        """The roots of levels(t) = level bracketed by [a, b] (Illinois regula falsi)."""
        root = np.empty_like(a)
        active = np.arange(a.size)
        for _ in range(_ROOT_STEPS):
            guess = b - g_b * (b - a) / (g_b - g_a)
            g_guess = self.levels(point, guess) - level
            done = np.abs(g_guess) <= _ROOT_TOLERANCE
            root[active[done]] = guess[done]
            same_side = np.sign(g_guess) == np.sign(g_b)
            # Illinois: halving the stale end's value keeps the bracket from stalling.
            a, g_a = np.where(same_side, a, b), np.where(same_side, 0.5 * g_a, g_b)
            b, g_b = guess, g_guess
            active, point, level, a, b, g_a, g_b = (
                x[~done] for x in (active, point, level, a, b, g_a, g_b))
            if active.size == 0:
                break
        root[active] = b
        return root

    def _integrate(self, rows, point, owner, t) -> tuple:
        """Gauss-Legendre on every segment between consecutive parameters: the bilinear
        weights of its cell (named by its middle node) at each node."""
        segment = np.flatnonzero((owner[:-1] == owner[1:]) & (t[1:] > t[:-1]))
        line = point[owner[segment]]
        half = 0.5 * (t[segment + 1] - t[segment])
        x, weight = np.polynomial.legendre.leggauss(_GAUSS_NODES)
        nodes_t = (0.5 * (t[segment + 1] + t[segment]))[:, None] + half[:, None] * x
        q = self.levels(line[:, None], nodes_t)
        h = self.centre_h[line][:, None] - self.slope[line][:, None] * nodes_t
        K, L = self.grid.shape
        middle = _GAUSS_NODES // 2
        eta_cell = np.clip(np.floor(q[:, middle]).astype(int), 0, K - 2)
        h_nodes, d_h = self.grid.h, self.grid.spacing[1]
        h_cell = np.clip(np.floor((h[:, middle] - h_nodes[0]) / d_h).astype(int), 0, L - 2)
        eta_upper = q - eta_cell[:, None]
        h_upper = (h - h_nodes[h_cell][:, None]) / d_h
        weights = half[:, None] * weight
        corners = [((1 - eta_upper) * (1 - h_upper), 0, 0), ((1 - eta_upper) * h_upper, 0, 1),
                   (eta_upper * (1 - h_upper), 1, 0), (eta_upper * h_upper, 1, 1)]
        values = np.stack([np.sum(weights * basis, axis=1) for basis, _, _ in corners])
        columns = np.stack([(eta_cell + dk) * L + h_cell + dl for _, dk, dl in corners])
        return np.broadcast_to(rows[line], columns.shape), columns, values


def _ragged(count) -> tuple:
    """(owner, offset) of the flattened groups of sizes ``count``."""
    owner = np.repeat(np.arange(count.size), count)
    starts = np.repeat(np.cumsum(count) - count, count)
    return owner, np.arange(owner.size) - starts


def _sorted(owner, t) -> tuple:
    order = np.lexsort((t, owner))
    return owner[order], t[order]
