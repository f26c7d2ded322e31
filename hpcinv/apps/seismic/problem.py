"""The ``mdd`` problem: multidimensional deconvolution, p = MDC(g, q) for the impulse response
g(t, r, v) from the down-going field q(t, v, s) and the up-going field p(t, r, s).

Data come from a synthetic survey (``synthetic.py``: hyperbolic events; ``layered.py``: the
thesis' three-layer medium), with g known and p = MDC(g, q) plus Gaussian noise limited to
the operator's frequency band, or from files (``data.py``).  The operator is
``operators.frequency_blocks.MultiDimensionalConvolution``: g, p and the unknown are
trace-major time-domain Vecs, grid shape (n_r, n_v, n_t); the problem offers its frequency
blocks to frequency-domain solvers (``FrequencyBlockSystem``) and g's layout and sampling to
the redatuming solvers' constraints (``ImpulseResponseSystem``).

``prepare`` reads, on each rank, that rank's traces of the files in the trace layouts of
MPI_COMM_WORLD, where the pipeline builds; ``build`` on another communicator reads its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError
from ...core.jobspec import Field
from ...core.mpi import agree, world
from ...core.problem import Problem
from ...linalg.layout import Layout
from ...linalg.random import normal_slice
from ...operators.frequency_blocks import MultiDimensionalConvolution
from ...solvers.constrained.impulse_response import ImpulseResponseSystem
from ...solvers.krylov.frequency_system import FrequencyBlockSystem
from ..synthetic.problems import check_arguments
from .data import LocalTraces, MeasuredData, open_measured, read_local_traces
from .layered import THESIS_DEPTHS, THESIS_VELOCITIES, LayeredSurvey
from .mesh import load_seismic_mesh
from .synthetic import HyperbolicSurvey, Survey

SOURCES = ("synthetic-hyperbolic", "layered", "file")
FILE_KEYS = ("downgoing", "upgoing", "truth")
LAYERED_KEYS = ("velocities", "depths", "taper")

PARAMETERS = {
    "data": Field(str, "synthetic-hyperbolic", "synthetic-hyperbolic (PyLops' MDD tutorial "
                  "events), layered (thesis Example 5.2.1) or file", choices=SOURCES),
    "mesh": Field(str, "", "survey of synthetic data (meshes/seismic/*.toml)", file=True),
    "downgoing": Field(str, "", "file of the down-going field q (n_t x n_v x n_s)", file=True),
    "upgoing": Field(str, "", "file of the up-going field p (n_t x n_r x n_s)", file=True),
    "truth": Field(str, "", "optional file of the true impulse response g (n_t x n_r x n_v)",
                   file=True),
    "format": Field(str, "auto", "format of the files: auto (from the extension: .h5/.hdf5, "
                    ".npz, .sgy/.segy), hdf5, npz or segy",
                    choices=("auto", "hdf5", "npz", "segy")),
    "downgoing_dataset": Field(str, "q", "HDF5 dataset / NPZ array of q"),
    "upgoing_dataset": Field(str, "p", "HDF5 dataset / NPZ array of p"),
    "truth_dataset": Field(str, "g", "HDF5 dataset / NPZ array of g"),
    "dt": Field(float, 0.0, "sample interval (s) of files that do not give it (0: from the "
                "files)", minimum=0),
    "dr": Field(float, 0.0, "receiver spacing (m) of files that do not give it (0: from the "
                "files)", minimum=0),
    "noise_level": Field(float, 0.01, "relative noise ||e|| / ||p|| of synthetic data "
                         "(SNR = -20 log10 noise_level dB), or the assumed relative noise "
                         "of data from files", minimum=0, maximum=1),
    "seed": Field(int, 0, "seed of the synthetic noise", minimum=0),
    "max_frequency": Field(float, 0.0, "highest frequency (Hz) of the frequency blocks "
                           "(0: Nyquist)", minimum=0),
    "velocities": Field(list, list(THESIS_VELOCITIES), "layered: (c0, c1, c2) m/s",
                        items=float, length=(3,), minimum=0, exclusive_minimum=True),
    "depths": Field(list, list(THESIS_DEPTHS), "layered: interfaces (z0, z1, z2) m",
                    items=float, length=(3,),
                    check=lambda z: None if z[0] < z[1] < z[2] else f"must increase, got {z}"),
    "taper": Field(float, 0.1, "layered: fraction of the propagating wavenumber band "
                   "tapered (cos^2) to its evanescent edge", minimum=0,
                   check=lambda taper: None if taper < 1 else f"must be < 1, got {taper}"),
}


def check_parameters(values: dict) -> list:
    """[(key, message)]: the keys of one data source need the others' to be unset."""
    problems = []
    synthetic = values["data"] != "file"
    if synthetic and not values["mesh"]:
        problems.append(("problem.mesh", f"data = {values['data']!r} needs a survey mesh "
                                         f"(meshes/seismic/*.toml)"))
    for key in FILE_KEYS:
        if synthetic and values[key]:
            problems.append((f"problem.{key}", 'only with data = "file"'))
    if not synthetic:
        problems += [(f"problem.{key}", 'data = "file" needs it') for key in FILE_KEYS[:2]
                     if not values[key]]
        if values["mesh"]:
            problems.append(("problem.mesh", 'not with data = "file": the files give the '
                                             'survey'))
    if values["data"] != "layered":
        changed = [key for key in LAYERED_KEYS if values[key] != PARAMETERS[key].default]
        problems += [(f"problem.{key}", 'only with data = "layered"') for key in changed]
    return problems


