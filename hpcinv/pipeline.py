"""The straight line of a run: job spec -> problem -> solver -> result file.

``run`` is what ``hpcinv run`` and Python drivers call, under mpirun/srun on every rank.
Every decision that sends ranks down different paths (bad input, resume or not, stop on a
signal) is taken collectively, so no rank is ever left waiting in a collective alone.
"""
from __future__ import annotations

import dataclasses
import datetime
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.jobspec import PROBLEMS, SOLVERS, JobSpec, load_spec, parse_spec, spec_from_mapping
from .core.jobspec.schema import check_value
from .core.jobspec.spec import OUTPUT_SCHEMA
from .core import petsc_env
from .core.petsc_log import stage
from .core.errors import EXIT_INTERRUPTED, EXIT_OK, InputError, RuntimeFailure, job_keys
from .core.mpi import agree, before_abort, forget_before_abort, same_on_every_rank
from .core.reporting import rank0_progress
from .core.signals import StopRequest

OUTPUT_KEY = "output.path"


@dataclass
class RunOutcome:
    result_path: str | None     # None when the run stopped early with a checkpoint
    checkpoint_path: str | None
    stop_reason: str
    iterations: int
    exit_status: int
    kept: bool = False          # --resume found this job's result complete: nothing ran
    solution: object = None     # the solution (a PETSc Vec) when this run computed it
    solver_results: dict = dataclasses.field(default_factory=dict)   # e.g. Tikhonov's lambda


def _as_spec(spec) -> JobSpec:
    if isinstance(spec, JobSpec):
        return spec
    if isinstance(spec, Mapping):
        return spec_from_mapping(spec)
    if isinstance(spec, (str, Path)) and str(spec).endswith(".toml"):
        return load_spec(str(spec))
    return parse_spec(str(spec))


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _say(comm, quiet: bool, message: str) -> None:
    rank0_progress(comm, quiet)(message)


def build(spec, comm=None):
    """(problem, solver) of a job on ``comm`` (default PETSc's COMM_WORLD), as ``run`` builds
    them: the job's memory estimate checked against the limit per rank (``core.memory``)
    and the problem kind's inputs on every rank (``agree``), then the distributed problem
    and the solver kind's algorithm.  For drivers that run the algorithm themselves
    (``solver.run()``)."""
    from mpi4py import MPI

    from .core.jobspec.memory_check import check_memory

    spec = _as_spec(spec)
    if comm is None:
        comm = petsc_env.initialize(spec.petsc).COMM_WORLD   # the job's options stay set
    mpi = comm.tompi4py()
    # A job too large for its ranks stops here, before its inputs are read or anything is
    # built.  Nodes may differ in memory and ranks per node, so the ranks agree.
    node = mpi.Split_type(MPI.COMM_TYPE_SHARED)
    ranks_on_node = node.size
    node.Free()
    agree(mpi, check_memory, spec, mpi.size, ranks_on_node)
    problem_kind = PROBLEMS.get(spec.problem["kind"], "problem.kind")
    solver_kind = SOLVERS.get(spec.solver["kind"], "solver.kind")
    prepared = agree(mpi, problem_kind.prepare, spec.problem)
    with job_keys("problem"):
        problem = problem_kind.build(prepared, comm)
    with job_keys("solver"):
        solver = solver_kind.build(problem, spec.solver)
    return problem, solver


def run(spec, *, resume: bool = False, output: str | None = None,
        quiet: bool = False, overwrite: bool | None = None,
        keep_petsc_options: bool = False) -> RunOutcome:
    """Run a job on all ranks of MPI_COMM_WORLD.

    ``spec``: a JobSpec, a ``.toml`` path, TOML text or a dict of the job's tables.
    ``resume`` continues from the checkpoint ``<output>.ckpt`` when there is one (and does
    nothing when this job's result is already complete); ``output`` overrides ``[output]
    path`` and ``overwrite`` ``[output] overwrite``; ``quiet`` silences rank 0's progress
    lines.  The job's ``[petsc]`` options leave PETSc's database after the run, so a driver's
    next job starts clean, unless ``keep_petsc_options`` (the ``hpcinv`` command: PETSc's
    ``-options_left`` then reports the options no object used when it finalizes).  Raises
    InputError for bad input before any heavy work.  SIGTERM and SIGUSR1 during the run stop
    it with a checkpoint (exit status 75, and the marker file ``<output>.stopped``).  The
    outcome holds the solution (a PETSc Vec) when this run computed it.
    """
    spec = _as_spec(spec)
    # The overrides are this run's: a JobSpec the caller passed stays as it was.
    spec = dataclasses.replace(spec, output=dict(spec.output))
    if output is not None:
        spec.output["path"], problems = check_value("--output", str(output), OUTPUT_SCHEMA["path"])
        if problems:
            raise InputError(problems)
    if overwrite is not None:
        spec.output["overwrite"] = bool(overwrite)
    with StopRequest() as stop_request:
        PETSc = petsc_env.initialize(spec.petsc)
        try:
            return _run(spec, PETSc, stop_request, resume=resume, quiet=quiet)
        finally:
            if not keep_petsc_options:
                petsc_env.clear_options(spec.petsc)


