"""The monitor/stopping/checkpoint protocol every iterative solver calls once per iteration.

``IterationControl.record`` appends the history row, prints progress on rank 0, and makes
the collective decisions: write a checkpoint now (every N iterations, every T seconds, or
on SIGTERM/SIGUSR1) and stop now (signal, wall time).  Time-based decisions are rank 0's and
signals any rank's, combined in one small allreduce so that all ranks act alike.
"""
from __future__ import annotations

import math
import time

from ...core.errors import RuntimeFailure
from ...core.petsc_env import release_memory
from ...core.progress import Progress

_SIGNAL, _CHECKPOINT_DUE, _WALL_TIME = 1, 2, 4

# The stop reason of an iteration whose residual or target is not finite (overflow, NaN):
# the run fails (``check_finite``), it never counts as converged.
NON_FINITE = "non_finite"


class IterationControl:
    def __init__(self, comm, *, truth=None, data_norm: float = 1.0, target: float = 0.0,
                 max_iterations: int, wall_time: float = 0.0, checkpoint_every: int = 0,
                 checkpoint_seconds: float = 0.0, checkpoint=None, stop_request=None,
                 progress: Progress | None = None, monitor=None):
        """``monitor(iteration, residual_norm)``, when given, sees every recorded iteration
        (a method's own monitor lines, ``IterativeMethod.iteration_monitor``)."""
        self.comm = comm.tompi4py() if hasattr(comm, "tompi4py") else comm
        self.truth = truth
        self.truth_norm = truth.norm() if truth is not None else 0.0
        self._error_work = truth.duplicate() if truth is not None else None
        self.data_norm = data_norm if data_norm > 0 else 1.0
        self.target = target
        self.max_iterations = max_iterations
        self.wall_time = wall_time
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.checkpoint = checkpoint
        self.stop_request = stop_request
        self.progress = progress
        self.monitor = monitor
        self.started = time.monotonic()
        self._last_checkpoint = self.started
        self.checkpoints_written = 0
        self.non_finite = None   # (iteration, residual, target) of a non-finite record

    @classmethod
    def for_method(cls, method, *, truth=None, progress: bool = False,
                   progress_seconds: float | None = None, **options) -> "IterationControl":
        """The control of a run of ``method``: relative residuals against its residual
        scale, its target, rank 0's progress lines when ``progress`` (every
        ``progress_seconds``; None: 2 s on a terminal, 10 s otherwise), the method's
        ``iteration_monitor``; ``options`` as the constructor's (wall time, checkpoints,
        stop request)."""
        comm = method.operator.comm
        lines = Progress(enabled=progress and comm.tompi4py().rank == 0,
                         interval=progress_seconds, max_iterations=method.max_iterations)
        # A plugin kind's algorithm need not be an IterativeMethod, nor offer a monitor.
        monitor = getattr(method, "iteration_monitor", lambda: None)()
        return cls(comm, truth=truth, data_norm=method.residual_scale(), target=method.target,
                   max_iterations=method.max_iterations, progress=lines, monitor=monitor,
                   **options)

    def elapsed(self, state) -> float:
        return state.seconds + time.monotonic() - self.started

    def relative_error(self, solution) -> float:
        """||x - truth|| / ||truth|| (NaN without a truth); ``solution`` is the Vec x or a
        function returning it, called only when a truth is known (a method that forms x
        only on demand then spends nothing on it)."""
        if self.truth is None or self.truth_norm == 0:
            return float("nan")
        if callable(solution):
            solution = solution()
        self._error_work.waxpy(-1.0, self.truth, solution)
        return self._error_work.norm() / self.truth_norm

    def record(self, state, residual_norm: float, solution, **extra) -> str | None:
        """Log iteration ``state.iteration`` (with a solver's ``extra`` columns); return a
        stop reason or None to go on."""
        if not (math.isfinite(residual_norm) and math.isfinite(self.target)):
            # inf <= inf would pass for convergence: overflow is a failure, never a stop.
            self.non_finite = (state.iteration, residual_norm, self.target)
            return NON_FINITE
        state.history.append(iteration=state.iteration, residual_norm=residual_norm,
                             relative_residual=residual_norm / self.data_norm,
                             discrepancy_target=self.target,
                             relative_error=self.relative_error(solution),
                             seconds=self.elapsed(state), **extra)
        if self.progress is not None:
            self.progress.update(state.iteration, residual_norm, self.target)
        if self.monitor is not None:
            self.monitor(state.iteration, residual_norm)
        return self._decide(state)

    def _decide(self, state) -> str | None:
        # Every rank passes here at every iteration: the collective point at which the
        # vectors an iteration dropped are destroyed (``release_memory``; the heap is
        # trimmed between solves only).
        release_memory(self.comm, trim_heap=False)
        now = time.monotonic()
        flags = 0
        if self.stop_request is not None and self.stop_request.received:
            flags |= _SIGNAL
        if self.comm.rank == 0:
            if self.checkpoint_seconds > 0 and now - self._last_checkpoint >= self.checkpoint_seconds:
                flags |= _CHECKPOINT_DUE
            if self.wall_time > 0 and now - self.started >= self.wall_time:
                flags |= _WALL_TIME
        if self.comm.size > 1:
            flags = self.comm.allreduce(flags, op=_bitwise_or())
        by_count = (self.checkpoint_every > 0 and state.iteration > 0
                    and state.iteration % self.checkpoint_every == 0)
        stop = None
        if flags & _SIGNAL:
            stop = "signal"
        elif flags & _WALL_TIME:
            stop = "wall_time"
        if self.checkpoint is not None and (stop or by_count or flags & _CHECKPOINT_DUE):
            self.checkpoint(state, self.elapsed(state))
            self._last_checkpoint = time.monotonic()
            self.checkpoints_written += 1
        return stop

    def check_finite(self, reason: str) -> None:
        """Raise RuntimeFailure (the same on every rank: residual norms and targets are
        global reductions) when the run ended on a non-finite residual or target."""
        if reason != NON_FINITE:
            return
        iteration, residual, target = self.non_finite or ("?", float("nan"), self.target)
        failure = RuntimeFailure(
            f"the iteration produced non-finite numbers (residual {residual}, target "
            f"{target} at iteration {iteration}): the data, noise or parameters overflow "
            f"double precision; rescale the data or check them for huge values")
        failure.agreed = True
        raise failure

    def finish(self, state, residual_norm: float) -> None:
        if self.progress is not None:
            self.progress.update(state.iteration, residual_norm, self.target, force=True)


def _bitwise_or():
    from mpi4py import MPI

    return MPI.BOR
