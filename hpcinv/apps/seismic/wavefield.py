"""A wavefield file as the readers see it: its sizes and sampling from the headers, and its
traces read by range, checked for non-finite samples.

Every field is a gather of n_receivers x n_sources traces of n_t samples; the problem's
trace index is receiver * n_sources + source (the operators' trace-major order), whatever
order the file keeps them in.  ``traces(start, stop)`` reads only traces [start, stop), so
that each rank reads its own.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError


@dataclass(frozen=True, eq=False)
class Wavefield(ABC):
    path: str
    key: str                    # the job key that names the file, for messages
    n_t: int
    n_receivers: int
    n_sources: int
    dt: float | None            # s; None when the file does not say
    dr: float | None            # receiver spacing, m; None when the file does not say
    receiver_positions: np.ndarray | None   # m, when the file gives them (SEG-Y)
    source_positions: np.ndarray | None

    @property
    def where(self) -> str:
        """The file (and dataset) in messages."""
        return self.path

    @property
    def shape(self) -> tuple:
        return (self.n_t, self.n_receivers, self.n_sources)

    def problem(self, message: str) -> InputError:
        return InputError((self.key, f"{self.where}: {message}"))

    def traces(self, start: int, stop: int) -> np.ndarray:
        """Traces [start, stop) as a (stop - start, n_t) float64 array; a trace with NaN or
        Inf samples is an InputError naming the file and the trace."""
        traces = np.asarray(self._read(start, stop), dtype=float)
        bad = ~np.isfinite(traces)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            receiver, source = divmod(start + int(rows[0]), self.n_sources)
            raise self.problem(f"{self.trace_name(receiver, source)} has "
                               f"{int(bad[rows[0]].sum())} non-finite samples (NaN or Inf)"
                               + (f"; {rows.size} such traces among those read"
                                  if rows.size > 1 else ""))
        return traces

    def trace_name(self, receiver: int, source: int) -> str:
        return f"the trace of receiver {receiver}, source {source}"

    @abstractmethod
    def _read(self, start: int, stop: int) -> np.ndarray:
        """Traces [start, stop) as stored (any real dtype), (stop - start, n_t)."""


def trace_major(block: np.ndarray, first_receiver: int, n_sources: int, start: int,
                stop: int) -> np.ndarray:
    """Traces [start, stop) from ``block``, an (n_t, receivers from ``first_receiver``,
    n_sources) slab of an array stored (n_t, n_receivers, n_sources)."""
    rows = block.reshape(block.shape[0], -1).T
    offset = first_receiver * n_sources
    return rows[start - offset:stop - offset]


def receivers_of(start: int, stop: int, n_sources: int) -> tuple[int, int]:
    """The receivers [first, last + 1) that traces [start, stop) belong to."""
    if stop <= start:
        return 0, 0
    return start // n_sources, (stop - 1) // n_sources + 1
