"""The rank-0 progress line of long runs."""
from __future__ import annotations

import math
import sys
import time


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Prints ``iteration, residual, target, rate, ETA`` at most every ``interval`` seconds.

    The ETA is the smaller of the time to ``max_iterations`` and the time to the discrepancy
    target extrapolated from the recent (log-linear) decrease of the residual.
    """

    def __init__(self, enabled: bool, interval: float, max_iterations: int, stream=None):
        self.enabled = enabled
        self.interval = interval
        self.max_iterations = max_iterations
        self.stream = stream or sys.stderr
        self._last_print = -math.inf
        self._window: list[tuple[int, float, float]] = []

    def update(self, iteration: int, residual: float, target: float, force: bool = False):
        now = time.monotonic()
        self._window = (self._window + [(iteration, residual, now)])[-20:]
        if not self.enabled or (not force and now - self._last_print < self.interval):
            return
        self._last_print = now
        rate, eta = self._estimate(target)
        target_text = f"{target:.3e}" if target > 0 else "-"
        print(f"hpcinv: iter {iteration:6d}  residual {residual:.3e}  target {target_text}  "
              f"rate {rate:7.1f} it/s  ETA {_clock(eta)}", file=self.stream, flush=True)

    def _estimate(self, target: float) -> tuple[float, float]:
        (k0, r0, t0), (k1, r1, t1) = self._window[0], self._window[-1]
        if k1 <= k0 or t1 <= t0:
            return 0.0, math.inf
        rate = (k1 - k0) / (t1 - t0)
        remaining = self.max_iterations - k1
        if target > 0 and 0 < r1 < r0:
            decay_per_iteration = (math.log(r0) - math.log(r1)) / (k1 - k0)
            remaining = min(remaining, max(0.0, (math.log(r1) - math.log(target)) /
                                           decay_per_iteration))
        return rate, remaining / rate
