"""Rank 0's progress lines: elapsed time, the interval by where stderr goes, a steady ETA."""
import io
import re

import pytest

from hpcinv.core import progress as progress_module
from hpcinv.core.progress import LOG_INTERVAL, TERMINAL_INTERVAL, Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress_module.time, "monotonic", fake)
    return fake


def test_interval_is_short_on_a_terminal_and_long_in_a_log():
    assert Progress(True, None, 10, stream=Terminal()).interval == TERMINAL_INTERVAL
    assert Progress(True, None, 10, stream=io.StringIO()).interval == LOG_INTERVAL
    assert Progress(True, 3.5, 10, stream=io.StringIO()).interval == 3.5


def _run(clock, residual_of, *, iterations, seconds_per_iteration, target, interval=10.0,
         max_iterations=100_000):
    """The lines printed for a run whose residual after k steps is ``residual_of(k)``."""
    stream = io.StringIO()
    lines = Progress(True, interval, max_iterations, stream=stream)
    for k in range(iterations + 1):
        lines.update(k, residual_of(k), target)
        clock.now += seconds_per_iteration
    return stream.getvalue().splitlines()


def _seconds(clock_text: str) -> int:
    hours, minutes, seconds = map(int, clock_text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_lines_show_elapsed_time_and_come_once_per_interval(clock):
    lines = _run(clock, lambda k: 1.0 / (k + 1), iterations=1000,
                 seconds_per_iteration=0.125, target=1e-4)
    assert len(lines) == 13                  # 125 s of work, one line per 10 s
    elapsed = [_seconds(re.search(r"elapsed (\S+)", line).group(1)) for line in lines]
    assert elapsed == [10 * i for i in range(13)]


def test_eta_of_a_slowing_regularizing_iteration_is_steady_and_close(clock):
    """Residual ~ k^-1/2 (as CGLS on a smooth problem): the run reaches its target at
    k = 10000, i.e. after 1250 s.  The ETA, once a quarter of the run is done, stays within
    25% of the truth and never jumps by more than a factor of 1.5 between lines."""
    target = 1.0 / 10000 ** 0.5
    lines = _run(clock, lambda k: 1.0 / (k + 1) ** 0.5, iterations=10000,
                 seconds_per_iteration=0.125, target=target)
    etas = [(_seconds(re.search(r"elapsed (\S+)", line).group(1)),
             _seconds(re.search(r"ETA (\S+)", line).group(1))) for line in lines
            if "ETA ?" not in line]
    late = [(elapsed, eta) for elapsed, eta in etas if elapsed >= 300]
    for elapsed, eta in late:
        assert eta == pytest.approx(1250 - elapsed, rel=0.25, abs=10)
    for (_, before), (_, after) in zip(late, late[1:]):
        assert after <= 1.5 * before + 10 and before <= 1.5 * after + 20


def test_eta_is_bounded_by_the_iteration_limit(clock):
    lines = _run(clock, lambda k: 1.0, iterations=160, seconds_per_iteration=0.125,
                 target=0.5, max_iterations=240)
    eta = _seconds(re.search(r"ETA (\S+)", lines[-1]).group(1))
    assert eta == pytest.approx(10, abs=2)   # 80 iterations left at 8 it/s


def test_disabled_progress_prints_nothing(clock):
    stream = io.StringIO()
    lines = Progress(False, 1.0, 10, stream=stream)
    for k in range(5):
        lines.update(k, 1.0, 0.5, force=True)
        clock.now += 2
    assert stream.getvalue() == ""
