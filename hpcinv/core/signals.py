"""SIGTERM/SIGUSR1 ask a run to write a checkpoint and stop at the next iteration.

SLURM sends one of them before the wall-clock limit (``--signal``) and on ``scancel``; the
handler only records it, and the iteration control turns it into a collective decision.
"""
from __future__ import annotations

import signal
import threading

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class StopRequest:
    """Context manager that records the stop signals it receives while active."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame):
        self.received = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        return False

    @property
    def name(self) -> str | None:
        return signal.Signals(self.received).name if self.received else None
