"""Checkpoints: the solver state in ``<result>.ckpt``, written atomically, any rank count.

Layout: /vectors/<name> (global vectors), /history/<field>, attributes ``iteration``,
``seconds``, ``fingerprint`` (of the job's problem and solver), ``scalars`` and ``rng``
(JSON), and ``checksum``: a SHA-256 over those attributes and every dataset's own
``checksum`` attribute (``checksum.py``).  Vectors are stored globally, so a run may resume
on a different number of ranks.

``load`` refuses (InputError: the user must remove the file or fix the job) a checkpoint
that does not verify: a changed checksum, non-finite values, an iteration counter that
disagrees with the history, a missing or misshapen dataset.  Resuming from one would
continue a different computation while the history claims the old one.
"""
from __future__ import annotations

import hashlib
import json
import math
import os

import numpy as np

from ..errors import InputError
from ..mpi import same_on_every_rank
from ..state import History, SolverState
from .checksum import array_checksum, combine, local_sum
from .hdf5 import atomic_file, open_shared, read_vec, write_replicated, write_vec

_HEADER = ("iteration", "seconds", "fingerprint", "scalars", "rng")


def _header_checksum(attrs: dict, datasets: dict) -> str:
    blob = json.dumps({"attributes": {key: attrs[key] for key in _HEADER},
                       "datasets": datasets}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _finite_numbers(value) -> bool:
    """True when every number in a JSON value is finite."""
    if isinstance(value, dict):
        return all(_finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return True


class CheckpointStore:
    def __init__(self, result_path: str, fingerprint: str, comm):
        self.path = result_path + ".ckpt"
        self.fingerprint = fingerprint
        self.comm = comm

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def fingerprint_on_disk(self) -> str | None:
        """The fingerprint the checkpoint file records (None: none or unreadable); serial."""
        import h5py

        try:
            with h5py.File(self.path, "r") as handle:
                stored = handle.attrs.get("fingerprint")
        except Exception:  # noqa: BLE001 - unreadable: ``load`` reports it
            return None
        return None if stored is None else _text(stored)

    def save(self, state: SolverState, seconds: float) -> None:
        seconds = same_on_every_rank(self.comm, seconds)   # HDF5 attributes
        histories = state.history.arrays()
        data_bytes = sum(vec.getSize() * 8 for vec in state.vectors.values()) + \
            sum(np.asarray(array).nbytes for array in histories.values())
        with atomic_file(self.path, self.comm, data_bytes) as handle:
            checksums = {}
            vectors = handle.create_group("vectors")
            for name, vec in state.vectors.items():
                checksums[f"vectors/{name}"] = write_vec(
                    vectors, name, vec, self.comm, ranges=state.orders.get(name)
                ).attrs["checksum"]
            history = handle.create_group("history")
            for name, array in histories.items():
                checksums[f"history/{name}"] = write_replicated(history, name, array,
                                                                self.comm).attrs["checksum"]
            # HDF5 attributes must be identical on every rank: rank 0's are written.
            attrs = same_on_every_rank(self.comm, {
                "iteration": int(state.iteration), "seconds": float(seconds),
                "fingerprint": self.fingerprint, "scalars": json.dumps(state.scalars),
                "rng": json.dumps(state.rng)})
            for key, value in attrs.items():
                handle.attrs[key] = value
            handle.attrs["checksum"] = _header_checksum(attrs, {k: _text(v) for k, v in
                                                                checksums.items()})

    def load(self, template: SolverState) -> SolverState:
        """Restore into the vectors of a fresh ``template`` state (which fixes the layout),
        after verifying the checkpoint (collective)."""
        handle, error = None, None
        try:
            handle = open_shared(self.path, "r", self.comm)
        except Exception as caught:  # noqa: BLE001 - every rank learns of it below
            error = f"not a readable checkpoint ({caught})"
        errors = [e for e in self.comm.allgather(error) if e]
        if errors:
            if handle is not None and self.comm.size == 1:
                handle.close()
            raise InputError((self.path, f"{errors[0]}; remove it or run without --resume"))
        state, sums = None, {}
        try:
            problem = self._verify_header(handle)
            if problem is None:
                state, sums, problem = self._read(handle, template)
        except Exception as error:  # noqa: BLE001 - damaged metadata raises anything
            problem = f"damaged checkpoint ({type(error).__name__}: {error})"
        finally:
            handle.close()
        # One exchange decides for all ranks (a rank whose read failed must not leave the
        # others in a collective); the vectors' checksums add up every rank's share.
        gathered = self.comm.allgather((problem, sums))
        problems = [p for p, _ in gathered if p]
        if not problems:
            for name, vec in template.vectors.items():
                shares = [share[name][0] for _, share in gathered]
                if combine(shares, vec.getSize()) != sums[name][1]:
                    problems.append(f"damaged checkpoint: vector {name!r} does not match its "
                                    "checksum")
                    break
        if problems:
            raise InputError((self.path, f"{problems[0]}; remove it or run without "
                                         "--resume"))
        return state

    def _verify_header(self, handle) -> str | None:
        """A problem with the attributes and the stored checksums, or None (same on every
        rank: every rank reads the same metadata)."""
        missing = [key for key in (*_HEADER, "checksum") if key not in handle.attrs]
        if missing or "vectors" not in handle or "history" not in handle:
            return "not a complete checkpoint (missing " + \
                ", ".join(missing or ["/vectors or /history"]) + ")"
        if _text(handle.attrs["fingerprint"]) != self.fingerprint:
            return "checkpoint belongs to a different problem or solver configuration"
        try:
            attrs = {"iteration": int(handle.attrs["iteration"]),
                     "seconds": float(handle.attrs["seconds"]),
                     "fingerprint": _text(handle.attrs["fingerprint"]),
                     "scalars": _text(handle.attrs["scalars"]),
                     "rng": _text(handle.attrs["rng"])}
            checksums = {f"{group}/{name}": _text(handle[group][name].attrs["checksum"])
                         for group in ("vectors", "history") for name in handle[group]}
        except Exception as error:  # noqa: BLE001 - damaged metadata raises anything
            return f"damaged checkpoint ({type(error).__name__}: {error})"
        if _text(handle.attrs["checksum"]) != _header_checksum(attrs, checksums):
            return "damaged checkpoint: its attributes or dataset list do not match the " \
                   "checksum written with it"
        return None

    def _read(self, handle, template: SolverState):
        """(state, {vector: (local checksum share, stored checksum)}, problem or None):
        this rank's part of the vectors and the history, checked without communication."""
        sums = {}
        missing = sorted(set(template.vectors) - set(handle["vectors"]))
        if missing:   # the verified header says the file is whole: another solver wrote it
            return None, sums, (f"written by another version of this solver: it lacks the "
                                f"vector(s) {', '.join(missing)} that this one keeps")
        try:
            for name, vec in template.vectors.items():
                dataset = handle["vectors"][name]
                order = template.orders.get(name)
                read_vec(dataset, vec, order)
                sums[name] = (local_sum(vec, order), _text(dataset.attrs["checksum"]))
            columns = {}
            for name in handle["history"]:
                dataset = handle["history"][name]
                columns[name] = dataset[()]
                if array_checksum(columns[name]) != _text(dataset.attrs["checksum"]):
                    return None, sums, f"damaged checkpoint: history {name!r} does not " \
                                       "match its checksum"
            scalars = json.loads(_text(handle.attrs["scalars"]))
            rng = json.loads(_text(handle.attrs["rng"]))
            iteration = int(handle.attrs["iteration"])
            seconds = float(handle.attrs["seconds"])
        except Exception as error:  # noqa: BLE001 - any structural damage is the file's
            return None, sums, f"damaged checkpoint ({type(error).__name__}: {error})"
        problem = _consistency_problem(template, scalars, iteration, seconds, columns)
        if problem:
            return None, sums, problem
        return SolverState(vectors=template.vectors, scalars=scalars, iteration=iteration,
                           rng=rng, history=History.from_arrays(columns),
                           seconds=seconds, orders=template.orders), sums, None

    def remove(self) -> None:
        self.comm.Barrier()
        if self.comm.rank == 0 and self.exists():
            os.remove(self.path)
        self.comm.Barrier()


def _consistency_problem(template, scalars, iteration, seconds, columns) -> str | None:
    """What makes verified contents impossible as a solver state (None: nothing)."""
    for name, vec in template.vectors.items():
        if not np.all(np.isfinite(vec.getArray(readonly=True))):
            return f"vector {name!r} holds non-finite values"
    if not isinstance(scalars, dict) or not _finite_numbers(scalars):
        return "its scalars hold non-finite values"
    if not math.isfinite(seconds) or seconds < 0:
        return f"its clock reads {seconds} s"
    iterations = columns.get("iteration")
    if iteration < 0 or iterations is None or not len(iterations) or \
            int(iterations[-1]) != iteration:
        last = int(iterations[-1]) if iterations is not None and len(iterations) else None
        return f"its iteration counter ({iteration}) disagrees with its history (last " \
               f"iteration {last})"
    return None
