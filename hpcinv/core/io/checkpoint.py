"""Checkpoints: the solver state in ``<result>.ckpt``, written atomically, any rank count.

Layout: /vectors/<name> (global vectors), /history/<field>, attributes ``iteration``,
``seconds``, ``fingerprint`` (of the job's problem and solver), ``scalars`` and ``rng``
(JSON).  Vectors are stored globally, so a run may resume on a different number of ranks.
"""
from __future__ import annotations

import json
import os

from ..errors import InputError
from ..state import History, SolverState
from .hdf5 import atomic_file, open_shared, read_vec, write_replicated, write_vec
from ..mpi import same_on_every_rank


class CheckpointStore:
    def __init__(self, result_path: str, fingerprint: str, comm):
        self.path = result_path + ".ckpt"
        self.fingerprint = fingerprint
        self.comm = comm

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def save(self, state: SolverState, seconds: float) -> None:
        seconds = same_on_every_rank(self.comm, seconds)   # HDF5 attributes
        with atomic_file(self.path, self.comm) as handle:
            vectors = handle.create_group("vectors")
            for name, vec in state.vectors.items():
                write_vec(vectors, name, vec)
            history = handle.create_group("history")
            for name, array in state.history.arrays().items():
                write_replicated(history, name, array, self.comm)
            handle.attrs["iteration"] = state.iteration
            handle.attrs["seconds"] = seconds
            handle.attrs["fingerprint"] = self.fingerprint
            handle.attrs["scalars"] = json.dumps(state.scalars)
            handle.attrs["rng"] = json.dumps(state.rng)

    def load(self, template: SolverState) -> SolverState:
        """Restore into the vectors of a fresh ``template`` state (which fixes the layout)."""
        handle = open_shared(self.path, "r", self.comm)
        try:
            if handle.attrs["fingerprint"] != self.fingerprint:
                raise InputError((self.path, "checkpoint belongs to a different problem or "
                                             "solver configuration; remove it or run without "
                                             "--resume"))
            for name, vec in template.vectors.items():
                read_vec(handle["vectors"][name], vec)
            history = History.from_arrays({name: handle["history"][name][()]
                                           for name in handle["history"]})
            return SolverState(vectors=template.vectors,
                               scalars=json.loads(handle.attrs["scalars"]),
                               iteration=int(handle.attrs["iteration"]),
                               rng=json.loads(handle.attrs["rng"]), history=history,
                               seconds=float(handle.attrs["seconds"]))
        finally:
            handle.close()

    def remove(self) -> None:
        self.comm.Barrier()
        if self.comm.rank == 0 and self.exists():
            os.remove(self.path)
        self.comm.Barrier()
