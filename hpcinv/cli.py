"""The ``hpcinv`` command: argument parsing only; the work lives in the package."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from .core.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUNTIME_FAILURE, InputError, RuntimeFailure


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and {command: handler(args)}."""
    parser = argparse.ArgumentParser(prog="hpcinv", description="MPI-parallel solver service "
                                     "for regularized linear inverse problems")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hpcinv {__version__}")
    parser.add_argument("--sandbox", metavar="DIR", action="append", default=[],
                        help="service mode: inputs and outputs must lie in DIR (repeatable; "
                             "adds to $HPCINV_SANDBOX), [petsc] options naming files refused")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.epilog = ("run, demo and info take PETSc options after their arguments, as any "
                     "PETSc program: hpcinv run job.toml -log_view -ksp_monitor "
                     "(-help lists PETSc's)")
    parser.commands = commands.choices

    run = commands.add_parser("run", help="run a job (1 rank, or under mpirun/srun)",
                              epilog="PETSc options follow the job file, as in any PETSc "
                                     "program: hpcinv run job.toml -log_view -ksp_monitor "
                                     "-options_left (they win over the job's [petsc] table; "
                                     "-help prints PETSc's options, then this help, and "
                                     "PETSc's options of each object the run sets up)")
    run.add_argument("job", help="job spec (TOML)")
    run.add_argument("--resume", action="store_true",
                     help="continue from the job's checkpoint if there is one")
    run.add_argument("--output", help="result file (overrides [output] path)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--overwrite", action="store_true", default=None,
                     help="replace an existing output that is not this job's result "
                          "([output] overwrite = true)")

    validate = commands.add_parser("validate", help="check a job spec and its inputs, and "
                                   "estimate its memory per rank (no MPI)")
    validate.add_argument("job", help="job spec (TOML)")
    for sub in (run, validate):
        sub.add_argument("--sandbox", metavar="DIR", action="append", default=[],
                         dest="command_sandbox", help="as hpcinv --sandbox DIR")
    validate.add_argument("--ranks", type=int, default=1, metavar="N",
                          help="estimate the memory per rank for a run on N ranks, all on "
                          "this node unless HPCINV_MAX_MEMORY_PER_RANK sets the limit "
                          "(default 1)")

    from .core import slurm

    slurm.add_arguments(commands.add_parser("slurm", help="write an sbatch script for a job"))

    inspect = commands.add_parser("inspect", help="summarise a result file")
    inspect.add_argument("result", help="result file (HDF5) written by hpcinv run")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.add_argument("--verify", action="store_true",
                         help="recompute every checksum; exit 2 when the file was altered")

    commands.add_parser("info", help="versions of hpcinv, PETSc, SLEPc, MPI, HDF5; ranks")

    commands.add_parser("kinds", help="registered problem and solver kinds and their keys")

    plot = commands.add_parser("plot", help="figures (PNG) and FITS maps of a result")
    plot.add_argument("result", help="result file (HDF5) written by hpcinv run")
    plot.add_argument("--out", help="directory for the files (default: the result's)")

    demo = commands.add_parser("demo", help="run the built-in demo job (mock galaxy, PNKR or "
                               "tensor-tikhonov) and plot it")
    demo.add_argument("--solver", choices=("pnkr", "tensor-tikhonov"), default="pnkr",
                      help="the solver (default pnkr, the paper's)")
    demo.add_argument("--output", default=None,
                      help="result file (default results/galaxy-demo.h5, with "
                           "tensor-tikhonov results/galaxy-demo-tikhonov.h5)")
    demo.add_argument("--max-iterations", type=int, default=None,
                      help="cap the iterations (default: the demo job's)")
    demo.add_argument("--quiet", action="store_true", help="no progress lines")

    from .reproduce import EXPERIMENTS, experiment

    reproduce = commands.add_parser("reproduce", help="reproduce a paper's figures; prints "
                                    "ours beside the paper's")
    experiments = reproduce.add_subparsers(dest="experiment", required=True, metavar="NAME")
    for name in EXPERIMENTS:
        module = experiment(name)
        sub = experiments.add_parser(name, help=module.HELP)
        sub.add_argument("--json", action="store_true", help="print JSON rows")
        module.add_arguments(sub)
    handlers = dict(COMMANDS)
    for module in APP_COMMAND_MODULES:
        handlers.update(importlib.import_module(module).add_commands(commands))
    return parser, handlers


