"""SLURM batch scripts for a job, rendered from jobs/slurm/hpcinv.sbatch.in."""
from __future__ import annotations

import re
import shlex
import string
import sys
from pathlib import Path

from .paths import resolve_input
from .errors import InputError

TEMPLATE = "jobs/slurm/hpcinv.sbatch.in"
# sbatch's formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_WITH_DAYS = re.compile(r"^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$")
_CLOCK = re.compile(r"^(\d+)(?::(\d+))?(?::(\d+))?$")
_FORMATS = "M, M:S, H:M:S, D-H, D-H:M or D-H:M:S"
_JOB_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")


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


def render(job_file: str, *, nodes: int, ntasks_per_node: int, time: str,
           partition: str | None = None, account: str | None = None,
           grace_seconds: int | None = None, job_name: str | None = None,
           result_path: str | None = None) -> str:
    """The sbatch script; ``result_path`` (default: the job's ``[output] path``) decides
    where the script looks for the marker of a stop with a checkpoint."""
    job = Path(job_file).resolve()
    job_name = job_name or job.stem
    problems = []
    if not _JOB_NAME.match(job_name):
        problems.append(("--job-name", f"use letters, digits and ._+- only, got {job_name!r}"))
    if nodes < 1:
        problems.append(("--nodes", f"must be >= 1, got {nodes}"))
    if ntasks_per_node < 1:
        problems.append(("--ntasks-per-node", f"must be >= 1, got {ntasks_per_node}"))
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
        job_file=shlex.quote(str(job)),
        result_marker=shlex.quote(str(Path(result_path).resolve()) + ".stopped"))
