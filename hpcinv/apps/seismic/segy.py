"""Wavefields in SEG-Y files (segyio): one file per field, in shot gathers.

The traces are sorted by source, then receiver: trace s * n_receivers + r is receiver r of
source s (0-based), every gather holding the same receivers in the same order.  Positions
come from the trace headers SourceX and GroupX (bytes 73 and 81), scaled by
SourceGroupScalar (byte 71: a negative value divides, a positive one multiplies, 0 is 1);
the receivers must be regularly spaced (dr).  The sample interval is segyio's
(``segyio.tools.dt``: the binary header's Interval, bytes 3217-3218, or the trace headers'
TRACE_SAMPLE_INTERVAL, bytes 117-118), in microseconds.  ``write_segy`` writes this layout
(IEEE floats, positions in cm).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError
from ...core.io.inputs import first_line
from .wavefield import Wavefield, receivers_of

MICROSECONDS = 1e6
# Positions are written to the centimetre: SourceGroupScalar -100 divides them by 100.
POSITION_SCALAR = -100
# Two receiver steps differing by less than this (relative) are the same spacing.
SPACING_TOLERANCE = 1e-6
# The binary header's Interval is an unsigned 16-bit count of microseconds.
LONGEST_INTERVAL_US = 65535
# The 3200-byte textual and 400-byte binary file headers and the first trace header; in them
# (0-based offsets) the samples per trace and the sample format code (binary header bytes
# 3221-3222 and 3225-3226) and the first trace's sample count (trace header bytes 115-116).
HEADERS_BYTES = 3600 + 240
BINARY_SAMPLES_AT, BINARY_FORMAT_AT, TRACE_SAMPLES_AT = 3220, 3224, 3600 + 114
# The sample formats segyio reads: IBM float, integers of 4, 2 and 1 bytes, IEEE float of 4
# and 8 bytes, and the SEG-Y rev 2 unsigned and 8-byte integer formats.
SAMPLE_FORMATS = (1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16)


def _binary_header_problem(path: str) -> str | None:
    """Why ``path`` is no big-endian SEG-Y file segyio can open, from its first 3600 + 240
    bytes; None when it may be one.  segyio's C library aborts the process (an assertion)
    on a negative sample count, so this is checked before segyio sees the file."""
    with open(path, "rb") as handle:
        start = handle.read(HEADERS_BYTES)
    if len(start) < HEADERS_BYTES:
        return f"{len(start)} bytes, fewer than the SEG-Y headers' {HEADERS_BYTES}"
    samples, format_code = (int.from_bytes(start[at:at + 2], "big", signed=True)
                            for at in (BINARY_SAMPLES_AT, BINARY_FORMAT_AT))
    trace_samples = int.from_bytes(start[TRACE_SAMPLES_AT:TRACE_SAMPLES_AT + 2], "big",
                                   signed=True)
    if format_code not in SAMPLE_FORMATS:
        return f"not a SEG-Y file (binary header format code {format_code})"
    if samples <= 0 and trace_samples <= 0:
        return f"not a SEG-Y file (sample count {samples} in the binary header)"
    return None


@contextmanager
def _segy_file(path: str, key: str):
    """segyio's file, trace order as stored; what segyio cannot read is an InputError."""
    import segyio

    try:
        problem = _binary_header_problem(path)
    except OSError as error:
        raise InputError((key, f"cannot read SEG-Y file {path}: "
                               f"{error.strerror or error}")) from None
    if problem:
        raise InputError((key, f"cannot read SEG-Y file {path}: {problem}"))
    try:
        with segyio.open(path, "r", ignore_geometry=True) as handle:
            yield handle
    except (OSError, RuntimeError, ValueError, IndexError) as error:
        raise InputError((key, f"cannot read SEG-Y file {path}: {first_line(error)}")) from None