def _run_job(spec, args) -> int:
    from .pipeline import run
    from .core.mpi import report_and_exit, world

    comm = world()
    try:
        # One job per process: its [petsc] options stay until PETSc finalizes, so
        # -options_left can name the ones nothing used.
        outcome = run(spec, resume=getattr(args, "resume", False), output=args.output,
                      quiet=args.quiet, overwrite=getattr(args, "overwrite", None),
                      keep_petsc_options=True)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm)
    if comm.rank == 0 and outcome.result_path:
        verb = "kept" if outcome.kept else "wrote"
        print(f"hpcinv: {verb} {outcome.result_path} ({outcome.iterations} iterations, "
              f"stop: {outcome.stop_reason}, {comm.size} rank{'s' * (comm.size > 1)})")
        reason = (outcome.solver_results or {}).get("no_lambda_reason")
        if reason:   # Tikhonov's rule found no lambda (stop: no_minimiser)
            print(f"hpcinv: no lambda: {reason}")
    return outcome.exit_status


def _cmd_run(args) -> int:
    from .core import petsc_command_line
    from .core.jobspec import load_spec
    from .core.mpi import agree, report_and_exit, world

    comm = world()
    try:
        spec = agree(comm, load_spec, args.job)   # input files may be visible to some ranks only
        petsc_command_line.check_for_solver(args.petsc_options, spec.solver["kind"])
    except Exception as error:  # noqa: BLE001 - agreed on all ranks, reported once
        report_and_exit(error, comm)
    return _run_job(spec, args)


def _cmd_demo(args) -> int:
    from .apps.galaxy.demo import demo_spec

    spec = demo_spec(args.max_iterations, solver=args.solver)
    # The demo owns its default output (a new hpcinv may change the demo job).
    code = _run_job(spec, argparse.Namespace(output=args.output, quiet=args.quiet,
                                             overwrite=True if args.output is None else None))
    from .core.mpi import world

    if code == EXIT_OK and world().rank == 0:
        result = args.output or spec.output["path"]
        _cmd_inspect(argparse.Namespace(result=result, json=False, verify=False))
        _cmd_plot(argparse.Namespace(result=result, out=None))
    return code


def _cmd_plot(args) -> int:
    from .report.figures import plot_result

    for path in plot_result(args.result, args.out):
        print(f"hpcinv: wrote {path}")
    return EXIT_OK


def _cmd_reproduce(args) -> int:
    from .reproduce import experiment

    return experiment(args.experiment).run(args)


def _cmd_validate(args) -> int:
    from .core.jobspec import PROBLEMS, load_spec
    from .core.jobspec.memory_check import check_memory
    from .core.memory import describe, limit_per_rank

    if args.ranks < 1:
        raise InputError(("--ranks", f"must be at least 1, got {args.ranks}"))
    spec = load_spec(args.job)
    # The memory first: a job too large for its ranks is refused before its inputs are read.
    estimate = check_memory(spec, args.ranks, local_ranks=args.ranks)
    PROBLEMS.get(spec.problem["kind"], "problem.kind").prepare(spec.problem)
    from .core.io.output import check_path

    check_path(spec.output["path"], spec)
    print(f"{args.job}: valid ({spec.problem['kind']} problem, {spec.solver['kind']} solver, "
          f"output {spec.output['path']})")
    if estimate is None:
        print("memory: no estimate for this job")
    else:
        print(f"memory: {describe(estimate, args.ranks, limit_per_rank(args.ranks))}")
    return EXIT_OK


def _cmd_slurm_script(args) -> int:
    from .core.slurm import command

    return command(args)


def _cmd_inspect(args) -> int:
    from .core.io.results import read_summary

    if not Path(args.result).is_file():
        raise InputError((args.result, "no such result file"))
    try:
        summary = read_summary(args.result)
    except (OSError, KeyError) as error:
        raise InputError((args.result, f"not an hpcinv result file: {error}")) from None
    history = summary.pop("history")
    if args.verify:
        from .core.io.results import verify_result

        problems = verify_result(args.result)
        summary["verified"] = not problems
        if problems:
            raise InputError([(args.result, problem) for problem in problems])
    if args.json:
        summary["history"] = {k: v.tolist() for k, v in history.items()}
        print(json.dumps(summary, indent=2, default=str))
        return EXIT_OK
    from .report.summary import format_summary

    summary.pop("verified", None)
    print(format_summary(args.result, summary, history))
    if args.verify:
        print("checksums    verified: every dataset and attribute is as written")
    return EXIT_OK


