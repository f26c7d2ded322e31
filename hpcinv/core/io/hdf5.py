"""HDF5 files shared by all ranks (h5py's MPI-IO driver) and atomic publication.

Every write goes to ``<name>.partial`` and is renamed by rank 0 once all ranks closed it,
so a reader never sees a half-written file under the final name.

A write failure (disk full, quota, a vanished mount) must end every rank, not leave the
others waiting inside a collective HDF5 call.  Hence: the space a file needs is checked
before it is opened; each rank's raw-data writes are independent MPI-IO calls whose failure
all ranks learn at once (``_all_or_none``), so they leave the file together and remove the
partial file; and a failure that cannot be agreed (the collective close) removes the
partial file on the failing rank, which then aborts the job (``core.mpi.report_and_exit``).
"""
from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager

import numpy as np

from ..errors import RuntimeFailure
from .checksum import array_checksum, local_ranges, vec_checksum

# Measured with Open MPI 4.1 (Debian bookworm): its MPI-IO layer (OMPIO) overflows a buffer
# and aborts the process (SIGABRT, or SIGSEGV) when an absolute file name has 245 characters
# or more; 244 work.  Checked before any MPI-IO call, whatever the rank count, so a job that
# runs on one rank also runs on many.
MPIIO_MAX_PATH = 244

# HDF5's superblock, object headers and B-trees on top of the raw data (a result file of
# a few datasets has about 20 KiB of them).
_METADATA_BYTES = 1 << 16


class WriteFailure(RuntimeFailure):
    """A file could not be written; every rank raises it together (``agreed``)."""

    agreed = True


def open_shared(path: str, mode: str, comm):
    """Open ``path`` on every rank of ``comm`` (collective when there is more than one)."""
    import h5py

    if comm.size == 1:
        return h5py.File(path, mode)
    if not h5py.get_config().mpi:
        raise RuntimeFailure("h5py was loaded without MPI, so several ranks cannot share an "
                             "HDF5 file; install python3-h5py-mpi (Debian) or an MPI h5py, "
                             "and import h5py only after hpcinv started MPI")
    return h5py.File(path, mode, driver="mpio", comm=comm)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, RuntimeFailure):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _all_or_none(comm, what: str, action):
    """Run ``action`` on this rank; raise WriteFailure on every rank if it failed on any.
    Only for calls that are not collective themselves (they cannot hang the others)."""
    error, result = None, None
    try:
        result = action()
    except WriteFailure as caught:
        error = str(caught)
    except Exception as caught:  # noqa: BLE001 - reported on every rank below
        error = f"cannot write {what}: {_describe(caught)}"
    errors = comm.allgather(error)
    if any(errors):
        if comm.size == 1:
            raise WriteFailure(errors[0])
        raise WriteFailure("; ".join(f"rank {rank}: {e}" for rank, e in enumerate(errors)
                                     if e))
    return result


def free_bytes(directory: str) -> int:
    return shutil.disk_usage(directory).free


def check_space(path: str, needed_bytes: int) -> None:
    """Raise WriteFailure when the file system of ``path`` has less free space than a file
    of ``needed_bytes`` of data takes (run on one rank: the directory is shared)."""
    directory = os.path.dirname(os.path.abspath(path))
    needed = int(needed_bytes * 1.05) + _METADATA_BYTES
    free = free_bytes(directory)
    if free < needed:
        raise WriteFailure(f"cannot write {path}: {os.strerror(errno.ENOSPC)} (the file needs "
                           f"about {_size(needed)}, {directory} has {_size(free)} free)")


def _size(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1024:.0f} KiB"


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


