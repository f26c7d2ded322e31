"""What long runs print: rank 0's ``hpcinv:`` lines on stderr and JSON-safe result rows."""
from __future__ import annotations

import math
import os
import sys


def rank0_progress(comm, quiet: bool):
    """``say(message)``: a line on rank 0's stderr unless ``quiet`` (any comm with ``rank``)."""
    def say(message: str) -> None:
        if comm.rank == 0 and not quiet:
            print(f"hpcinv: {message}", file=sys.stderr, flush=True)
    return say


def print_line(line: str) -> None:
    """``line`` on standard output; once its reader went away (``hpcinv run ... | head``),
    later lines go nowhere and the run goes on."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def json_safe(value):
    """``value`` with non-finite floats as None at any depth of its dicts, lists and tuples
    (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_reproduction(args, experiment, table) -> int:
    """Start PETSc, run ``experiment(comm, say)`` on every rank and print its report on
    rank 0: JSON with ``args.json``, else ``table(report)``.  Any failure ends all ranks,
    printed once.  The caller checks its arguments first."""
    import json

    from . import petsc_env
    from .errors import EXIT_OK
    from .mpi import report_and_exit

    comm = petsc_env.initialize().COMM_WORLD
    say = rank0_progress(comm, args.quiet)
    try:
        report = experiment(comm, say)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm.tompi4py())
    if comm.rank == 0:
        print(json.dumps(json_safe(report), indent=1) if args.json else table(report))
    return EXIT_OK
