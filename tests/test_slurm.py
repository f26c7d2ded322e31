"""`hpcinv slurm` writes a batch script that SLURM and bash accept."""
import os
import re
import subprocess

import pytest

from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import load_spec
from hpcinv.core.slurm import render, parse_time_limit
from helpers import ROOT, clean_env, hpcinv


def _directives(script: str) -> dict:
    found = {}
    for line in script.splitlines():
        match = re.match(r"#SBATCH --([a-z-]+)(?:=(.*))?$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_script_has_directives_srun_signal_and_requeue(tmp_path):
    script_path = tmp_path / "job.sbatch"
    result = hpcinv(["slurm", "jobs/deconvolution-lsqr.toml", "--nodes", "2",
                     "--ntasks-per-node", "16", "--time", "01:30:00", "--partition", "cpu",
                     "--account", "proj42", "--script", script_path])
    assert result.returncode == 0, result.stderr
    script = script_path.read_text()
    assert script.startswith("#!/bin/bash\n")
    directives = _directives(script)
    assert directives["nodes"] == "2" and directives["ntasks-per-node"] == "16"
    assert directives["time"] == "01:30:00"
    assert directives["partition"] == "cpu" and directives["account"] == "proj42"
    assert "requeue" in directives and directives["signal"] == "USR1@540"
    srun = [line for line in script.splitlines() if line.startswith("srun ")]
    assert len(srun) == 1
    assert re.search(r"-m hpcinv run \S*jobs/deconvolution-lsqr\.toml --resume", srun[0])
    assert "trap 'kill -USR1" in script and "trap 'kill -TERM" in script
    syntax = subprocess.run(["bash", "-n", str(script_path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


@pytest.mark.parametrize("marker,step_status,requeued,status", [
    (True, 1, True, 75),     # mpirun/srun report a signalled step as failed: the marker decides
    (True, 75, True, 75),
    (False, 1, False, 1),    # a real failure is not requeued (it would fail again)
    (False, 0, False, 0)])
def test_script_requeues_when_the_run_left_its_stop_marker(tmp_path, marker, step_status,
                                                           requeued, status):
    """The script runs with fake srun/scontrol: srun plays the job step (writing the
    marker hpcinv writes on a stop with a checkpoint), scontrol records its arguments."""
    job = tmp_path / "job.toml"
    job.write_text((ROOT / "jobs/deconvolution-lsqr.toml").read_text())
    spec_output = load_spec(str(job)).output["path"]
    script = tmp_path / "job.sbatch"
    made = hpcinv(["slurm", job, "--nodes", "1", "--ntasks-per-node", "2", "--time",
                   "00:10:00", "--script", script], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    touch = f'touch "{tmp_path / spec_output}.stopped"; ' if marker else ""
    (fake / "srun").write_text(f'#!/bin/sh\n{touch}exit {step_status}\n')
    (fake / "scontrol").write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/scontrol.args"\n')
    for tool in ("srun", "scontrol"):
        (fake / tool).chmod(0o755)
    result = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30, env=clean_env(
                                PATH=f"{fake}:{os.environ['PATH']}", SLURM_JOB_ID="4242"))
    assert result.returncode == status, result.stderr
    args = tmp_path / "scontrol.args"
    assert args.exists() == requeued
    if requeued:
        assert args.read_text().split() == ["requeue", "4242"]


def test_stdout_by_default_and_grace_option():
    result = hpcinv(["slurm", "jobs/deconvolution-lsqr.toml", "--nodes", "1",
                     "--ntasks-per-node", "4", "--time", "2-00:00:00", "--grace", "900"])
    assert result.returncode == 0
    assert "#SBATCH --signal=USR1@900" in result.stdout
    assert "--partition" not in result.stdout


@pytest.mark.parametrize("text,expected", [
    ("00:10:00", 600), ("1-02:03:04", 93784), ("60", 3600), ("90", 5400), ("5:30", 330),
    ("2-0", 172800), ("1-12:30", 131400), ("100:00:00", 360000)])
def test_time_limit_parsing(text, expected):
    """Every format sbatch accepts: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    assert parse_time_limit(text) == expected


@pytest.mark.parametrize("text", ["90 minutes", "0", "1:60", "1:61:00", "1-24", "", "-5",
                                  "1:2:3:4", "UNLIMITED"])
def test_time_limits_sbatch_would_reject_are_refused(text):
    with pytest.raises(InputError, match="--time"):
        parse_time_limit(text)


def test_bad_arguments_name_the_option():
    with pytest.raises(InputError, match="--time"):
        render("jobs/deconvolution-lsqr.toml", nodes=1, ntasks_per_node=1, time="90 minutes")
    with pytest.raises(InputError, match="--nodes"):
        render("jobs/deconvolution-lsqr.toml", nodes=0, ntasks_per_node=1, time="00:10:00")
    result = hpcinv(["slurm", "jobs/nope.toml", "--nodes", "1", "--ntasks-per-node", "1",
                     "--time", "00:10:00"])
    assert result.returncode == 2 and "nope.toml" in result.stderr


def test_short_limits_get_a_shorter_grace_and_job_names_are_checked():
    script = render("jobs/deconvolution-lsqr.toml", nodes=1, ntasks_per_node=1, time="00:01:00")
    assert "#SBATCH --signal=USR1@30" in script
    with pytest.raises(InputError, match="--job-name"):
        render("jobs/deconvolution-lsqr.toml", nodes=1, ntasks_per_node=1, time="00:10:00",
               job_name="my job")
