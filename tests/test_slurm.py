"""`hpcinv slurm` writes a batch script that SLURM and bash accept."""
import argparse
import os
import re
import subprocess
from pathlib import Path

import pytest

from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import load_spec
from hpcinv.core.slurm import add_arguments, command, render, parse_time_limit
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


def _write_script(directory, *options) -> tuple:
    """(script, marker): the batch script of a copy of the LSQR job in ``directory``,
    written by the slurm subcommand's own parser and handler, and the stop marker it
    watches."""
    job = directory / "job.toml"
    job.write_text((ROOT / "jobs/deconvolution-lsqr.toml").read_text())
    script = directory / "job.sbatch"
    parser = argparse.ArgumentParser(prog="hpcinv slurm")
    add_arguments(parser)
    argv = [str(job), "--nodes", "1", "--ntasks-per-node", "2", "--time", "00:10:00",
            "--script", str(script), *options]
    assert command(parser.parse_args(argv)) == 0
    return script, Path(f"{directory / load_spec(str(job)).output['path']}.stopped")


def _run_batch(directory, script, marker, *, step_status=75, writes_marker=True,
               restart_count=None):
    """Run ``script`` as SLURM would, with fake srun and scontrol: srun plays the job step
    (writing the marker hpcinv writes on a stop with a checkpoint) and records its
    arguments and $HPCINV_SETUP_PROBE; scontrol records its arguments.  Returns (the
    completed batch shell, srun's arguments, the probe, scontrol's arguments); the last
    three are None for a tool that was not called."""
    fake = directory / "bin"
    fake.mkdir()
    touch = f'touch "{marker}"\n' if writes_marker else ""
    (fake / "srun").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{directory}/srun.args"\n'
        f'printf "%s" "${{HPCINV_SETUP_PROBE-unset}}" > "{directory}/srun.probe"\n'
        f"{touch}exit {step_status}\n")
    (fake / "scontrol").write_text(f'#!/bin/sh\necho "$@" > "{directory}/scontrol.args"\n')
    for tool in ("srun", "scontrol"):
        (fake / tool).chmod(0o755)
    env = clean_env(PATH=f"{fake}:{os.environ['PATH']}", SLURM_JOB_ID="4242")
    env.pop("SLURM_RESTART_COUNT", None)
    if restart_count is not None:
        env["SLURM_RESTART_COUNT"] = str(restart_count)
    result = subprocess.run(["bash", str(script)], cwd=directory, capture_output=True,
                            text=True, timeout=30, env=env)
    recorded = [directory / name for name in ("srun.args", "srun.probe", "scontrol.args")]
    srun_args, probe, scontrol_args = (path.read_text() if path.exists() else None
                                       for path in recorded)
    return result, srun_args and srun_args.splitlines(), probe, scontrol_args


@pytest.mark.parametrize("marker,step_status,requeued,status", [
    (True, 1, True, 75),     # mpirun/srun report a signalled step as failed: the marker decides
    (True, 75, True, 75),
    (False, 1, False, 1),    # a real failure is not requeued (it would fail again)
    (False, 0, False, 0)])
def test_script_requeues_when_the_run_left_its_stop_marker(tmp_path, monkeypatch, marker,
                                                           step_status, requeued, status):
    monkeypatch.chdir(tmp_path)
    script, marker_path = _write_script(tmp_path)
    result, _, _, scontrol = _run_batch(tmp_path, script, marker_path,
                                        step_status=step_status, writes_marker=marker)
    assert result.returncode == status, result.stderr
    assert scontrol == ("requeue 4242\n" if requeued else None)


@pytest.mark.parametrize("cap,restart_count,requeued", [
    (3, None, True),         # SLURM leaves SLURM_RESTART_COUNT unset before the first requeue
    (3, 2, True),
    (3, 3, False),
    (3, 7, False),
    (0, None, False)])
