"""What a run may do to its output path: checked before any heavy work.

``check_path`` (serial, every rank and ``hpcinv validate``): a path MPI-IO can open, not a
directory, not one of the job's inputs, in a writable directory (and inside the sandbox in
service mode).  ``OutputLock``: one run per output at a time, through ``<path>.lock``
created atomically.  ``existing_result``: what already lies at the path, so that a result of
another job is replaced only when the job says ``[output] overwrite = true``.
``StopMarker``: ``<path>.stopped`` tells a wrapper that the run stopped with a checkpoint
(Open MPI's mpirun exits 1 whatever the ranks return when it is sent SIGTERM).
"""
from __future__ import annotations

import datetime
import json
import os
import socket
from pathlib import Path

from .. import sandbox
from ..errors import InputError, RuntimeFailure
from ..paths import resolve_input
from .hdf5 import MPIIO_MAX_PATH

KEY = "output.path"
# Files hpcinv puts beside a result; the longest name decides the length limit.
SUFFIXES = (".partial", ".ckpt", ".ckpt.partial", ".lock", ".stopped", ".stopped.partial",
            ".probe", ".probe.partial")
MAX_PATH = MPIIO_MAX_PATH - max(map(len, SUFFIXES))
_NAME_MAX = 255 - max(map(len, SUFFIXES))


def _input_paths(spec) -> list[str]:
    """Real paths of every file the job reads: the job file and each string value of its
    [problem] and [solver] tables (or array of strings) that names an existing file."""
    spec_dir = Path(spec.source).resolve().parent if spec.source not in ("<string>", "<demo>") \
        else None
    found = [spec.source] if os.path.isfile(spec.source) else []
    for table in (spec.problem, spec.solver):
        for value in table.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item:
                    path = item if os.path.isabs(item) and os.path.isfile(item) \
                        else resolve_input(item, spec_dir)
                    if path:
                        found.append(path)
    return [os.path.realpath(path) for path in found]