@dataclass
class _Prepared:
    values: dict
    survey: Survey | None               # synthetic data
    measured: MeasuredData | None       # data from files
    traces: dict                        # {field name: LocalTraces} read for COMM_WORLD


def prepare(values: dict) -> _Prepared:
    """The survey, or the files checked and this rank's traces read (no collectives)."""
    problems = check_parameters(values)
    if problems:
        raise InputError(problems)
    if values["data"] == "file":
        measured = open_measured(values)
        mpi = world()
        return _Prepared(values, None, measured,
                         read_local_traces(measured, mpi.rank, mpi.size))
    mesh = load_seismic_mesh(values["mesh"])
    if values["data"] == "layered":
        survey = LayeredSurvey(mesh, values["velocities"], values["depths"], values["taper"])
    else:
        survey = HyperbolicSurvey(mesh)
    return _Prepared(values, survey, None, {})


def _file_traces(prepared: _Prepared, name: str, layout: Layout) -> np.ndarray:
    """This rank's traces of field ``name`` in ``layout``: those ``prepare`` read when it
    split the traces alike, else read now (every rank, failures agreed)."""
    read: LocalTraces = prepared.traces[name]
    if (read.start, read.stop) == (layout.start, layout.stop):
        return read.traces
    return agree(layout.mpi, prepared.measured.field(name).traces, layout.start, layout.stop)


def _fill(vec, traces: np.ndarray):
    vec.getArray()[:] = np.asarray(traces).ravel()
    return vec


def add_band_limited_noise(data, transform, level: float, seed: int) -> tuple:
    """Add e to ``data`` (a Vec of ``transform``'s layout) in place: Gaussian noise sequence
    ``seed`` (independent of the rank count) without the frequencies the transform drops,
    scaled to ||e|| = level ||data||.  Returns (||e||, ||E_f||_F for this rank's
    frequencies)."""
    noise = transform.create_vec()
    noise.getArray()[:] = normal_slice(seed, *noise.getOwnershipRange())
    blocks = transform.to_frequency(noise)
    transform.to_time(blocks, noise)
    norm = level * data.norm()
    scale = norm / noise.norm()
    data.axpy(scale, noise)
    noise.destroy()
    return norm, scale * np.linalg.norm(blocks.reshape(blocks.shape[0], -1), axis=1)


def _sampling(prepared: _Prepared) -> dict:
    """Sizes, dt and dr of the data."""
    if prepared.measured is not None:
        measured = prepared.measured
        return {**measured.sizes, "dt": measured.dt, "dr": measured.dr}
    survey = prepared.survey
    return {"n_t": survey.n_t, "n_r": survey.n_r, "n_v": survey.n_v, "n_s": survey.n_s,
            "dt": survey.dt, "dr": survey.dr}