@contextmanager
def atomic_file(path: str, comm, data_bytes: int = 0):
    """Write ``path.partial`` collectively and rename it to ``path`` when complete.

    ``data_bytes`` (the datasets' size) is checked against the free space first.  On a
    failure the partial file is removed: by rank 0 after a failure every rank shares, by the
    failing rank itself otherwise (before the job is aborted)."""
    path = os.path.abspath(path)
    partial = path + ".partial"

    def prepare():
        if comm.rank == 0:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # A leftover (or planted symbolic link) under the partial name is removed, not
            # written through.
            if os.path.lexists(partial):
                os.remove(partial)
            check_space(path, data_bytes)

    _all_or_none(comm, path, prepare)
    # MPI-IO's open is collective and fails on every rank alike; the exchange after it only
    # makes each rank raise the same WriteFailure.
    handle = _all_or_none(comm, partial, lambda: open_shared(partial, "w", comm))
    try:
        yield handle
    except WriteFailure as failure:
        # Every rank is here together, but after a real I/O error HDF5's collective close
        # may hang or crash (measured with ENOSPC on tmpfs), so the file is abandoned: on
        # several ranks the process ends without closing it (``core.mpi.report_and_exit``).
        if comm.size == 1:
            try:
                handle.close()
            except Exception:  # noqa: BLE001 - the write failed already; the cause is raised
                pass
        else:
            failure.abandoned_file = True
        comm.Barrier()
        if comm.rank == 0:
            _remove_quietly(partial)
        raise
    except BaseException:
        # This rank alone failed (the others may be inside a collective call): no collective
        # close; the job is about to be aborted.
        _remove_quietly(partial)
        raise
    try:
        _close_collectively(handle, comm)
    except Exception as error:
        _remove_quietly(partial)
        raise RuntimeFailure(f"cannot write {partial}: {_describe(error)}") from None
    comm.Barrier()

    def publish():
        if comm.rank == 0:
            os.replace(partial, path)

    try:
        _all_or_none(comm, path, publish)
    except WriteFailure:
        if comm.rank == 0:
            _remove_quietly(partial)
        raise


# When a write fails inside HDF5's collective close (a real ENOSPC while the metadata is
# flushed), the ranks can wait on each other inside HDF5 for ever (measured: a tmpfs filled
# during the write, 2 ranks).  No Python code runs then, so the watchdog is faulthandler's C
# thread: it prints where each rank was and ends the process with status 1, which makes
# mpirun end the job.  The next run of the output removes the partial file and the lock.
CLOSE_WATCHDOG_SECONDS = 20


def _close_collectively(handle, comm) -> None:
    import faulthandler

    if comm.size > 1:
        faulthandler.dump_traceback_later(CLOSE_WATCHDOG_SECONDS, exit=True)
    try:
        handle.close()
    finally:
        if comm.size > 1:
            faulthandler.cancel_dump_traceback_later()


def probe(path: str, comm) -> None:
    """Create and remove ``path.partial`` collectively, the way results and checkpoints are
    written, so that an unwritable output fails before a solve rather than after it."""
    with atomic_file(path + ".probe", comm) as handle:
        handle.attrs["probe"] = 1
    comm.Barrier()
    if comm.rank == 0:
        _remove_quietly(os.path.abspath(path + ".probe"))
    comm.Barrier()


def write_vec(group, name: str, vec, comm, shape=None, ranges=None):
    """Store a distributed PETSc Vec as one dataset (collective); ``shape`` reshapes nothing
    on disk but is recorded as the attribute ``grid_shape``; ``ranges``: where this rank's
    entries go (``checksum.local_ranges``; default its ownership range).  The dataset's
    attribute ``checksum`` is ``checksum.vec_checksum`` of the values."""
    dataset = group.create_dataset(name, shape=(vec.getSize(),), dtype="f8")
    local = vec.getArray(readonly=True)
    pieces = local_ranges(vec, ranges)

    def write():
        for (start, stop), (begin, end) in pieces:
            if stop > start:
                dataset[start:stop] = local[begin:end]

    _all_or_none(comm, f"{group.file.filename}:{dataset.name}", write)
    if shape:
        dataset.attrs["grid_shape"] = np.asarray(shape, dtype=np.int64)
    dataset.attrs["checksum"] = vec_checksum(vec, comm, ranges)
    return dataset


def read_vec(dataset, vec, ranges=None):
    """Fill the local part of a PETSc Vec from a dataset written by ``write_vec`` (with the
    same ``ranges``, whatever the number of ranks then)."""
    if dataset.shape != (vec.getSize(),):
        raise RuntimeFailure(f"{dataset.name} has shape {dataset.shape}, expected "
                             f"({vec.getSize()},)")
    local = vec.getArray()
    for (start, stop), (begin, end) in local_ranges(vec, ranges):
        local[begin:end] = dataset[start:stop]
    return vec


def write_replicated(group, name: str, array, comm):
    """A dataset every rank knows; created collectively, written by rank 0 alone, with the
    attribute ``checksum`` (``checksum.array_checksum``)."""
    array = np.asarray(array)
    dataset = group.create_dataset(name, shape=array.shape, dtype=array.dtype)

    def write():
        if comm.rank == 0 and array.size:
            dataset[...] = array

    _all_or_none(comm, f"{group.file.filename}:{dataset.name}", write)
    if array.dtype.kind in "fiub":
        # Only rank 0's values reach the file (a history's clock column differs by rank).
        dataset.attrs["checksum"] = comm.bcast(array_checksum(array) if comm.rank == 0
                                               else None)
    return dataset
