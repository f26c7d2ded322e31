"""The (eta, h) grid of the unknown f_hat(eta, h) = sum_kl f_kl u_k(eta) v_l(h) (Pichon &
Thiebaut 1997, Appendix A): hat functions on K uniform eta nodes spanning [0, 1] and on L
uniform h nodes tiling the half-open [h_min, h_max).  f_hat is the bilinear interpolant of
the nodal values on [0, 1] x [h_0, h_{L-1}] and zero outside (the end hats are halves)."""
from __future__ import annotations

import math

import numpy as np

from ...core.errors import ArgumentError, check_count

# A node counts as h = 0 when it lies within this fraction of the spacing from it.
_ZERO_TOLERANCE = 1e-12


class DistributionGrid:
    """Nodes eta_k = k / (K - 1) and h_l = h_min + l (h_max - h_min) / L; the unknown vector
    is the (K, L) array of nodal values in C order (index k L + l)."""

    def __init__(self, eta_nodes: int, h_nodes: int, h_min: float = -2.0, h_max: float = 3.0):
        self._K = check_count("eta_nodes", eta_nodes, minimum=2)
        self._L = check_count("h_nodes", h_nodes, minimum=2)
        if not (math.isfinite(h_min) and math.isfinite(h_max) and h_min < h_max):
            raise ArgumentError("h_min", f"must be finite and < h_max, got h_min={h_min!r}, "
                                         f"h_max={h_max!r}")
        self.h_min, self.h_max = float(h_min), float(h_max)
        d_h = (self.h_max - self.h_min) / self._L
        self._h = self.h_min + d_h * np.arange(self._L)
        self._zero_index = self._find_zero(self._h, d_h)
        if self._zero_index is not None:
            # Exactly 0, so that h = R v = 0 (the centre, radial orbits) weighs one node only.
            self._h[self._zero_index] = 0.0

    @staticmethod
    def _find_zero(h: np.ndarray, d_h: float):
        index = int(np.argmin(np.abs(h)))
        return index if abs(h[index]) <= _ZERO_TOLERANCE * d_h else None

    @property
    def shape(self) -> tuple:
        return (self._K, self._L)

    @property
    def size(self) -> int:
        return self._K * self._L

    @property
    def eta(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self._K)

    @property
    def h(self) -> np.ndarray:
        return self._h.copy()

    @property
    def spacing(self) -> tuple:
        """(d_eta, d_h)."""
        return (1.0 / (self._K - 1), (self.h_max - self.h_min) / self._L)

    @property
    def zero_index(self):
        """The index l of the node at h = 0, or None."""
        return self._zero_index

    @property
    def cuts(self) -> tuple:
        """``((axis, index),)``: the smoothing couplings between nodes index - 1 and index
        along ``axis`` (1, the h axis) that are cut, because f_hat has a cusp at h = 0 (the
        kink of eps_min(h)); ``()`` when no pair of nodes straddles or starts at h = 0."""
        if self._zero_index is not None:
            index = self._zero_index
        else:
            index = int(np.searchsorted(self._h, 0.0, side="right"))
        return ((1, index),) if 0 < index < self._L else ()
