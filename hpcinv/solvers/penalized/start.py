"""Where penalised-likelihood iterations start: the constant f that best fits the data."""
from __future__ import annotations


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
