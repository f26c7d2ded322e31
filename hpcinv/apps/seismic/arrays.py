"""Wavefields as arrays: an HDF5 dataset or an NPZ array of shape (n_t, n_receivers,
n_sources), with the sample interval ``dt`` (s) and the receiver spacing ``dr`` (m).

HDF5: ``dt`` and ``dr`` are attributes of the dataset or, failing that, of the file; a rank
reads only the receivers its traces belong to (an h5py slice).  NPZ: ``dt`` and ``dr`` are
scalar arrays beside the field's; the archive is read whole (NPZ files cannot be sliced on
disk).  Either may lack them when the job gives ``dt``/``dr``.
"""
from __future__ import annotations

import zipfile
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError
from ...core.io.inputs import check_real, first_line
from .wavefield import Wavefield, receivers_of, trace_major

SAMPLING = ("dt", "dr")


def _sampling_value(value, name: str, where: str, key: str) -> float:
    """A stored dt or dr: a positive finite real scalar."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "iuf" or not np.isfinite(array).all() \
            or float(array.reshape(-1)[0]) <= 0:
        raise InputError((key, f"{where}: {name} must be one positive number, got {value!r}"))
    return float(array.reshape(-1)[0])


def _check_shape(shape: tuple, where: str, key: str) -> None:
    if len(shape) != 3 or min(shape) < 1:
        raise InputError((key, f"{where}: shape {shape}; a wavefield is (n_t, n_receivers, "
                               f"n_sources), all at least 1"))


@contextmanager
def _hdf5_file(path: str, key: str):
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            yield handle
    except OSError as error:
        raise InputError((key, f"cannot read HDF5 file {path}: {first_line(error)}")) from None


@dataclass(frozen=True, eq=False)
class HDF5Wavefield(Wavefield):
    dataset: str

    @property
    def where(self) -> str:
        return f"dataset {self.dataset!r} in {self.path}"

    def _read(self, start: int, stop: int) -> np.ndarray:
        first, last = receivers_of(start, stop, self.n_sources)
        with _hdf5_file(self.path, self.key) as handle:
            block = handle[self.dataset][:, first:last, :]
        return trace_major(block, first, self.n_sources, start, stop)


def open_hdf5(path: str, key: str, dataset: str) -> HDF5Wavefield:
    """The field in dataset ``dataset`` of HDF5 file ``path`` (headers only)."""
    import h5py

    where = f"dataset {dataset!r} in {path}"
    with _hdf5_file(path, key) as handle:
        item = handle.get(dataset)
        if not isinstance(item, h5py.Dataset):
            what = "a group" if isinstance(item, h5py.Group) else "missing"
            raise InputError((key, f"{where} is {what} (datasets at the top: "
                                   f"{', '.join(handle) or 'none'})"))
        check_real(np.empty(0, dtype=item.dtype), where, key)
        _check_shape(item.shape or (), where, key)
        sampling = {name: _sampling_value(item.attrs[name] if name in item.attrs
                                          else handle.attrs[name], name, where, key)
                    if name in item.attrs or name in handle.attrs else None
                    for name in SAMPLING}
        shape = item.shape
    return HDF5Wavefield(path, key, *shape, sampling["dt"], sampling["dr"], None, None,
                         dataset)


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}


@contextmanager
def _npz_file(path: str, key: str):
    try:
        with np.load(path, allow_pickle=False) as archive:
            yield archive
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise InputError((key, f"cannot read NPZ file {path}: {first_line(error)}")) from None


@dataclass(frozen=True, eq=False)
class NPZWavefield(Wavefield):
    name: str

    @property
    def where(self) -> str:
        return f"array {self.name!r} in {self.path}"

    def _read(self, start: int, stop: int) -> np.ndarray:
        with _npz_file(self.path, self.key) as archive:
            values = archive[self.name]
        return trace_major(values, 0, self.n_sources, start, stop)


def _npy_header(archive, name: str, where: str, key: str) -> tuple:
    """(shape, dtype) of array ``name`` of an open NPZ archive, from its header alone."""
    with archive.zip.open(f"{name}.npy") as stream:
        version = np.lib.format.read_magic(stream)
        if version not in _NPY_HEADERS:
            raise InputError((key, f"{where}: unsupported .npy format version {version}"))
        shape, _, dtype = _NPY_HEADERS[version](stream)
    return shape, dtype


def open_npz(path: str, key: str, name: str) -> NPZWavefield:
    """The field in array ``name`` of NPZ file ``path`` (its header; the values are read
    whole when traces are asked for)."""
    where = f"array {name!r} in {path}"
    with _npz_file(path, key) as archive:
        if name not in archive.files:
            raise InputError((key, f"{path} has no array {name!r} (arrays: "
                                   f"{', '.join(archive.files) or 'none'})"))
        shape, dtype = _npy_header(archive, name, where, key)
        check_real(np.empty(0, dtype=dtype), where, key)
        sampling = {entry: _sampling_value(archive[entry], entry, path, key)
                    if entry in archive.files else None for entry in SAMPLING}
    _check_shape(shape, where, key)
    return NPZWavefield(path, key, *shape, sampling["dt"], sampling["dr"], None, None, name)


def write_npz(path: str, fields: dict, dt: float, dr: float) -> None:
    """Fields {array name: (n_t, n_receivers, n_sources) array} with dt and dr, the layout
    ``open_npz`` reads."""
    np.savez(path, dt=dt, dr=dr, **{name: np.asarray(values, dtype=float)
                                    for name, values in fields.items()})


def write_hdf5(path: str, fields: dict, dt: float, dr: float) -> None:
    """Fields {dataset name: (n_t, n_receivers, n_sources) array} with dt and dr as file
    attributes, the layout ``open_hdf5`` reads."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["dt"], handle.attrs["dr"] = dt, dr
        for name, values in fields.items():
            handle.create_dataset(name, data=np.asarray(values, dtype=float))
