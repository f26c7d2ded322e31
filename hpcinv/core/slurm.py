"""``hpcinv slurm``: SLURM batch scripts for a job, rendered from
jobs/slurm/hpcinv.sbatch.in, and the subcommand's arguments and handler."""
from __future__ import annotations

import re
import shlex
import string
import subprocess
import sys
from pathlib import Path

from .errors import EXIT_OK, InputError
from .paths import resolve_input

TEMPLATE = "jobs/slurm/hpcinv.sbatch.in"
# sbatch's formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_WITH_DAYS = re.compile(r"^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$")
_CLOCK = re.compile(r"^(\d+)(?::(\d+))?(?::(\d+))?$")
_FORMATS = "M, M:S, H:M:S, D-H, D-H:M or D-H:M:S"
_JOB_NAME = re.compile(r"[A-Za-z0-9._+-]+")
# srun --mpi plugin names: pmix, pmix_v4, pmi2, cray_shasta, none, ...
_MPI_PLUGIN = re.compile(r"[A-Za-z0-9_]+")
DEFAULT_MAX_REQUEUES = 10


def parse_time_limit(text: str) -> int:
    """Seconds in a SLURM time limit, in any of sbatch's formats (``60`` is an hour)."""
    text = text.strip()
    with_days, clock = _WITH_DAYS.match(text), _CLOCK.match(text)
    if with_days:
        days, hours, minutes, seconds = (int(g or 0) for g in with_days.groups())
        bounded = (hours < 24, minutes < 60, seconds < 60)
    elif clock:
        parts = [int(g) for g in clock.groups() if g is not None]
        days = 0
        hours, minutes, seconds = ([0, *parts, 0] if len(parts) == 1 else
                                   [0, *parts] if len(parts) == 2 else parts)
        bounded = (seconds < 60, minutes < 60 or len(parts) < 3)
    else:
        bounded = (False,)
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds if all(bounded) else 0
    if total <= 0:
        raise InputError(("--time", f"expected a SLURM time limit ({_FORMATS}), got "
                                    f"{text!r}"))
    return total


def _setup_problems(lines) -> list:
    """Problems of the --setup lines; each must be one complete shell command list (bash -n),
    so that a stray quote fails here and not after the job waited in the queue."""
    problems = []
    for line in lines:
        if "\0" in line:
            problems.append(("--setup", f"NUL character in {line!r}"))
            continue
        check = subprocess.run(["bash", "-n"], input=line, capture_output=True, text=True)
        if check.returncode != 0:
            problems.append(("--setup", f"not a complete shell line: {line!r} "
                                        f"({check.stderr.strip()})"))
    return problems


def _setup_block(lines) -> str:
    """Each setup line as ``eval 'LINE'``: quoted, a line's own newlines and quotes cannot
    change the script around it, yet it runs in the batch shell, so ``module load`` and
    ``source`` take effect for srun.  A failing line ends the job before the step."""
    return "\n".join(
        f"eval {shlex.quote(line)} || {{ echo {shlex.quote(f'hpcinv: setup failed: {line}')}"
        f" >&2; exit 1; }}" for line in lines)