def test_requeueing_stops_at_the_cap(tmp_path, monkeypatch, cap, restart_count, requeued):
    """Past --max-requeues the job ends with status 75 and keeps its checkpoint and marker
    for a manual resubmission, and says why it did not requeue."""
    monkeypatch.chdir(tmp_path)
    script, marker = _write_script(tmp_path, "--max-requeues", str(cap))
    result, _, _, scontrol = _run_batch(tmp_path, script, marker,
                                        restart_count=restart_count)
    assert result.returncode == 75, result.stderr
    assert scontrol == ("requeue 4242\n" if requeued else None)
    assert marker.exists()
    if not requeued:
        assert f"--max-requeues {cap}" in " ".join(result.stderr.split())
        assert "not requeueing" in result.stderr


def test_setup_lines_run_in_the_batch_shell_before_srun(tmp_path, monkeypatch):
    """Setup lines take effect for the step (as `module load` and `source` must), in their
    order; one with its own newlines and quotes stays one setup step."""
    monkeypatch.chdir(tmp_path)
    two_lines = "SUFFIX='it'\\''s'\nexport HPCINV_SETUP_PROBE=\"$HPCINV_SETUP_PROBE+$SUFFIX\""
    script, marker = _write_script(tmp_path, "--setup", "export HPCINV_SETUP_PROBE=first",
                                   "--setup", two_lines)
    text = script.read_text()
    assert len([line for line in text.splitlines() if line.startswith("srun")]) == 1
    result, srun_args, probe, _ = _run_batch(tmp_path, script, marker, step_status=0,
                                             writes_marker=False)
    assert result.returncode == 0, result.stderr
    assert probe == "first+it's"
    assert srun_args[-2:] == [str(tmp_path / "job.toml"), "--resume"]


def test_a_failing_setup_line_ends_the_job_before_srun(tmp_path, monkeypatch):
    """Not even an old stop marker gets it requeued: the environment it would run in is
    wrong."""
    monkeypatch.chdir(tmp_path)
    script, marker = _write_script(tmp_path, "--setup", "module-that-does-not-exist load x")
    marker.touch()
    result, srun_args, _, scontrol = _run_batch(tmp_path, script, marker)
    assert result.returncode == 1
    assert "hpcinv: setup failed: module-that-does-not-exist load x" in result.stderr
    assert srun_args is None and scontrol is None


def test_mpi_type_reaches_srun(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script, marker = _write_script(tmp_path, "--mpi", "pmix_v4")
    result, srun_args, _, _ = _run_batch(tmp_path, script, marker, step_status=0,
                                         writes_marker=False)
    assert result.returncode == 0, result.stderr
    assert srun_args[0] == "--mpi=pmix_v4"
    assert srun_args[1:3] != ["--mpi"] and srun_args[2:4] == ["-m", "hpcinv"]


def test_without_mpi_srun_uses_the_site_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script, marker = _write_script(tmp_path)
    _, srun_args, _, _ = _run_batch(tmp_path, script, marker, step_status=0,
                                    writes_marker=False)
    assert not any(arg.startswith("--mpi") for arg in srun_args)
    assert srun_args[1:3] == ["-m", "hpcinv"]


@pytest.mark.parametrize("option,value", [
    ("max_requeues", -1), ("mpi", "pmix --export=ALL"), ("mpi", ""), ("mpi", "pmix\n"),
    ("job_name", "run\n"),
    ("setup", ['echo "unterminated']), ("setup", ["module load a\0b"])])
def test_bad_requeue_cap_mpi_type_and_setup_lines_are_refused(option, value):
    with pytest.raises(InputError, match=f"--{option.replace('_', '-')}"):
        render("jobs/deconvolution-lsqr.toml", nodes=1, ntasks_per_node=1, time="00:10:00",
               **{option: value})


def test_every_slurm_option_has_help():
    parser = argparse.ArgumentParser(prog="hpcinv slurm")
    add_arguments(parser)
    undocumented = [action.dest for action in parser._actions if not action.help]
    assert undocumented == []
    text = parser.format_help()
    for option in ("--max-requeues", "--setup", "--mpi", "--grace", "--script"):
        assert option in text


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
