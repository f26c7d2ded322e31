"""The outer update SR3 and FISTA share: apg's (O'Donoghue's, the thesis' ref. [94])
Nesterov extrapolation and its stopping measure."""
from __future__ import annotations

import math


def next_momentum(theta: float) -> float:
    """theta_{k+1} = 2 / (1 + sqrt(1 + 4 / theta_k^2)), theta_0 = 1; the extrapolation
    weight of the new point is 1 - theta_{k+1}."""
    return 2.0 / (1.0 + math.sqrt(1.0 + 4.0 / theta ** 2))


def extrapolate(point, new, previous, theta: float, accelerate: bool) -> tuple[float, float]:
    """After a prox step from ``point`` (v) to ``new`` (w), with ``previous`` the last w:
    v <- w + (1 - theta') (w - w_previous) (v <- w without ``accelerate``), previous <- w.
    Returns (theta', ||v - w|| / max(1, ||w||) measured before the update), the relative
    change apg stops on.  ``new`` is left unchanged."""
    difference = point.copy()
    difference.axpy(-1.0, new)
    change = difference.norm() / max(1.0, new.norm())
    difference.destroy()
    theta = next_momentum(theta) if accelerate else 1.0
    new.copy(point)
    point.scale(2.0 - theta)
    point.axpy(theta - 1.0, previous)
    new.copy(previous)
    return theta, change
