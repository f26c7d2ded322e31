"""Result files: /solution, /history, /derived, optional /data and /truth, provenance.

Attributes: ``job_spec`` (TOML text), ``problem_kind``, ``solver_kind``, ``stop_reason``,
``iterations``, ``ranks``, ``hosts``, ``started``/``finished`` (UTC, ISO 8601),
``timings`` (JSON: setup, solve, write seconds), ``versions`` (JSON), ``noise_norm``,
``discrepancy_target``, ``exact_resume``, ``resumed``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .hdf5 import atomic_file, write_replicated, write_vec


def write_result(path: str, comm, *, solution, history, attrs: dict, grid_shape=(),
                 derived: dict | None = None, extra_vectors: dict | None = None) -> None:
    with atomic_file(path, comm) as handle:
        write_vec(handle, "solution", solution, grid_shape)
        for name, vec in (extra_vectors or {}).items():
            write_vec(handle, name, vec, grid_shape)
        group = handle.create_group("history")
        for name, array in history.arrays().items():
            write_replicated(group, name, array, comm)
        group = handle.create_group("derived")
        for name, array in (derived or {}).items():
            write_replicated(group, name, array, comm)
        for key, value in attrs.items():
            handle.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value


def _attr(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_summary(path: str) -> dict:
    """Everything ``hpcinv inspect`` shows, read serially (no MPI needed)."""
    import h5py

    with h5py.File(path, "r") as handle:
        summary = {key: _attr(value) for key, value in handle.attrs.items()}
        history = {name: handle["history"][name][()] for name in handle["history"]}
        solution = handle["solution"]
        summary["solution_size"] = int(solution.shape[0])
        summary["grid_shape"] = solution.attrs.get("grid_shape", np.array([])).tolist()
        summary["datasets"] = sorted(_walk(handle))
    summary["history"] = history
    return summary


def _walk(group, prefix=""):
    for name, item in group.items():
        full = f"{prefix}/{name}"
        if hasattr(item, "items"):
            yield from _walk(item, full)
        else:
            yield full


def read_solution(path: str) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as handle:
        return handle["solution"][()]


def read_products(path: str) -> tuple[dict, dict, dict]:
    """(derived arrays, history columns, attributes) of a result file."""
    import h5py

    if not Path(path).is_file():
        raise InputError((str(path), "no such result file"))
    try:
        with h5py.File(path, "r") as handle:
            derived = {name: handle["derived"][name][()] for name in handle.get("derived", {})}
            history = {name: handle["history"][name][()] for name in handle.get("history", {})}
            attributes = {key: _attr(value) for key, value in handle.attrs.items()}
    except OSError as error:
        raise InputError((str(path), f"not a readable HDF5 result file ({error})")) from None
    return derived, history, attributes
