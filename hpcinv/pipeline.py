"""The straight line of a run: job spec -> problem -> solver -> result file.

``run`` is what ``hpcinv run`` and Python drivers call, under mpirun/srun on every rank.
"""
from __future__ import annotations

import datetime
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .jobspec import PROBLEMS, SOLVERS, JobSpec, load_spec, parse_spec
from .runtime import petsc_env
from .runtime.errors import EXIT_INTERRUPTED, EXIT_OK, InputError
from .runtime.mpi import agree
from .runtime.progress import Progress
from .runtime.signals import StopRequest


@dataclass
class RunOutcome:
    result_path: str | None     # None when the run stopped early with a checkpoint
    checkpoint_path: str | None
    stop_reason: str
    iterations: int
    exit_status: int


def _as_spec(spec) -> JobSpec:
    if isinstance(spec, JobSpec):
        return spec
    if isinstance(spec, (str, Path)) and str(spec).endswith(".toml"):
        return load_spec(str(spec))
    return parse_spec(str(spec))


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _check_output(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    existing = directory
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK):
        raise InputError(("output.path", f"cannot write to {directory}"))


def _say(comm, quiet: bool, message: str) -> None:
    if comm.rank == 0 and not quiet:
        print(f"hpcinv: {message}", file=sys.stderr, flush=True)


def run(spec, *, resume: bool = False, output: str | None = None,
        quiet: bool = False) -> RunOutcome:
    """Run a job on all ranks of MPI_COMM_WORLD.

    ``spec``: a JobSpec, a ``.toml`` path or TOML text.  ``resume`` continues from the
    checkpoint ``<output>.ckpt`` when there is one (and does nothing when the result is
    already complete); ``output`` overrides ``[output] path``; ``quiet`` silences rank 0's
    progress lines.  Raises InputError for bad input before any heavy work.
    """
    spec = _as_spec(spec)
    if output is not None:
        if not output.endswith(".h5"):
            raise InputError(("--output", f"must end with .h5, got {output}"))
        spec.output["path"] = output
    PETSc = petsc_env.initialize(spec.petsc)
    try:
        return _run(spec, PETSc, resume=resume, quiet=quiet)
    finally:
        petsc_env.clear_options(spec.petsc)


def _run(spec: JobSpec, PETSc, *, resume: bool, quiet: bool) -> RunOutcome:
    started, clock = _utc_now(), time.perf_counter()
    comm = PETSc.COMM_WORLD
    mpi = comm.tompi4py()
    path = spec.output["path"]
    problem_kind = PROBLEMS.get(spec.problem["kind"], "problem.kind")
    solver_kind = SOLVERS.get(spec.solver["kind"], "solver.kind")

    agree(mpi, _check_output, path)
    prepared = agree(mpi, problem_kind.prepare, spec.problem)
    problem = problem_kind.build(prepared, comm)
    solver = solver_kind(problem, spec.solver)

    from .io.checkpoint import CheckpointStore
    from .io.results import write_result
    from .solvers.control import IterationControl
    from .versions import collect

    store = CheckpointStore(path, spec.fingerprint(), mpi)
    state = solver.initial_state()
    resumed = False
    if resume and store.exists():
        state = store.load(state)
        resumed = True
        note = "" if solver.exact_resume else \
            f" ({spec.solver['kind']} restarts its Krylov space from the saved iterate)"
        _say(mpi, quiet, f"resuming from {store.path} at iteration {state.iteration}{note}")
    elif resume and os.path.exists(path):
        _say(mpi, quiet, f"{path} is complete and has no checkpoint: nothing to resume")
        from .io.results import read_summary

        summary = read_summary(path) if mpi.rank == 0 else None
        summary = mpi.bcast(summary)
        return RunOutcome(path, None, summary.get("stop_reason", ""),
                          int(summary.get("iterations", 0)), EXIT_OK)
    elif resume:
        _say(mpi, quiet, f"no checkpoint {store.path}: starting from the beginning")
    setup_seconds = time.perf_counter() - clock

    progress = Progress(enabled=mpi.rank == 0 and not quiet,
                        interval=spec.output["progress_seconds"],
                        max_iterations=solver.max_iterations)
    with StopRequest() as stop_request:
        control = IterationControl(
            comm, truth=problem.truth, data_norm=problem.data.norm(), target=solver.target,
            max_iterations=solver.max_iterations, wall_time=spec.solver["wall_time"],
            checkpoint_every=spec.output["checkpoint_every"],
            checkpoint_seconds=spec.output["checkpoint_seconds"], checkpoint=store.save,
            stop_request=stop_request, progress=progress)
        clock = time.perf_counter()
        reason = solver.solve(state, control)
        solve_seconds = time.perf_counter() - clock

    if reason in ("signal", "wall_time"):
        why = f"signal {stop_request.name}" if reason == "signal" else "wall time reached"
        _say(mpi, quiet, f"{why}: checkpoint {store.path} at iteration {state.iteration}; "
                         f"run again with --resume")
        return RunOutcome(None, store.path, reason, state.iteration, EXIT_INTERRUPTED)

    clock = time.perf_counter()
    solution = solver.solution(state)
    extra = {}
    if spec.output["store_data"]:
        extra["data"] = problem.data
        if problem.truth is not None:
            extra["truth"] = problem.truth
    attrs = {
        "job_spec": spec.text, "job_source": spec.source, "fingerprint": spec.fingerprint(),
        "problem_kind": spec.problem["kind"], "solver_kind": spec.solver["kind"],
        "stop_reason": reason, "iterations": state.iteration, "ranks": mpi.size,
        "hosts": sorted(set(mpi.allgather(socket.gethostname()))),
        "started": started, "finished": _utc_now(), "resumed": resumed,
        "exact_resume": solver.exact_resume, "noise_norm": problem.noise_norm,
        "discrepancy_target": solver.target, "checkpoints_written": control.checkpoints_written,
        "versions": collect(slepc=False),
        "problem_attributes": problem.attributes,
    }
    derived = problem.derived(solution)
    attrs["timings"] = {"setup_seconds": setup_seconds, "solve_seconds": solve_seconds,
                        "solve_seconds_total": state.history.columns["seconds"][-1]
                        if len(state.history) else solve_seconds}
    write_result(path, mpi, solution=solution, history=state.history, attrs=attrs,
                 grid_shape=problem.grid_shape, derived=derived, extra_vectors=extra)
    store.remove()
    return RunOutcome(path, None, reason, state.iteration, EXIT_OK)