def check_path(path: str, spec=None) -> None:
    """InputError under ``output.path`` when ``path`` cannot be this job's output."""
    absolute = os.path.abspath(path)
    if len(absolute) > MAX_PATH:
        raise InputError((KEY, f"the absolute path has {len(absolute)} characters; at most "
                               f"{MAX_PATH} are allowed (Open MPI's MPI-IO fails on longer "
                               f"names): choose a shorter path"))
    if any(len(part) > _NAME_MAX for part in Path(absolute).parts):
        raise InputError((KEY, f"a path component is longer than {_NAME_MAX} characters"))
    refusal = sandbox.output_refusal(absolute)
    if refusal:
        raise InputError((KEY, refusal))
    if os.path.isdir(absolute):
        raise InputError((KEY, f"{path} is a directory; name a file ending in .h5"))
    if spec is not None:
        real = os.path.realpath(absolute)
        outputs = {real, *(real + suffix for suffix in SUFFIXES)}
        for source in _input_paths(spec):
            if source in outputs:
                raise InputError((KEY, f"{path} is one of the job's inputs ({source}); "
                                       "writing there would destroy it"))
    directory = os.path.dirname(absolute)
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise InputError((KEY, f"cannot create {directory}: {existing} is not a directory"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError((KEY, f"cannot write to {directory} (permission denied)"))


def existing_result(path: str, fingerprint: str) -> str:
    """What lies at ``path``: 'none', 'same' (this job's result), 'other' (another job's
    result) or 'foreign' (a file that is not an hpcinv result)."""
    if not os.path.lexists(path):
        return "none"
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            stored = handle.attrs.get("fingerprint")
            if stored is None or "solution" not in handle:
                return "foreign"
    except Exception:  # noqa: BLE001 - whatever h5py makes of it, it is no result of ours
        return "foreign"
    stored = stored.decode() if isinstance(stored, bytes) else str(stored)
    return "same" if stored == fingerprint else "other"


def overwrite_refusal(path: str, what: str) -> str:
    kind = {"other": "the result of another job",
            "checkpoint": "the checkpoint of a different problem or solver configuration",
            }.get(what, "not an hpcinv result")
    return (f"{path} exists and is {kind}; set [output] overwrite = true (or pass "
            f"--overwrite) to replace it, or choose another output path")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _owner() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _now(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(holder: dict) -> bool:
    """True when the run holding the lock is gone: a dead process on this host, or this
    SLURM job itself (requeued after its node died)."""
    job = os.environ.get("SLURM_JOB_ID")
    if job and holder.get("slurm_job_id") == job:
        return True
    return holder.get("host") == socket.gethostname() and \
        isinstance(holder.get("pid"), int) and not _process_alive(holder["pid"])


class OutputLock:
    """``<path>.lock``, created with O_EXCL by rank 0 (atomic on local and NFSv3+ file
    systems): a second run on the same output finds it and is refused."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path) + ".lock"
        self.held = False
        self.owner = None       # what the lock file says: known to every rank of the run

    def acquire(self, job_source: str) -> dict:
        """Take the lock or raise InputError naming the run that holds it (rank 0); return
        the owner record written into it."""
        owner = self.owner = {**_owner(), "job": job_source}
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        except OSError as error:
            raise RuntimeFailure(f"cannot create {os.path.dirname(self.path)}: "
                                 f"{error.strerror}") from None
        for _ in range(3):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not _stale(holder):
                    raise InputError((KEY, self._busy_message(holder))) from None
                # Left by a run that died.  Renamed aside, not removed: of two runs taking
                # it over at once only one rename succeeds, and a fresh lock another run
                # created meanwhile is never the one moved unless it is stale too.
                aside = f"{self.path}.stale.{os.getpid()}"
                try:
                    os.rename(self.path, aside)
                except FileNotFoundError:
                    continue
                if self._holder(aside) != holder:
                    os.rename(aside, self.path)      # not the lock we judged: put it back
                    continue
                os.remove(aside)
                continue
            except OSError as error:
                raise RuntimeFailure(f"cannot write {self.path}: {error.strerror}") from None
            with os.fdopen(descriptor, "w") as handle:
                json.dump(owner, handle)
            self.held = True
            return owner
        raise InputError((KEY, f"cannot take the lock {self.path}: another run keeps "
                               "creating it"))

    def _holder(self, path: str | None = None) -> dict | None:
        try:
            with open(path or self.path) as handle:
                holder = json.load(handle)
            return holder if isinstance(holder, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _busy_message(self, holder: dict) -> str:
        who = ", ".join(f"{key} {holder[key]}" for key in ("job", "host", "pid", "started",
                                                           "slurm_job_id")
                        if holder.get(key) is not None) or "an unknown run"
        return (f"{self.path[:-len('.lock')]} is being written by another hpcinv run "
                f"({who}); wait for it to finish, or remove {self.path} if that run is gone")

    def release(self) -> None:
        if self.held:
            self.remove_if_ours()
            self.held = False
            self.owner = None

    def remove(self) -> None:
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass

    def remove_if_ours(self) -> None:
        """Delete the lock file if it still records ``owner`` (any rank of the run that took
        it, e.g. one aborting the job: the rank that took it is killed without cleaning)."""
        if self.owner is not None and self._holder() == self.owner:
            self.remove()


class StopMarker:
    """``<path>.stopped``: JSON (checkpoint, iteration, reason, signal, time) written by
    rank 0 when a run stops with a checkpoint; removed when a run of the output starts."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path) + ".stopped"

    def write(self, checkpoint: str, iteration: int, reason: str, signal: str | None):
        partial = self.path + ".partial"
        if os.path.lexists(partial):
            os.remove(partial)
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW,
                             0o644)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"checkpoint": checkpoint, "iteration": iteration, "reason": reason,
                       "signal": signal, "time": _now(), "exit_status": 75}, handle)
        os.replace(partial, self.path)

    def remove(self) -> None:
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
