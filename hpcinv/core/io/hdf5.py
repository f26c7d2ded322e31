"""HDF5 files shared by all ranks (h5py's MPI-IO driver) and atomic publication.

Every write goes to ``<name>.partial`` and is renamed by rank 0 once all ranks closed it,
so a reader never sees a half-written file under the final name.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np


def open_shared(path: str, mode: str, comm):
    """Open ``path`` on every rank of ``comm`` (collective when there is more than one)."""
    import h5py

    if comm.size == 1:
        return h5py.File(path, mode)
    if not h5py.get_config().mpi:
        from ..errors import RuntimeFailure

        raise RuntimeFailure("h5py was loaded without MPI, so several ranks cannot share an "
                             "HDF5 file; install python3-h5py-mpi (Debian) or an MPI h5py, "
                             "and import h5py only after hpcinv started MPI")
    return h5py.File(path, mode, driver="mpio", comm=comm)


@contextmanager
def atomic_file(path: str, comm):
    """Write ``path.partial`` collectively and rename it to ``path`` when complete."""
    partial = path + ".partial"
    if comm.rank == 0:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
    comm.Barrier()
    handle = open_shared(partial, "w", comm)
    try:
        yield handle
    except BaseException:
        handle.close()
        try:
            os.remove(partial)   # whichever rank gets here first; the job is ending anyway
        except FileNotFoundError:
            pass
        raise
    handle.close()
    comm.Barrier()
    if comm.rank == 0:
        os.replace(partial, path)
    comm.Barrier()


def write_vec(group, name: str, vec, shape=None):
    """Store a distributed PETSc Vec as one dataset (collective); ``shape`` reshapes nothing
    on disk but is recorded as the attribute ``grid_shape``."""
    start, stop = vec.getOwnershipRange()
    dataset = group.create_dataset(name, shape=(vec.getSize(),), dtype="f8")
    if stop > start:
        dataset[start:stop] = vec.getArray(readonly=True)
    if shape:
        dataset.attrs["grid_shape"] = np.asarray(shape, dtype=np.int64)
    return dataset


def read_vec(dataset, vec):
    """Fill the local part of a PETSc Vec from a dataset written by ``write_vec``."""
    if dataset.shape != (vec.getSize(),):
        from ..errors import RuntimeFailure

        raise RuntimeFailure(f"{dataset.name} has shape {dataset.shape}, expected "
                             f"({vec.getSize()},)")
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = dataset[start:stop]
    return vec


def write_replicated(group, name: str, array, comm):
    """A dataset every rank knows; created collectively, written by rank 0 alone."""
    array = np.asarray(array)
    dataset = group.create_dataset(name, shape=array.shape, dtype=array.dtype)
    if comm.rank == 0 and array.size:
        dataset[...] = array
    return dataset
