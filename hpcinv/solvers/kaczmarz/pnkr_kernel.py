"""The one pass over the coefficient matrix that a PNKR step costs.

A step reads U_k and U_{k-1} and writes U_{k+1} = T(U_k + beta (U_k - U_{k-1}) + a b^T);
the next step needs U_{k+1} k and U_k k for its equation's kernel row k.  Written with numpy
these are seven passes over arrays of tens of MB (extrapolate, scale, add, rank-one update,
clip, two products), bound by memory traffic; fused into one loop they are one pass reading
two arrays and writing one.  No library offers this fused operation, hence the hand-written
loop, compiled by numba.
"""
from __future__ import annotations

import numba
import numpy as np


# Reassociation lets the two row sums vectorise; each row is still summed in one fixed order,
# so the result does not depend on how rows are split across ranks.
@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract", "nsz"})
def fused_step(current: np.ndarray, previous: np.ndarray, beta: float, a: np.ndarray,
               b: np.ndarray, positive: bool, following: np.ndarray,
               new_dot: np.ndarray, current_dot: np.ndarray) -> None:
    """Overwrite ``previous`` with T(current + beta (current - previous) + a b^T), where T
    clips at zero when ``positive``; store (new U) @ following in ``new_dot`` and
    current @ following in ``current_dot``."""
    rows, columns = current.shape
    for i in range(rows):
        scale = a[i]
        new_sum = 0.0
        current_sum = 0.0
        for j in range(columns):
            value = current[i, j]
            z = value + beta * (value - previous[i, j]) + scale * b[j]
            if positive and z < 0.0:
                z = 0.0
            previous[i, j] = z
            new_sum += z * following[j]
            current_sum += value * following[j]
        new_dot[i] = new_sum
        current_dot[i] = current_sum
