"""Iteration control on 1 and 2 ranks: checkpoints by count and by time, wall-time and
signal stops decided alike on every rank."""
import os
import signal

import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.core.signals import StopRequest
from hpcinv.solvers import IterationControl, SolverState

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _drive(control, iterations):
    """Feed ``iterations`` records; return (iteration at stop or None, stop reason)."""
    state = SolverState()
    x = PETSc.Vec().createMPI(10, comm=COMM)
    for k in range(1, iterations + 1):
        state.iteration = k
        reason = control.record(state, 1.0 / k, x)
        if reason:
            return k, reason, state
    return None, None, state


@pytest.mark.mpi
def test_checkpoint_every_n_iterations():
    saved = []
    control = IterationControl(COMM, max_iterations=10, checkpoint_every=3,
                               checkpoint=lambda state, seconds: saved.append(state.iteration))
    stop, reason, state = _drive(control, 10)
    assert stop is None and saved == [3, 6, 9]
    assert state.history.columns["iteration"] == list(range(1, 11))


@pytest.mark.mpi
def test_checkpoint_by_time_and_wall_time_stop_agree_on_all_ranks():
    from mpi4py import MPI

    saved = []
    control = IterationControl(COMM, max_iterations=10 ** 6, checkpoint_seconds=1e-9,
                               checkpoint=lambda state, seconds: saved.append(state.iteration))
    _drive(control, 5)
    assert saved == [1, 2, 3, 4, 5]
    stop_control = IterationControl(COMM, max_iterations=10 ** 6, wall_time=1e-9,
                                    checkpoint=lambda state, seconds: saved.append(-1))
    stop, reason, _ = _drive(stop_control, 5)
    assert (stop, reason) == (1, "wall_time") and saved[-1] == -1
    assert MPI.COMM_WORLD.allgather(stop) == [1] * MPI.COMM_WORLD.size


@pytest.mark.mpi
def test_a_signal_on_one_rank_stops_every_rank():
    from mpi4py import MPI

    saved = []
    with StopRequest() as request:
        control = IterationControl(COMM, max_iterations=100, stop_request=request,
                                   checkpoint=lambda state, seconds: saved.append(state.iteration))
        if COMM.getRank() == COMM.getSize() - 1:
            os.kill(os.getpid(), signal.SIGUSR1)
        stop, reason, _ = _drive(control, 100)
    assert (stop, reason) == (1, "signal") and saved == [1]
    assert MPI.COMM_WORLD.allgather(reason) == ["signal"] * MPI.COMM_WORLD.size
    assert signal.getsignal(signal.SIGUSR1) is not request._handle


def _garbage_entries(capfd) -> int:
    """The PETSc objects Python dropped that are not destroyed yet, on the busiest rank."""
    import re

    capfd.readouterr()
    PETSc.garbage_view(COMM)
    counts = re.findall(r"Total entries: (\d+)", capfd.readouterr().out)
    return max(int(count) for count in COMM.tompi4py().allgather(max(map(int, counts),
                                                                          default=0)))


@pytest.mark.mpi
def test_repeated_solves_do_not_pile_up_petsc_garbage(capfd):
    """petsc4py 3.18 only stashes a dropped parallel object: a process solving many times
    (a parameter sweep) would keep every vector it made.  The solves destroy what earlier
    ones dropped, so ten leave no more behind than one."""
    from hpcinv.solvers.krylov.lsqr import LSQR
    from helpers import distributed_matrix, range_vec
    import numpy as np

    rng = np.random.default_rng(0)
    operator = distributed_matrix(rng.standard_normal((12, 8)))
    data = range_vec(operator, rng.standard_normal(12))

    def solves(count):
        for _ in range(count):
            LSQR(operator, data, max_iterations=3).run()
        return _garbage_entries(capfd)

    after_one = solves(1)
    assert after_one > 0            # the last solve's own vectors wait for the next
    assert solves(10) == after_one


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.mark.mpi
def test_release_memory_gives_freed_heap_back():
    """glibc keeps freed blocks under its adaptive mmap threshold in the heap; between
    solves release_memory returns them (here 40 freed 10 MB arrays)."""
    import numpy as np

    from hpcinv.core.petsc_env import release_memory

    big = np.ones(20 * 2 ** 17)
    del big         # a freed 20 MB mapping raises glibc's threshold above 10 MB
    blocks, pins = [], []
    for _ in range(40):
        blocks.append(np.ones(10 * 2 ** 17))
        pins.append(np.ones(16))
    del blocks
    held = _resident_mb()
    release_memory(COMM)
    assert _resident_mb() < held - 200
