"""Where penalised-likelihood iterations start (the constant f that best fits the data) and
the positive floor they keep f above."""
from __future__ import annotations

import numpy as np


def constant_start(operator, data):
    """(f0, c): f0 = c 1 with c = argmin ||A (c 1) - b|| (collective).  A positive start is
    what the negentropy penalties and the f^nu metrics need; when the data do not
    correlate positively with A 1 (no positive constant fits), c = ||b|| / ||A 1||."""
    ones, image = operator.create_vecs()
    ones.set(1.0)
    operator.mult(ones, image)
    energy = image.dot(image)
    if not energy > 0:
        raise ValueError("operator: A 1 = 0, so no positive constant start exists (every "
                         "column of A is empty or they cancel)")
    level = image.dot(data) / energy
    if not level > 0:
        level = data.norm() / energy ** 0.5
    if not level > 0:
        raise ValueError("data: all zero, nothing to fit")
    ones.scale(level)
    return ones, level


def floored_start(operator, data, relative_floor: float, initial=None):
    """(f0, floor): a copy of ``initial`` (default the constant start) raised to the floor,
    ``relative_floor`` times the constant start's level (so it scales with the data)."""
    start, level = constant_start(operator, data)
    floor = relative_floor * level
    f = start if initial is None else initial.copy()
    if initial is not None:
        start.destroy()
    clip_to_floor(f, floor)
    return f, floor


def clip_to_floor(f, floor: float) -> None:
    """f = max(f, floor) in place (each rank its own entries)."""
    array = f.getArray()
    np.maximum(array, floor, out=array)
