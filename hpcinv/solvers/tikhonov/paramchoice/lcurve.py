"""The corner of the L-curve (log ||A x_lambda - b||, log ||L x_lambda||): the lambda of its
largest curvature (Hansen & O'Leary 1993), on any spectral model.

The curvature of a curve (x(t), y(t)) is (x' y'' - x'' y') / (x'^2 + y'^2)^(3/2) whatever the
parameter; with t = log lambda and central differences of the smooth, O(k)-cheap model
functions, no closed form for the derivatives is needed.  Its sign is chosen so that the
corner, where the curve turns from the steep (under-regularized) to the flat
(over-regularized) branch, is a maximum.
"""
from __future__ import annotations

import math

import numpy as np

from .functionals import GRID_POINTS, SpectralModel, minimise_on_log_grid

_STEP = 1e-3   # central-difference step in log lambda


def lcurve_curvature(model: SpectralModel, lam: float) -> float:
    """Curvature of the L-curve at ``lam`` (positive at the corner)."""
    t = math.log(lam)

    def point(shift):
        value = math.exp(t + shift)
        return (0.5 * math.log(model.residual_norm2(value)),
                0.5 * math.log(model.solution_norm2(value)))

    (x0, y0), (x1, y1), (x2, y2) = point(-_STEP), point(0.0), point(_STEP)
    dx, dy = (x2 - x0) / (2 * _STEP), (y2 - y0) / (2 * _STEP)
    ddx, ddy = (x2 - 2 * x1 + x0) / _STEP ** 2, (y2 - 2 * y1 + y0) / _STEP ** 2
    return (dx * ddy - ddx * dy) / (dx * dx + dy * dy) ** 1.5


def lcurve_corner(model: SpectralModel, bounds: tuple[float, float] | None = None,
                  points: int = GRID_POINTS) -> float | None:
    """The lambda of maximum curvature in ``bounds`` (default: the model's singular-value
    range); None when the curvature has no interior maximum there."""
    bounds = bounds or model.default_bounds()
    return minimise_on_log_grid(lambda lam: -lcurve_curvature(model, lam), bounds, points)


def lcurve_points(model: SpectralModel, lambdas) -> np.ndarray:
    """(||A x - b||, ||L x||) at each lambda, for plotting the curve."""
    return np.array([(math.sqrt(model.residual_norm2(lam)), math.sqrt(model.solution_norm2(lam)))
                     for lam in lambdas])
