"""Random vectors that do not depend on how many ranks hold them.

Each block of ``CHUNK`` entries has its own stream seeded by (seed, block index), so a rank
draws only the blocks overlapping its rows and 1-rank and P-rank runs see the same numbers.
(PETSc's VecSetRandom depends on the layout; numpy alone knows nothing of ranks.)
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 16


def normal_slice(seed: int, start: int, stop: int) -> np.ndarray:
    """Entries [start, stop) of the standard-normal sequence number ``seed``."""
    return _slice(seed, start, stop, "standard_normal")


def uniform_slice(seed: int, start: int, stop: int) -> np.ndarray:
    """Entries [start, stop) of the uniform [0, 1) sequence number ``seed``."""
    return _slice(seed, start, stop, "random")


def _slice(seed: int, start: int, stop: int, distribution: str) -> np.ndarray:
    out = np.empty(stop - start)
    for block in range(start // CHUNK, (stop - 1) // CHUNK + 1 if stop > start else 0):
        lo, hi = max(start, block * CHUNK), min(stop, (block + 1) * CHUNK)
        # A stream's first draws do not depend on how many are asked for: drawing up to hi
        # only (not the whole chunk) gives the same numbers, at a fraction of the cost for
        # the short vectors of a randomized SVD's test matrix.
        draws = getattr(np.random.default_rng([seed, block]), distribution)(hi - block * CHUNK)
        out[lo - start:hi - start] = draws[lo - block * CHUNK:hi - block * CHUNK]
    return out


def fill_normal(vec, seed: int):
    """Fill a distributed Vec with standard-normal entries independent of the layout."""
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = normal_slice(seed, start, stop)
    return vec