def render(job_file: str, *, nodes: int, ntasks_per_node: int, time: str,
           partition: str | None = None, account: str | None = None,
           grace_seconds: int | None = None, job_name: str | None = None,
           result_path: str | None = None, max_requeues: int = DEFAULT_MAX_REQUEUES,
           setup=(), mpi: str | None = None) -> str:
    """The sbatch script; ``result_path`` (default: the job's ``[output] path``) decides
    where the script looks for the marker of a stop with a checkpoint."""
    job = Path(job_file).resolve()
    job_name = job_name or job.stem
    problems = []
    if not _JOB_NAME.fullmatch(job_name):
        problems.append(("--job-name", f"use letters, digits and ._+- only, got {job_name!r}"))
    if nodes < 1:
        problems.append(("--nodes", f"must be >= 1, got {nodes}"))
    if ntasks_per_node < 1:
        problems.append(("--ntasks-per-node", f"must be >= 1, got {ntasks_per_node}"))
    if max_requeues < 0:
        problems.append(("--max-requeues", f"must be >= 0, got {max_requeues}"))
    if mpi is not None and not _MPI_PLUGIN.fullmatch(mpi):
        problems.append(("--mpi", f"expected an srun --mpi plugin name (pmix, pmi2, ...), "
                                  f"got {mpi!r}"))
    problems += _setup_problems(setup)
    if problems:
        raise InputError(problems)
    limit = parse_time_limit(time)
    if grace_seconds is None:
        # Time for one iteration and the checkpoint: 10% of the limit within 60-600 s,
        # and at most half of a very short limit.
        grace_seconds = min(max(60, min(600, limit // 10)), limit // 2)
    if not 0 < grace_seconds < limit:
        raise InputError(("--grace", f"must be between 0 and the time limit ({limit} s)"))
    if result_path is None:
        from .jobspec import load_spec

        result_path = load_spec(job_file).output["path"]
    template_path = resolve_input(TEMPLATE)
    if template_path is None:
        raise InputError((TEMPLATE, "SLURM template not found (set HPCINV_PATH to the "
                                    "hpcinv source tree)"))
    extra = [f"#SBATCH --partition={partition}"] if partition else []
    extra += [f"#SBATCH --account={account}"] if account else []
    return string.Template(Path(template_path).read_text()).substitute(
        job_name=job_name, nodes=nodes, ntasks_per_node=ntasks_per_node,
        time=time, workdir=str(Path.cwd()), grace_seconds=grace_seconds,
        extra_directives="\n".join(extra), python=shlex.quote(sys.executable),
        job_file=shlex.quote(str(job)), max_requeues=max_requeues,
        setup=_setup_block(setup), srun_options=f" --mpi={mpi}" if mpi else "",
        result_marker=shlex.quote(str(Path(result_path).resolve()) + ".stopped"))


def add_arguments(parser) -> None:
    """The ``hpcinv slurm`` options, on the subcommand's parser."""
    parser.add_argument("job", help="job spec (TOML); validated before the script is written")
    parser.add_argument("--nodes", type=int, required=True, metavar="N",
                        help="nodes to allocate (#SBATCH --nodes)")
    parser.add_argument("--ntasks-per-node", type=int, required=True, metavar="M",
                        help="MPI ranks per node (#SBATCH --ntasks-per-node)")
    parser.add_argument("--time", required=True, metavar="T",
                        help="wall-clock limit in any sbatch format: M, M:S, H:M:S, D-H, "
                             "D-H:M, D-H:M:S")
    parser.add_argument("--partition", help="SLURM partition (default: the site's)")
    parser.add_argument("--account", help="account charged for the job (default: yours)")
    parser.add_argument("--grace", type=int, metavar="SECONDS",
                        help="seconds before the limit at which SLURM signals a checkpoint "
                             "(default: 10%% of the limit, 60-600 s)")
    parser.add_argument("--job-name", help="SLURM job name (default: the job file's name)")
    parser.add_argument("--max-requeues", type=int, default=DEFAULT_MAX_REQUEUES, metavar="N",
                        help="requeue after a checkpoint at most N times "
                             "($SLURM_RESTART_COUNT); then exit 75 and leave the checkpoint "
                             "for a manual resubmission (default %(default)s)")
    parser.add_argument("--setup", action="append", default=[], metavar="LINE",
                        help="shell line run in the batch script before srun, e.g. "
                             "'module load openmpi' or 'source venv/bin/activate' "
                             "(repeatable; srun options can be exported as SLURM_* variables "
                             "here)")
    parser.add_argument("--mpi", metavar="TYPE",
                        help="srun --mpi=TYPE: the PMI the MPI library needs (pmix, pmi2, ...; "
                             "default: the site's MpiDefault)")
    parser.add_argument("--script", help="write the script here instead of stdout")


def command(args) -> int:
    """Handler of ``hpcinv slurm``: print or write the script."""
    from .jobspec import load_spec

    spec = load_spec(args.job)   # refuse to queue a job that would fail validation
    script = render(args.job, nodes=args.nodes, ntasks_per_node=args.ntasks_per_node,
                    time=args.time, partition=args.partition, account=args.account,
                    grace_seconds=args.grace, job_name=args.job_name,
                    result_path=spec.output["path"],
                    max_requeues=args.max_requeues, setup=args.setup, mpi=args.mpi)
    if args.script:
        Path(args.script).write_text(script)
        print(f"hpcinv: wrote {args.script}; submit with: sbatch {args.script}")
    else:
        sys.stdout.write(script)
    return EXIT_OK
