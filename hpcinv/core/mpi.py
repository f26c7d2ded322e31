"""MPI helpers that keep every rank in step: agreeing on failures, ending the job on one."""
from __future__ import annotations

import os
import sys
import time
import traceback

from .errors import EXIT_BAD_INPUT, EXIT_RUNTIME_FAILURE, InputError, RuntimeFailure


def world():
    """MPI_COMM_WORLD (initialises MPI on first use)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


# Where launchers (mpirun of Open MPI/MPICH, srun) say a process's rank before MPI starts.
_LAUNCHER_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")


def launcher_rank() -> int:
    """This process's rank as its launcher set it (0 when not launched as an MPI job): for
    messages printed once before MPI runs."""
    import os

    for variable in _LAUNCHER_RANK_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit():
            return int(value)
    return 0


def same_on_every_rank(mpi, value, root: int = 0):
    """``value`` as rank ``root`` has it, on every rank (collective).  For results that must
    not differ by a rounding between ranks: a chosen lambda from replicated LAPACK calls,
    HDF5 attributes, which must be written identically by every rank."""
    return mpi.bcast(value, root=root)


def global_max(mpi, value):
    """The largest ``value`` over the ranks of the mpi4py communicator ``mpi`` (collective)."""
    from mpi4py import MPI

    return mpi.allreduce(value, op=MPI.MAX)


def agree(comm, function, *args, **kwargs):
    """Run ``function`` on every rank; if it fails on any rank, fail on all of them.

    ``function`` must not enter a collective operation before its checks (it may differ per
    rank, e.g. a file visible to only some nodes).  Every rank then learns every rank's
    failure, so all raise the same InputError (bad input) or RuntimeFailure together and
    rank 0 alone reports it: no rank is left waiting in a collective.
    """
    outcome, error = None, None
    try:
        outcome = function(*args, **kwargs)
    except InputError as caught:
        error = ("input", caught.problems)
    except RuntimeFailure as caught:
        error = ("runtime", f"rank {comm.rank}: {caught}")
    except Exception as caught:  # noqa: BLE001 - reported on every rank below
        error = ("runtime", f"rank {comm.rank}: {type(caught).__name__}: {caught}")
    errors = comm.allgather(error)
    inputs = [problem for e in errors if e and e[0] == "input" for problem in e[1]]
    failures = [e[1] for e in errors if e and e[0] == "runtime"]
    if failures:
        failure = RuntimeFailure("; ".join(failures))
        failure.agreed = True
        raise failure
    if inputs:
        unique = list(dict.fromkeys(inputs))
        raise InputError(unique)
    return outcome



def on_root_quietly(comm, function, *args, **kwargs):
    """``function`` run on rank 0 alone, its outcome returned on every rank (failures
    agreed as in ``agree``).  The other ranks wait in a sleeping poll of a non-blocking
    barrier, not in a blocking collective: Open MPI's busy polling would take cores from
    rank 0's (timed, serial) work when ranks share them."""
    def work():
        try:
            return function(*args, **kwargs) if comm.rank == 0 else None
        finally:
            request = comm.Ibarrier()
            while not request.Test():
                time.sleep(0.01)

    return comm.bcast(agree(comm, work), root=0)

# Callbacks run by a rank that aborts the job: the other ranks are killed without running
# their ``finally`` blocks, so what they would have removed (a lock) goes here.
_BEFORE_ABORT: list = []


def before_abort(callback) -> None:
    """Run ``callback`` (no arguments) if this process aborts the MPI job."""
    _BEFORE_ABORT.append(callback)


def forget_before_abort(callback) -> None:
    if callback in _BEFORE_ABORT:
        _BEFORE_ABORT.remove(callback)


def report_and_exit(error: BaseException, comm) -> None:
    """End the whole job after an exception on this rank, printing the message once.

    Bad input and failures every rank agreed on (see ``agree``) exit normally with status 2
    or 1 on all ranks, rank 0 printing.  Anything else may have left other ranks inside a
    collective, so this rank prints and aborts MPI_COMM_WORLD: the job ends within seconds
    instead of hanging.
    """
    size = comm.size if comm is not None else 1
    rank = comm.rank if comm is not None else 0
    if isinstance(error, InputError):
        if rank == 0:
            print(f"hpcinv: invalid input:\n{error.format()}", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
    if isinstance(error, RuntimeFailure) and getattr(error, "agreed", False):
        if rank == 0:
            print(f"hpcinv: error: {error}", file=sys.stderr, flush=True)
        if getattr(error, "abandoned_file", False):
            # An HDF5 file left open after a failed parallel write: closing it at exit (h5py's
            # atexit, MPI_Finalize) may hang, so every rank ends here, together.
            sys.stdout.flush()
            comm.Barrier()
            os._exit(EXIT_RUNTIME_FAILURE)
        sys.exit(EXIT_RUNTIME_FAILURE)
    if rank > 0:
        # When every rank fails alike, rank 0's abort usually ends this rank during the
        # pause, so the message appears once; a failure on this rank alone still ends the job.
        time.sleep(0.5)
    where = f" on rank {rank} of {size}" if size > 1 else ""
    if isinstance(error, RuntimeFailure):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}\n" + \
            "".join(traceback.format_exception(error)).rstrip()
    print(f"hpcinv: error{where}: {text}", file=sys.stderr, flush=True)
    if size > 1:
        for cleanup in _BEFORE_ABORT:
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - the job is ending; the abort matters more
                pass
        comm.Abort(EXIT_RUNTIME_FAILURE)
    sys.exit(EXIT_RUNTIME_FAILURE)

