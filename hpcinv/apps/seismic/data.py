"""Measured MDD data: the down-going field q(t, v, s), the up-going field p(t, r, s) and
optionally a known impulse response g(t, r, v), each from an HDF5, NPZ or SEG-Y file
(``arrays.py``, ``segy.py``), checked against each other before anything is built.

The fields must agree: the same n_t and dt, the same sources (n_s, and their positions when
the files give them), a known receiver spacing dr (the quadrature weight over q's receivers
v, the virtual sources), the same spacing in p, and a truth of shape (n_t, n_r, n_v).
Every disagreement is an InputError under the key of the file that does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...linalg.layout import default_counts
from .arrays import open_hdf5, open_npz
from .segy import open_segy
from .wavefield import Wavefield

FORMATS = {".h5": "hdf5", ".hdf5": "hdf5", ".npz": "npz", ".sgy": "segy", ".segy": "segy"}
# Sample intervals and spacings that agree to this (relative) are the same.
SAMPLING_TOLERANCE = 1e-9


def file_format(path: str, declared: str, key: str) -> str:
    """``declared`` unless "auto", else the format of the file's extension."""
    if declared != "auto":
        return declared
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError((key, f"{path}: cannot tell the format from the extension "
                               f"{suffix or '(none)'!r} (known: {', '.join(FORMATS)}); set "
                               f"problem.format"))
    return FORMATS[suffix]


def open_wavefield(path: str, key: str, declared_format: str, dataset: str) -> Wavefield:
    """The field in ``path`` (its headers; traces are read later by range)."""
    fmt = file_format(path, declared_format, key)
    if fmt == "hdf5":
        return open_hdf5(path, key, dataset)
    if fmt == "npz":
        return open_npz(path, key, dataset)
    return open_segy(path, key)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAMPLING_TOLERANCE * max(abs(a), abs(b))


def _sampling(field: Wavefield, name: str, given: float) -> float | None:
    """The field's dt or dr: the file's, else the job's (0: not given); both must agree."""
    stored = getattr(field, name)
    if stored is not None and given and not _same(stored, given):
        raise field.problem(f"{name} = {stored:g} in the file, but problem.{name} = {given:g}")
    return stored if stored is not None else (given or None)


@dataclass(frozen=True)
class MeasuredData:
    downgoing: Wavefield        # q: n_receivers = n_v, n_sources = n_s
    upgoing: Wavefield          # p: n_receivers = n_r, n_sources = n_s
    truth: Wavefield | None     # g: n_receivers = n_r, n_sources = n_v
    dt: float
    dr: float

    @property
    def sizes(self) -> dict:
        return {"n_t": self.downgoing.n_t, "n_r": self.upgoing.n_receivers,
                "n_v": self.downgoing.n_receivers, "n_s": self.downgoing.n_sources}

    def trace_counts(self) -> dict:
        """Traces of each field, by the field's name."""
        sizes = self.sizes
        counts = {"downgoing": sizes["n_v"] * sizes["n_s"],
                  "upgoing": sizes["n_r"] * sizes["n_s"]}
        if self.truth is not None:
            counts["truth"] = sizes["n_r"] * sizes["n_v"]
        return counts

    def field(self, name: str) -> Wavefield:
        return getattr(self, name)


def _check_pair(q: Wavefield, p: Wavefield) -> None:
    if p.n_t != q.n_t:
        raise p.problem(f"{p.n_t} samples per trace, but the down-going field {q.where} "
                        f"({q.key}) has {q.n_t}")
    if p.n_sources != q.n_sources:
        raise p.problem(f"{p.n_sources} sources, but the down-going field {q.where} "
                        f"({q.key}) has {q.n_sources}")
    if p.source_positions is not None and q.source_positions is not None:
        moved = np.flatnonzero(~np.isclose(p.source_positions, q.source_positions))
        if moved.size:
            s = int(moved[0])
            raise p.problem(f"source {s} is at x = {p.source_positions[s]:g} m, in the "
                            f"down-going field {q.where} at x = {q.source_positions[s]:g} m")


def open_measured(values: dict) -> MeasuredData:
    """The job's fields (``problem.downgoing``, ``problem.upgoing``, ``problem.truth``)
    opened and checked against each other; no trace is read."""
    fmt = values["format"]
    q = open_wavefield(values["downgoing"], "problem.downgoing", fmt,
                       values["downgoing_dataset"])
    p = open_wavefield(values["upgoing"], "problem.upgoing", fmt, values["upgoing_dataset"])
    _check_pair(q, p)
    dt_q, dt_p = (_sampling(field, "dt", values["dt"]) for field in (q, p))
    for field, dt in ((q, dt_q), (p, dt_p)):
        if dt is None:
            raise field.problem("no sample interval in the file: give problem.dt (s)")
    if not _same(dt_q, dt_p):
        raise p.problem(f"dt = {dt_p:g} s, but the down-going field {q.where} has "
                        f"dt = {dt_q:g} s")
    dr = _sampling(q, "dr", values["dr"])
    if dr is None:
        raise q.problem("no receiver spacing in the file: give problem.dr (m)")
    dr_p = _sampling(p, "dr", values["dr"])
    if dr_p is not None and not _same(dr, dr_p):
        raise p.problem(f"receiver spacing {dr_p:g} m, but the down-going field {q.where} has "
                        f"{dr:g} m")
    truth = None
    if values["truth"]:
        truth = open_wavefield(values["truth"], "problem.truth", fmt, values["truth_dataset"])
        expected = (q.n_t, p.n_receivers, q.n_receivers)
        if truth.shape != expected:
            raise truth.problem(f"shape {truth.shape}; g must be (n_t, n_r, n_v) = {expected} "
                                f"by the down- and up-going fields")
        if truth.dt is not None and not _same(truth.dt, dt_q):
            raise truth.problem(f"dt = {truth.dt:g} s, the fields' is {dt_q:g} s")
    return MeasuredData(q, p, truth, dt_q, dr)


@dataclass(frozen=True)
class LocalTraces:
    """Traces [start, stop) of one field, as a rank read them."""
    start: int
    stop: int
    traces: np.ndarray


def read_local_traces(measured: MeasuredData, rank: int, ranks: int) -> dict:
    """{field name: LocalTraces} of rank ``rank`` of ``ranks`` in each field's trace layout
    (PETSc's default split), read and checked without communication."""
    traces = {}
    for name, count in measured.trace_counts().items():
        counts = default_counts(count, ranks)
        start = sum(counts[:rank])
        stop = start + counts[rank]
        traces[name] = LocalTraces(start, stop, measured.field(name).traces(start, stop))
    return traces
