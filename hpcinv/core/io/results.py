"""Result files: /solution, /history, /derived, optional /data and /truth, provenance.

Attributes: ``job_spec`` (TOML text), ``problem_kind``, ``solver_kind``, ``stop_reason``,
``iterations``, ``ranks``, ``hosts``, ``started``/``finished`` (UTC, ISO 8601),
``timings`` (JSON: setup, solve, write seconds), ``versions`` (JSON), ``noise_norm``,
``discrepancy_target``, ``exact_resume``, ``resumed``.  Every numeric dataset carries the
attribute ``checksum`` (``checksum.py``) and the file the attribute ``checksum``, a SHA-256
over its other attributes and the datasets' checksums: ``verify_result`` (``hpcinv inspect
--verify``) recomputes them all.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .checksum import dataset_checksum
from .hdf5 import atomic_file, write_replicated, write_vec


def write_result(path: str, comm, *, solution, history, attrs: dict, grid_shape=(),
                 derived: dict | None = None, extra_vectors: dict | None = None) -> None:
    vectors = {"solution": solution, **(extra_vectors or {})}
    arrays = {"history": history.arrays(), "derived": derived or {}}
    data_bytes = sum(vec.getSize() * 8 for vec in vectors.values()) + \
        sum(np.asarray(a).nbytes for group in arrays.values() for a in group.values())
    with atomic_file(path, comm, data_bytes) as handle:
        for name, vec in vectors.items():
            write_vec(handle, name, vec, comm, grid_shape)
        for group_name, group_arrays in arrays.items():
            group = handle.create_group(group_name)
            for name, array in group_arrays.items():
                write_replicated(group, name, array, comm)
        for key, value in attrs.items():
            handle.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        handle.attrs["checksum"] = _file_checksum(handle)


def _file_checksum(handle) -> str:
    """SHA-256 over the file's attributes (but ``checksum``) and its datasets' checksums."""
    attributes = {key: _attr(value) for key, value in handle.attrs.items() if key != "checksum"}
    datasets = {name: _attr(handle[name].attrs.get("checksum", ""))
                for name in sorted(_walk(handle))}
    blob = json.dumps({"attributes": attributes, "datasets": datasets}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def verify_result(path: str) -> list[str]:
    """What in a result file does not match its checksums (empty: it verifies); serial."""
    import h5py

    problems = []
    try:
        with h5py.File(path, "r") as handle:
            if "checksum" not in handle.attrs:
                return ["no checksums (written before hpcinv recorded them)"]
            for name in sorted(_walk(handle)):
                dataset = handle[name]
                stored = _attr(dataset.attrs.get("checksum", ""))
                if stored and dataset_checksum(dataset) != stored:
                    problems.append(f"{name}: contents do not match the checksum")
            if _attr(handle.attrs["checksum"]) != _file_checksum(handle):
                problems.append("attributes or dataset checksums were changed after writing")
    except (OSError, KeyError, ValueError, TypeError) as error:
        problems.append(f"unreadable ({type(error).__name__}: {error})")
    return problems


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


@contextmanager
def _reading(path):
    """The result file open for reading; a missing or unreadable file is bad input."""
    import h5py

    if not Path(path).is_file():
        raise InputError((str(path), "no such result file"))
    try:
        with h5py.File(path, "r") as handle:
            yield handle
    except OSError as error:
        raise InputError((str(path), f"not a readable HDF5 result file ({error})")) from None


def _products(handle) -> tuple[dict, dict, dict]:
    derived = {name: handle["derived"][name][()] for name in handle.get("derived", {})}
    history = {name: handle["history"][name][()] for name in handle.get("history", {})}
    attributes = {key: _attr(value) for key, value in handle.attrs.items()}
    return derived, history, attributes


def read_products(path: str) -> tuple[dict, dict, dict]:
    """(derived arrays, history columns, attributes) of a result file."""
    with _reading(path) as handle:
        return _products(handle)


@dataclass(frozen=True)
class ResultProducts:
    """What ``hpcinv plot`` draws: a result's derived arrays, history columns, attributes
    and the solution's grid shape.  The vectors (/solution, /truth, ...) are read only when
    asked for: a galaxy result's solution may be far larger than anything plotted."""
    path: Path
    derived: dict
    history: dict
    attributes: dict
    grid_shape: tuple

    def vector(self, name: str) -> np.ndarray | None:
        """The dataset /``name`` (solution, truth, data, ...), None when not stored."""
        with _reading(self.path) as handle:
            return handle[name][()] if name in handle else None


def read_result(path: str) -> ResultProducts:
    """A result file's products for ``hpcinv plot`` (serial; no MPI needed)."""
    with _reading(path) as handle:
        derived, history, attributes = _products(handle)
        solution = handle.get("solution")
        shape = solution.attrs.get("grid_shape", ()) if solution is not None else ()
    return ResultProducts(Path(path), derived, history, attributes,
                          tuple(int(n) for n in shape))
