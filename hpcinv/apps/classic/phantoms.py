"""True images of the classic 2-D problems, as functions of coordinates."""
from __future__ import annotations

import numpy as np

# The modified Shepp-Logan head phantom (Toft's higher-contrast intensities, as in MATLAB's
# phantom, IR Tools and scikit-image): value, semi-axes a (along x) and b (along y), centre
# (x0, y0), rotation in degrees, on the square [-1, 1]^2.
_MODIFIED_SHEPP_LOGAN = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def shepp_logan(x, y) -> np.ndarray:
    """The modified Shepp-Logan phantom at points (x, y) of [-1, 1]^2 (y upwards): the sum of
    the values of the ellipses containing each point (boundaries included)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    image = np.zeros(np.broadcast(x, y).shape)
    for value, a, b, x0, y0, degrees in _MODIFIED_SHEPP_LOGAN:
        cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        u = (x - x0) * cos + (y - y0) * sin        # along the ellipse's a axis
        v = (y - y0) * cos - (x - x0) * sin        # along its b axis
        image += value * ((u / a) ** 2 + (v / b) ** 2 <= 1)
    return image


# Three Gaussian blobs on the unit square: centre (axis 0, axis 1), amplitude, width.  Smooth
# and nearly zero on the boundary, so the Dirichlet Laplacian suits it.
_BLOBS = ((0.3, 0.3, 1.0, 0.1), (0.6, 0.7, 0.8, 0.12), (0.8, 0.3, 0.5, 0.08))


def gaussian_blobs(z, x) -> np.ndarray:
    """The smooth cross-well test image at points (z, x) of the unit square."""
    z, x = np.asarray(z, dtype=float), np.asarray(x, dtype=float)
    return sum(amplitude * np.exp(-0.5 * ((z - z0) ** 2 + (x - x0) ** 2) / width ** 2)
               for z0, x0, amplitude, width in _BLOBS)
