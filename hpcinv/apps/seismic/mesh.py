"""Seismic survey meshes (meshes/seismic/*.toml): the acquisition of synthetic MDD data.

    [receivers]                 # at the redatuming level, x_r = r * spacing (r = 0 .. count-1)
    count = 151
    spacing = 20.0              # m
    [sources]
    step = 4                    # a source at every step-th receiver position (1:1 = 1, 1:4 = 4)
    [time]
    samples = 512
    interval = 0.004            # s
    [wavelet]
    peak_frequency = 20.0       # Hz, the zero-phase Ricker wavelet of both fields
    [impulse_response]          # hyperbolic data: g's reflectors about each virtual source
    times = [0.2, 0.5, 0.7]     # s, zero-offset arrival
    velocities = [1200.0, 1500.0, 2000.0]   # m/s, moveout velocity
    amplitudes = [1.0, 0.6, 0.5]
    [downgoing]                 # hyperbolic data: q's direct arrival and multiple(s)
    times = [0.2, 0.6]
    velocities = [1100.0, 1300.0]
    amplitudes = [1.0, -0.5]

The virtual sources v of g are the receiver positions too (n_v = n_r).  The event tables
default to the events of PyLops' MDD tutorial (g's three reflectors; its single event,
with a polarity-reversed multiple added, as q), which fit a 512-sample, 4 ms record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError
from ...core.io.inputs import read_toml_file
from ...core.jobspec.schema import Field, validate_tables


def _events(times, velocities, amplitudes) -> dict:
    return {"times": Field(list, times, "s, zero-offset arrival times", items=float,
                           minimum=0),
            "velocities": Field(list, velocities, "m/s, moveout velocities", items=float,
                                minimum=0, exclusive_minimum=True),
            "amplitudes": Field(list, amplitudes, "amplitudes", items=float)}


SCHEMA = {
    "receivers": {"count": Field(int, help="receivers (and virtual sources)", minimum=1),
                  "spacing": Field(float, help="m", minimum=0, exclusive_minimum=True)},
    "sources": {"step": Field(int, 1, "a source at every step-th receiver position",
                              minimum=1)},
    "time": {"samples": Field(int, help="samples per trace", minimum=2),
             "interval": Field(float, help="s", minimum=0, exclusive_minimum=True)},
    "wavelet": {"peak_frequency": Field(float, 20.0, "Hz", minimum=0,
                                        exclusive_minimum=True)},
    "impulse_response": _events([0.2, 0.5, 0.7], [1200.0, 1500.0, 2000.0], [1.0, 0.6, 0.5]),
    "downgoing": _events([0.2, 0.6], [1100.0, 1300.0], [1.0, -0.5]),
}


@dataclass(frozen=True)
class Events:
    """Hyperbolic events: arrival sqrt(time^2 + offset^2 / velocity^2) with ``amplitude``."""
    times: tuple
    velocities: tuple
    amplitudes: tuple


@dataclass(frozen=True)
class SeismicMesh:
    receivers: int
    spacing: float
    source_step: int
    samples: int
    interval: float
    peak_frequency: float
    impulse_response: Events
    downgoing: Events
    source: str

    @property
    def receiver_positions(self) -> np.ndarray:
        return self.spacing * np.arange(self.receivers)

    @property
    def source_receivers(self) -> np.ndarray:
        """The receiver index each source sits at."""
        return np.arange(0, self.receivers, self.source_step)

    @property
    def sources(self) -> int:
        return self.source_receivers.size


def load_seismic_mesh(path: str, key: str = "problem.mesh") -> SeismicMesh:
    values, problems = validate_tables(read_toml_file(path, key, "mesh"), SCHEMA)
    for table in ("impulse_response", "downgoing"):
        if table in values and len({len(values[table][name]) for name in SCHEMA[table]}) != 1:
            problems.append((table, "times, velocities and amplitudes need one entry per "
                                    "event each"))
    if problems:
        raise InputError([(key, f"mesh {path}: {k}: {m}") for k, m in problems])
    events = {table: Events(*(tuple(values[table][name]) for name in SCHEMA[table]))
              for table in ("impulse_response", "downgoing")}
    return SeismicMesh(receivers=values["receivers"]["count"],
                       spacing=values["receivers"]["spacing"],
                       source_step=values["sources"]["step"],
                       samples=values["time"]["samples"], interval=values["time"]["interval"],
                       peak_frequency=values["wavelet"]["peak_frequency"], source=str(path),
                       **events)