def _start_point(store, path: str, fingerprint: str, resume: bool,
                 overwrite: bool) -> tuple[str, dict | None]:
    """Rank 0's view: 'checkpoint', 'complete' (this job's result exists; its summary comes
    along) or 'fresh'; InputError when the path holds what this job may not replace."""
    from .core.io.output import existing_result, overwrite_refusal

    # An unreadable checkpoint (no fingerprint) is left to ``load``, which says what is wrong.
    stored = store.fingerprint_on_disk() if store.exists() else None
    foreign = stored is not None and stored != fingerprint
    if foreign and not overwrite:
        raise InputError((OUTPUT_KEY, overwrite_refusal(store.path, "checkpoint")))
    if resume and store.exists() and not foreign:
        return "checkpoint", None
    existing = existing_result(path, fingerprint)
    if existing in ("other", "foreign") and not overwrite:
        raise InputError((OUTPUT_KEY, overwrite_refusal(path, existing)))
    if resume and existing == "same":
        from .core.io.results import read_summary, verify_result

        # A damaged result of this job is not kept: the run computes it again.
        if not verify_result(path):
            return "complete", read_summary(path)
    return "fresh", None


def _run(spec: JobSpec, PETSc, stop_request: StopRequest, *, resume: bool,
         quiet: bool) -> RunOutcome:
    from .core.io.output import OutputLock, StopMarker, check_path

    mpi = PETSc.COMM_WORLD.tompi4py()
    path = spec.output["path"]
    with stage("setup"):
        agree(mpi, check_path, path, spec)   # every rank: output directories may differ
        lock = OutputLock(path)
        lock.owner = mpi.bcast(agree(mpi, lambda: lock.acquire(spec.source)
                                     if mpi.rank == 0 else None))
    # Whichever rank aborts the job frees the output (the others die without cleaning up).
    before_abort(lock.remove_if_ours)
    try:
        if mpi.rank == 0:
            StopMarker(path).remove()        # an earlier stop's marker: this run takes over
        outcome = _locked_run(spec, PETSc, stop_request, resume=resume, quiet=quiet)
    except BaseException as error:
        if isinstance(error, InputError) or getattr(error, "agreed", False):
            forget_before_abort(lock.remove_if_ours)   # every rank leaves normally
        raise
    finally:
        lock.release()
    forget_before_abort(lock.remove_if_ours)
    return outcome


def _locked_run(spec: JobSpec, PETSc, stop_request: StopRequest, *, resume: bool,
                quiet: bool) -> RunOutcome:
    started, clock = _utc_now(), time.perf_counter()
    comm = PETSc.COMM_WORLD
    mpi = comm.tompi4py()
    path = spec.output["path"]
    fingerprint = spec.fingerprint()
    from .core.io.checkpoint import CheckpointStore
    from .core.io.hdf5 import probe

    store = CheckpointStore(path, fingerprint, mpi)
    with stage("setup"):
        # Ranks may see different files (node-local scratch, NFS caches): rank 0 decides.
        decided = agree(mpi, lambda: _start_point(store, path, fingerprint, resume,
                                                  spec.output["overwrite"])
                        if mpi.rank == 0 else None)
        start, summary = mpi.bcast(decided)
        if start == "complete":
            _say(mpi, quiet, f"{path} is this job's complete result: nothing to resume")
            return RunOutcome(path, None, summary["stop_reason"],
                              int(summary["iterations"]), EXIT_OK, kept=True)
        if start == "fresh" and resume:
            _say(mpi, quiet, f"no checkpoint {store.path}: starting from the beginning")
        probe(path, mpi)                     # an unwritable output fails now, not after

    with stage("problem build"):
        petsc_env.release_memory(comm)   # the objects of a driver's earlier jobs
        problem, solver = build(spec, comm)
        state = solver.initial_state()
    _check_space(mpi, path, problem, state, spec.output["store_data"])
    if start == "checkpoint":
        with stage("checkpoint"):
            state = store.load(state)
        note = "" if solver.exact_resume else \
            f" ({spec.solver['kind']} restarts its Krylov space from the saved iterate)"
        _say(mpi, quiet, f"resuming from {store.path} at iteration {state.iteration}{note}")
    setup_seconds = time.perf_counter() - clock

    if mpi.allreduce(stop_request.received is not None, op=_logical_or()):
        _say(mpi, quiet, "stop signal during start-up: run again with --resume")
        checkpoint = store.path if start == "checkpoint" else None
        _mark_stopped(mpi, path, checkpoint, state.iteration, "signal", stop_request)
        return RunOutcome(None, checkpoint, "signal", state.iteration, EXIT_INTERRUPTED)

    from .solvers.framework.control import IterationControl

    control = IterationControl.for_method(
        solver, truth=problem.truth, progress=not quiet,
        progress_seconds=spec.output["progress_seconds"], wall_time=spec.solver["wall_time"],
        checkpoint_every=spec.output["checkpoint_every"],
        checkpoint_seconds=spec.output["checkpoint_seconds"], checkpoint=_save_in_stage(store),
        stop_request=stop_request)
    clock = time.perf_counter()
    with job_keys("solver"), stage("solve"):
        reason = solver.solve(state, control)
    solve_seconds = time.perf_counter() - clock
    control.check_finite(reason)

    if reason in ("signal", "wall_time"):
        why = f"signal {stop_request.name}" if reason == "signal" else "wall time reached"
        _say(mpi, quiet, f"{why}: checkpoint {store.path} at iteration {state.iteration}; "
                         f"run again with --resume")
        _mark_stopped(mpi, path, store.path, state.iteration, reason, stop_request)
        return RunOutcome(None, store.path, reason, state.iteration, EXIT_INTERRUPTED)

    with stage("result write"):
        solution, attrs = _write(spec, mpi, problem, solver, state, control, store,
                                 reason=reason, start=start, started=started,
                                 fingerprint=fingerprint,
                                 timings={"setup_seconds": setup_seconds,
                                          "solve_seconds": solve_seconds})
    return RunOutcome(path, None, reason, state.iteration, EXIT_OK, solution=solution,
                      solver_results=attrs["solver_results"])


