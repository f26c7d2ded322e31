"""The noise of the classic synthetic problems: Gaussian, of a given relative norm."""
from __future__ import annotations

from ...operators.random import normal_slice


def add_relative_noise(data, level: float, seed: int) -> float:
    """Add e to the Vec ``data`` in place, with ||e|| = level ||data|| and the direction of
    the standard-normal sequence ``seed`` (the same on any number of ranks); return ||e||."""
    if level < 0:
        raise ValueError(f"level: the relative noise must be >= 0, got {level}")
    start, stop = data.getOwnershipRange()
    noise = data.duplicate()
    noise.getArray()[:] = normal_slice(seed, start, stop)
    norm = level * data.norm()
    noise.scale(norm / noise.norm())
    data.axpy(1.0, noise)
    noise.destroy()
    return norm
