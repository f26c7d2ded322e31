"""Memory estimate of the ``mdd`` problem kind (``core.memory``), from the survey mesh or the
files' headers (SEG-Y trace headers, HDF5 and NPZ array headers), nothing else read.

With n_f kept frequencies of n_b = n_t // 2 + 1 bins: the operator holds q's blocks
(n_f x n_v x n_s complex) and a work block of g and of p; each of its three
``TimeFrequencyTransform``s (g, p and q while the operator is made) two exchange buffers of
its traces x n_f and an rfft spectrum of its traces x n_b (complex), plus scipy's rfft
output of the same size while it transforms.  Beside them the truth, data, noise-free data
and noise Vecs, q's traces, and the synthetic traces' spectra as they are made.  All of it
is split over the ranks, except the layered medium's padded (t, offset) tables and spectra
and an NPZ file, read whole on every rank.
"""
from __future__ import annotations

import math

from ...core.errors import InputError
from ...core.memory import COMPLEX, MemoryEstimate, vectors
from .arrays import NPZWavefield
from .data import open_measured
from .layered import TIME_PADDING, lateral_points
from .mesh import load_seismic_mesh
from .problem import check_parameters

# The layered survey's spectra: g^, q^, their masks and the wavelet-weighted products.
_LAYERED_SPECTRA = 6


def _sizes(values: dict) -> dict:
    """n_t, n_r, n_v, n_s and dt of the job's data (InputError when unreadable)."""
    if values["data"] == "file":
        measured = open_measured(values)
        return {**measured.sizes, "dt": measured.dt,
                "npz": isinstance(measured.downgoing, NPZWavefield)}
    mesh = load_seismic_mesh(values["mesh"])
    return {"n_t": mesh.samples, "n_r": mesh.receivers, "n_v": mesh.receivers,
            "n_s": mesh.sources, "dt": mesh.interval, "npz": False, "mesh": mesh}


def mdd_memory(values: dict) -> MemoryEstimate | None:
    """None when the mesh or the files cannot be read (validation reports it)."""
    if check_parameters(values):
        return None
    try:
        sizes = _sizes(values)
    except InputError:
        return None
    n_t, n_r, n_v, n_s = (sizes[name] for name in ("n_t", "n_r", "n_v", "n_s"))
    bins = n_t // 2 + 1
    # Bin k is at k / (n_t dt) Hz: those up to max_frequency are kept (an estimate need not
    # follow the operator's rounding at the edge).
    n_f = min(bins, math.floor(values["max_frequency"] * n_t * sizes["dt"]) + 1) \
        if values["max_frequency"] else bins
    traces = {"g": n_r * n_v, "p": n_r * n_s, "q": n_v * n_s}
    transforms = COMPLEX * sum(count * (2 * n_f + bins) for count in traces.values())
    blocks = COMPLEX * n_f * (n_v * n_s + n_r * n_v + n_r * n_s)
    rfft_output = COMPLEX * max(traces.values()) * bins
    distributed = (transforms + blocks + rfft_output
                   + vectors(1, traces["g"] * n_t) + vectors(3, traces["p"] * n_t)
                   + vectors(1, traces["q"] * n_t))
    replicated = 0
    if values["data"] != "file":
        distributed += COMPLEX * (traces["g"] + traces["q"]) * bins   # the events' spectra
    if values["data"] == "layered":
        offsets = lateral_points(sizes["mesh"], max(values["velocities"]))
        padded = TIME_PADDING * n_t
        replicated = (vectors(2, padded * offsets)
                      + COMPLEX * _LAYERED_SPECTRA * (padded // 2 + 1) * offsets)
    if sizes["npz"]:
        replicated = vectors(1, n_t * max(traces.values()))   # one field at a time, whole
    return MemoryEstimate(distributed, replicated,
                          keys=("problem.mesh", "problem.max_frequency") if values["mesh"]
                          else ("problem.downgoing", "problem.max_frequency"),
                          rows=traces["p"] * n_t, columns=traces["g"] * n_t,
                          facts={"grid_shape": (n_r, n_v, n_t),
                                 "frequency_blocks": (n_f, n_r, n_v, n_s)})