def _save_in_stage(store):
    def save(state, seconds: float) -> None:
        with stage("checkpoint"):
            store.save(state, seconds)
    return save


def _mark_stopped(mpi, path, checkpoint, iteration, reason, stop_request) -> None:
    from .core.io.output import StopMarker

    # Only a stop that left a checkpoint asks to be resumed (a signal during start-up of a
    # fresh run left none: a requeue would only start over).
    if mpi.rank == 0 and checkpoint is not None:
        StopMarker(path).write(checkpoint, iteration, reason, stop_request.name)


def _check_space(mpi, path, problem, state, store_data: bool) -> None:
    """Fail now, not after the solve, when the output's file system cannot take the result
    and a checkpoint (both exist while the result is written)."""
    from .core.io.hdf5 import check_space

    vectors = [problem.operator.shape[1]]
    if store_data:
        vectors += [problem.data.getSize()] * 2 + \
            ([problem.operator.shape[1]] if problem.truth is not None else [])
    checkpoint = sum(vec.getSize() for vec in state.vectors.values())
    needed = 8 * (sum(vectors) + checkpoint)
    agree(mpi, lambda: check_space(path, needed) if mpi.rank == 0 else None)


def _write(spec, mpi, problem, solver, state, control, store, *, reason, start, started,
           fingerprint, timings):
    """Write the result file (a signal arriving now is ignored: the result is nearly there);
    returns the solution and the result's attributes."""
    from .core.io.results import write_result
    from .core.versions import collect

    solution = solver.solution(state)
    if not np.isfinite(solution.norm()):     # a global reduction: every rank agrees
        failure = RuntimeFailure(f"the solution holds non-finite values after {reason} at "
                                 f"iteration {state.iteration}; nothing was written")
        failure.agreed = True
        raise failure
    extra = {}
    if spec.output["store_data"]:
        extra["data"] = problem.data
        if problem.truth is not None:
            extra["truth"] = problem.truth
        if problem.noise_free_data is not None:
            extra["noise_free_data"] = problem.noise_free_data
    hosts = sorted(set(mpi.allgather(socket.gethostname())))
    timings["solve_seconds_total"] = state.history.columns["seconds"][-1]
    attrs = {
        "job_spec": spec.text, "job_source": spec.source, "fingerprint": fingerprint,
        "problem_kind": spec.problem["kind"], "solver_kind": spec.solver["kind"],
        "stop_reason": reason,
        "iterations": state.iteration, "ranks": mpi.size, "hosts": hosts,
        "started": started, "finished": _utc_now(), "resumed": start == "checkpoint",
        "exact_resume": solver.exact_resume, "noise_norm": problem.noise_norm,
        "discrepancy_target": solver.target, "checkpoints_written": control.checkpoints_written,
        "versions": collect(), "problem_attributes": problem.attributes, "timings": timings,
        **_semiconvergence(state.history),
        "solver_results": solver.result_attributes(state),
    }
    # HDF5 attributes are written collectively and must be identical on every rank.
    attrs = same_on_every_rank(mpi, attrs)
    write_result(spec.output["path"], mpi, solution=solution, history=state.history,
                 attrs=attrs, grid_shape=problem.grid_shape, derived=problem.derived(solution),
                 extra_vectors=extra)
    store.remove()
    return solution, attrs


def _semiconvergence(history) -> dict:
    """Where the error against a known truth was smallest: the iteration a semiconvergent
    method should have stopped at, for comparison with the stopping rule's choice."""
    columns = history.arrays()
    errors = columns.get("relative_error")
    if errors is None or not np.isfinite(errors).any():
        return {}
    best = int(np.nanargmin(errors))
    return {"best_iteration": int(columns["iteration"][best]),
            "best_relative_error": float(errors[best])}


def _logical_or():
    from mpi4py import MPI

    return MPI.LOR