def _scaled(values: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    scalars = scalars.astype(float)
    factor = np.where(scalars < 0, -1 / np.where(scalars < 0, scalars, -1),
                      np.where(scalars > 0, scalars, 1))
    return values.astype(float) * factor


@dataclass(frozen=True, eq=False)
class SegyWavefield(Wavefield):

    def trace_name(self, receiver: int, source: int) -> str:
        return (f"trace {source * self.n_receivers + receiver} (0-based: source {source} at "
                f"x = {self.source_positions[source]:g} m, receiver {receiver} at "
                f"x = {self.receiver_positions[receiver]:g} m)")

    def _read(self, start: int, stop: int) -> np.ndarray:
        n_r, n_s = self.n_receivers, self.n_sources
        out = np.empty((stop - start, self.n_t), dtype=float)
        first, last = receivers_of(start, stop, n_s)
        with _segy_file(self.path, self.key) as handle:
            for receiver in range(first, last):
                # This receiver's sources [low, high): every n_r-th trace of the file.
                low = max(start - receiver * n_s, 0)
                high = min(stop - receiver * n_s, n_s)
                rows = handle.trace.raw[low * n_r + receiver:high * n_r + receiver:n_r]
                at = receiver * n_s + low - start
                out[at:at + high - low] = np.reshape(rows, (high - low, self.n_t))
        return out


def _gathers(sources: np.ndarray, receivers: np.ndarray, where: str, key: str) -> int:
    """The receivers per shot gather, after checking the traces form gathers of one source
    each with the same receivers."""
    count = sources.size
    per_gather = int(np.argmax(sources != sources[0])) if np.any(sources != sources[0]) \
        else count
    if count % per_gather:
        raise InputError((key, f"{where}: {count} traces do not make shot gathers of "
                               f"{per_gather} traces (the first gather's, source at "
                               f"x = {sources[0]:g} m)"))
    shape = (count // per_gather, per_gather)
    gather_sources, gather_receivers = sources.reshape(shape), receivers.reshape(shape)
    for name, wrong in (("source", gather_sources != gather_sources[:, :1]),
                        ("receiver", gather_receivers != gather_receivers[:1, :])):
        if wrong.any():
            trace = int(np.flatnonzero(wrong)[0])
            raise InputError((key, f"{where}: trace {trace} (0-based) breaks the shot-gather "
                                   f"order at its {name} position; traces must be sorted by "
                                   f"source, each gather with the same {per_gather} receivers"))
    return per_gather


def _spacing(positions: np.ndarray, where: str, key: str) -> float | None:
    """The receivers' regular spacing (None for a single receiver)."""
    if positions.size < 2:
        return None
    steps = np.diff(positions)
    irregular = np.flatnonzero(np.abs(steps - steps[0]) > SPACING_TOLERANCE * abs(steps[0]))
    if steps[0] <= 0 or irregular.size:
        at = int(irregular[0]) if irregular.size else 0
        raise InputError((key, f"{where}: the receivers are not regularly spaced in increasing "
                               f"x: receivers {at} and {at + 1} at x = {positions[at]:g} and "
                               f"{positions[at + 1]:g} m, the first step {steps[0]:g} m"))
    return float(steps[0])


def open_segy(path: str, key: str) -> SegyWavefield:
    """The field of SEG-Y file ``path`` from its headers."""
    import segyio
    from segyio import TraceField

    with _segy_file(path, key) as handle:
        if handle.tracecount == 0:
            raise InputError((key, f"{path}: no traces"))
        interval = segyio.tools.dt(handle, fallback_dt=0.0)
        scalars = handle.attributes(TraceField.SourceGroupScalar)[:]
        sources = _scaled(handle.attributes(TraceField.SourceX)[:], scalars)
        receivers = _scaled(handle.attributes(TraceField.GroupX)[:], scalars)
        n_t = len(handle.samples)
    if interval <= 0:
        raise InputError((key, f"{path}: no sample interval (binary header Interval and trace "
                               f"header TRACE_SAMPLE_INTERVAL are 0)"))
    n_r = _gathers(sources, receivers, path, key)
    return SegyWavefield(path, key, n_t, n_r, sources.size // n_r, interval / MICROSECONDS,
                         _spacing(receivers[:n_r], path, key), receivers[:n_r],
                         sources[::n_r])


def write_segy(path: str, field: np.ndarray, dt: float, receiver_positions,
               source_positions) -> None:
    """Write ``field`` (n_t, n_receivers, n_sources) as shot gathers in ``open_segy``'s
    layout, IEEE floats; dt must be a whole number of microseconds."""
    import segyio
    from segyio import BinField, TraceField

    field = np.asarray(field, dtype=np.float32)
    n_t, n_r, n_s = field.shape
    interval = round(dt * MICROSECONDS)
    if abs(interval - dt * MICROSECONDS) > 1e-6 * interval or not 0 < interval <= \
            LONGEST_INTERVAL_US:
        raise ValueError(f"dt: SEG-Y needs a whole number of microseconds up to "
                         f"{LONGEST_INTERVAL_US}, got {dt} s")
    spec = segyio.spec()
    spec.format = 5                      # 4-byte IEEE float
    spec.samples = np.arange(n_t) * (interval / 1000.0)      # ms
    spec.tracecount = n_r * n_s
    with segyio.create(path, spec) as handle:
        handle.bin.update({BinField.Interval: interval, BinField.Samples: n_t,
                           BinField.Format: 5})
        for source, x_source in enumerate(source_positions):
            for receiver, x_receiver in enumerate(receiver_positions):
                trace = source * n_r + receiver
                handle.header[trace] = {
                    TraceField.TRACE_SEQUENCE_FILE: trace + 1,
                    TraceField.FieldRecord: source + 1,
                    TraceField.TraceNumber: receiver + 1,
                    TraceField.SourceGroupScalar: POSITION_SCALAR,
                    TraceField.SourceX: round(-POSITION_SCALAR * x_source),
                    TraceField.GroupX: round(-POSITION_SCALAR * x_receiver),
                    TraceField.offset: round(x_receiver - x_source),
                    TraceField.TRACE_SAMPLE_INTERVAL: interval,
                    TraceField.TRACE_SAMPLE_COUNT: n_t}
                handle.trace[trace] = np.ascontiguousarray(field[:, receiver, source])
