"""The noise of the synthetic problems: of a given norm relative to the noise-free data."""
from __future__ import annotations

from ...linalg.random import normal_slice, uniform_slice

DISTRIBUTIONS = {"gaussian": normal_slice, "uniform": uniform_slice}


def add_relative_noise(data, level: float, seed: int, distribution: str = "gaussian") -> float:
    """Add e to the Vec ``data`` in place, with ||e|| = level ||data||, and return ||e||.

    The direction of e is sequence ``seed`` of standard-normal draws (``"gaussian"``) or of
    uniform [0, 1) draws (``"uniform"``: MATLAB's ``rand`` scaled, as Ramlau, Soodhalter &
    Hutterer's 10% noise, so e has a positive mean), the same on any number of ranks."""
    if level < 0:
        raise ValueError(f"level: the relative noise must be >= 0, got {level}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}, "
                         f"got {distribution!r}")
    start, stop = data.getOwnershipRange()
    noise = data.duplicate()
    noise.getArray()[:] = DISTRIBUTIONS[distribution](seed, start, stop)
    norm = level * data.norm()
    noise.scale(norm / noise.norm())
    data.axpy(1.0, noise)
    noise.destroy()
    return norm
