"""The rank-0 progress line of long runs."""
from __future__ import annotations

import math
import sys
import time

# Seconds between lines: a terminal gets frequent updates; a batch log (stderr redirected to a
# file, as under SLURM) a line every 10 s, a few thousand a day.
TERMINAL_INTERVAL, LOG_INTERVAL = 2.0, 10.0
# Weight of the newest finish-time estimate: the ETA moves by at most half of a jump.
SMOOTHING = 0.5
_MAX_SAMPLES = 512


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(max(seconds, 0.0)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def default_interval(stream) -> float:
    isatty = getattr(stream, "isatty", None)
    return TERMINAL_INTERVAL if isatty is not None and isatty() else LOG_INTERVAL


class Progress:
    """Prints ``iteration, residual, target, elapsed, rate, ETA`` at most every ``interval``
    seconds (None: 2 s on a terminal, 10 s otherwise).

    The ETA is the smaller of the time to ``max_iterations`` and the time to the discrepancy
    target, with the residual extrapolated as a power of the iteration count fitted over the
    second half of the run so far (regularizing iterations slow down as they go, so a
    log-linear fit over the last few steps promises too early a finish), at the iteration
    rate of that half.  The predicted finish time is smoothed between lines.
    """

    def __init__(self, enabled: bool, interval: float | None, max_iterations: int,
                 stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = default_interval(self.stream) if interval is None else interval
        self.max_iterations = max_iterations
        self.started = time.monotonic()
        self._last_print = -math.inf
        self._last_sample = -math.inf
        self._samples: list[tuple[int, float, float]] = []   # (iteration, residual, time)
        self._finish: float | None = None

    def update(self, iteration: int, residual: float, target: float, force: bool = False):
        now = time.monotonic()
        if not self.enabled:
            return
        due = force or now - self._last_print >= self.interval
        # Samples for the fit: at most a few per interval, thinned to a bounded list.
        if due or now - self._last_sample >= self.interval / 4:
            self._sample(iteration, residual, now)
        if not due:
            return
        self._last_print = now
        rate, eta = self._estimate(target, now)
        target_text = f"{target:.3e}" if target > 0 else "-"
        print(f"hpcinv: iter {iteration:6d}  residual {residual:.3e}  target {target_text}  "
              f"elapsed {_clock(now - self.started)}  rate {rate:7.1f} it/s  "
              f"ETA {_clock(eta)}", file=self.stream, flush=True)

    def _sample(self, iteration: int, residual: float, now: float) -> None:
        self._last_sample = now
        if self._samples and self._samples[-1][0] == iteration:
            self._samples[-1] = (iteration, residual, now)
            return
        self._samples.append((iteration, residual, now))
        if len(self._samples) > _MAX_SAMPLES:
            self._samples = self._samples[:1] + self._samples[2::2] + self._samples[-1:]

    def _estimate(self, target: float, now: float) -> tuple[float, float]:
        k1, r1, t1 = self._samples[-1]
        k0, r0, t0 = min(self._samples, key=lambda sample: abs(sample[0] - k1 / 2))
        if k1 <= k0 or t1 <= t0:
            return 0.0, math.inf
        rate = (k1 - k0) / (t1 - t0)
        remaining = float(self.max_iterations - k1)
        if target > 0 and 0 < r1 < r0 and k0 > 0 and remaining > 0:
            power = (math.log(r0) - math.log(r1)) / (math.log(k1) - math.log(k0))
            # k_target = k1 (r1 / target)^(1 / power), in logarithms (a slow decay overflows)
            growth = max(math.log(r1) - math.log(target), 0.0) / power
            if growth < math.log(1 + remaining / k1):
                remaining = k1 * math.expm1(growth)
        finish = t1 + remaining / rate
        if self._finish is not None and math.isfinite(self._finish):
            finish = SMOOTHING * finish + (1 - SMOOTHING) * self._finish
        self._finish = finish
        return rate, finish - now