def _attributes(prepared: _Prepared, sampling: dict, operator) -> dict:
    values = prepared.values
    attributes = {**sampling, "data": values["data"], "noise_level": values["noise_level"],
                  "max_frequency": float(operator.frequencies[-1]),
                  "frequencies": operator.frequencies.tolist()}
    if prepared.measured is not None:
        q, p = prepared.measured.downgoing, prepared.measured.upgoing
        attributes.update(downgoing=q.where, upgoing=p.where,
                          receiver_origin=float(p.receiver_positions[0]
                                                if p.receiver_positions is not None else 0.0),
                          virtual_source_origin=float(q.receiver_positions[0]
                                                      if q.receiver_positions is not None
                                                      else 0.0))
        return attributes
    attributes.update(mesh=values["mesh"], seed=values["seed"], receiver_origin=0.0,
                      virtual_source_origin=0.0)
    if values["noise_level"] > 0:
        attributes["snr_db"] = -20 * float(np.log10(values["noise_level"]))
    if values["data"] == "layered":
        attributes.update({key: values[key] for key in LAYERED_KEYS})
    return attributes


def build(prepared: _Prepared, comm) -> Problem:
    """The distributed problem (collective)."""
    values, sampling = prepared.values, _sampling(prepared)
    n_t, n_r, n_v, n_s = (sampling[name] for name in ("n_t", "n_r", "n_v", "n_s"))
    q_layout = Layout.default(comm, n_v * n_s)
    if prepared.survey is not None:
        q_traces = prepared.survey.downgoing(q_layout.start, q_layout.stop)
    else:
        q_traces = _file_traces(prepared, "downgoing", q_layout)
    operator = MultiDimensionalConvolution(
        comm, q_traces, n_r=n_r, n_v=n_v, n_s=n_s, n_t=n_t, dt=sampling["dt"],
        dr=sampling["dr"], max_frequency=values["max_frequency"] or None)
    domain, range_ = operator.domain_transform, operator.range_transform
    data, truth, noise_free, frequency_noise = range_.create_vec(), None, None, None
    if prepared.survey is not None:
        layout = domain.trace_layout
        truth = _fill(domain.create_vec(),
                      prepared.survey.impulse_response(layout.start, layout.stop))
        operator.mult(truth, data)
        noise_free = data.copy()
        noise_norm, frequency_noise = add_band_limited_noise(data, range_,
                                                             values["noise_level"],
                                                             values["seed"])
    else:
        _fill(data, _file_traces(prepared, "upgoing", range_.trace_layout))
        noise_norm = values["noise_level"] * data.norm()
        if prepared.measured.truth is not None:
            truth = _fill(domain.create_vec(),
                          _file_traces(prepared, "truth", domain.trace_layout))
    attributes = _attributes(prepared, sampling, operator)
    return Problem(operator=operator, data=data, noise_norm=noise_norm, truth=truth,
                   grid_shape=(n_r, n_v, n_t),
                   attributes=attributes,
                   noise_free_data=noise_free,
                   capabilities=[FrequencyBlockSystem(operator=operator,
                                                      frequency_noise=frequency_noise),
                                 ImpulseResponseSystem(
                                     transform=domain, dt=operator.dt, dr=operator.dr,
                                     receiver_origin=attributes["receiver_origin"],
                                     virtual_source_origin=attributes[
                                         "virtual_source_origin"])])


def mdd_problem(comm, data: str = "synthetic-hyperbolic", mesh: str = "", **keys) -> Problem:
    """The ``mdd`` problem on ``comm`` for a driver script; the arguments are the kind's
    keys (``mesh`` a file, e.g. "meshes/seismic/tiny.toml")."""
    arguments = {"data": data, "mesh": mesh, **keys}
    check_arguments("mdd_problem", PARAMETERS, arguments)
    return build(agree(comm.tompi4py(), prepare, {**_defaults(), **arguments}), comm)


def _defaults() -> dict:
    return {key: field.default for key, field in PARAMETERS.items()}