def _cmd_info(args) -> int:
    from .core import petsc_env
    from .core.mpi import world
    from .core.versions import collect

    petsc_env.initialize()
    comm = world()
    versions = collect()
    if comm.rank == 0:
        import os

        for key, value in versions.items():
            print(f"{key:14s} {value}")
        print(f"{'PETSC_DIR':14s} {os.environ.get('PETSC_DIR', '(petsc4py found on sys.path)')}")
        print(f"{'SLEPC_DIR':14s} {os.environ.get('SLEPC_DIR', '(slepc4py found on sys.path)')}")
        print(f"{'ranks':14s} {comm.size}")
    return EXIT_OK


def _cmd_kinds(args) -> int:
    from .core.jobspec import PROBLEMS, SOLVERS
    from .core.jobspec.schema import describe
    from .core.jobspec.spec import OUTPUT_SCHEMA

    sections = [(f"[problem] kind = \"{name}\"", PROBLEMS.get(name, "").parameters)
                for name in PROBLEMS.names()]
    sections += [(f"[solver] kind = \"{name}\"", SOLVERS.get(name, "").parameters)
                 for name in SOLVERS.names()]
    sections.append(("[output]", OUTPUT_SCHEMA))
    for title, schema in sections:
        print(title)
        for key, kind, default, help_text in describe(schema):
            print(f"  {key:20s} {kind:8s} {default:12s} {help_text}")
        print()
    return EXIT_OK


COMMANDS = {"run": _cmd_run, "validate": _cmd_validate, "slurm": _cmd_slurm_script,
            "inspect": _cmd_inspect, "info": _cmd_info, "kinds": _cmd_kinds,
            "plot": _cmd_plot, "demo": _cmd_demo, "reproduce": _cmd_reproduce}

# Applications' own commands (each module's add_commands(subparsers) -> {name: handler}).
APP_COMMAND_MODULES = ("hpcinv.apps.galaxy.commands", "hpcinv.apps.seismic.commands")


def _print_petsc_help(parser, argv: list[str]) -> bool:
    """Start PETSc (it prints its own help for ``-help``) and print the command's help on
    rank 0; True when the command line holds nothing to run (``hpcinv run -help``)."""
    from .core import petsc_command_line, petsc_env

    command_at = petsc_command_line.command_index(argv)
    command = argv[command_at]
    if petsc_env.initialize().COMM_WORLD.rank == 0:
        print(parser.commands[command].format_help(), flush=True)
    return command == "run" and all(word.startswith("-") for word in argv[command_at + 1:])


def _sandbox_directories(argv: list[str]) -> list[str]:
    """The ``--sandbox DIR`` arguments (global or the command's), read before argparse runs:
    service mode must be on before PETSc sees any option, ``-help`` included."""
    directories = [value for option, value in zip(argv, argv[1:]) if option == "--sandbox"]
    return directories + [word.split("=", 1)[1] for word in argv
                          if word.startswith("--sandbox=")]


def main(argv=None) -> int:
    from .core import petsc_command_line, petsc_env, sandbox
    from .core.mpi import launcher_rank

    argv, petsc_options = petsc_command_line.split(
        sys.argv[1:] if argv is None else list(argv))
    parser, handlers = _parser()
    try:
        for directory in _sandbox_directories(argv):
            sandbox.enable(directory)
        petsc_command_line.check(petsc_options, sandbox.active())
        petsc_env.use_command_line_options(petsc_options)
        if "help" in petsc_options and _print_petsc_help(parser, argv):
            return EXIT_OK
        args = parser.parse_args(argv)
        args.petsc_options = petsc_options
        return handlers[args.command](args)
    except InputError as error:
        # Every rank found the same problem (the command line is the same on every rank).
        if launcher_rank() == 0:
            print(f"hpcinv: invalid input:\n{error.format()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeFailure as error:
        print(f"hpcinv: error: {error}", file=sys.stderr)
        return EXIT_RUNTIME_FAILURE
    except BrokenPipeError:
        # The reader went away (``hpcinv kinds | head``): what it wanted was printed.  Python
        # would report the failed flush of stdout at exit, so stdout now goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
