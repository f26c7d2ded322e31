"""Runs a job whose file writes fail on one rank, as a full disk or a lost mount would.

Usage: [mpirun -n P] python fail_write_on_rank.py JOB.toml FAILING_RANK WHERE
WHERE: "data" (the rank's raw-data write of the result fails with ENOSPC), "close" (its
collective close of the result fails, the others already in it) or "checkpoint" (the
raw-data write of the first checkpoint fails).
"""
import errno
import os
import sys

import h5py
from mpi4py import MPI

from hpcinv.cli import main

FAILING_RANK, WHERE = int(sys.argv[2]), sys.argv[3]
SUFFIX = ".ckpt.partial" if WHERE == "checkpoint" else ".h5.partial"
_setitem, _close = h5py.Dataset.__setitem__, h5py.File.close


def _failing_setitem(self, key, value):
    if WHERE != "close" and self.file.filename.endswith(SUFFIX):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _setitem(self, key, value)


def _failing_close(self):
    if WHERE == "close" and self.id.valid and self.filename.endswith(SUFFIX):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _close(self)


if MPI.COMM_WORLD.rank == FAILING_RANK:
    h5py.Dataset.__setitem__ = _failing_setitem
    h5py.File.close = _failing_close
sys.exit(main(["run", sys.argv[1], "--quiet"]))
