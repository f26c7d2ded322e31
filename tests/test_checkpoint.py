"""Kill test: SIGTERM (or SIGUSR1 through mpirun) mid-run writes a checkpoint and no result;
``--resume`` then finishes with the same solution as an uninterrupted run."""
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from hpcinv.core.io.results import read_solution, read_summary
from helpers import hpcinv, start, write_job

# Noise-free data: the discrepancy target is 0, so the run always goes to max_iterations.
JOB = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/square-64.toml"
sigma = 0.03
noise_level = 0.0

[solver]
kind = "{solver}"
max_iterations = {iterations}
{extra}

[output]
path = "{output}"
checkpoint_every = {every}
"""


def _job(tmp_path, name, solver="cgls", iterations=2000, every=0, extra=""):
    output = tmp_path / f"{name}.h5"
    return write_job(tmp_path, f"{name}.toml", JOB.format(
        solver=solver, iterations=iterations, output=output, every=every, extra=extra)), output


def _rank_pids(launcher_pid: int) -> list[int]:
    """The rank processes mpirun started (its children)."""
    found = subprocess.run(["pgrep", "-P", str(launcher_pid)], capture_output=True, text=True)
    return sorted(int(pid) for pid in found.stdout.split())


def _interrupt(job, output: Path, ranks: int, signum, only_last_rank=False) -> None:
    """Start a run, wait for its first checkpoint, signal it (mpirun, or one rank directly
    as srun does), expect a clean stop; then turn per-iteration checkpoints off (output
    settings may change between restarts)."""
    process = start(["run", job], ranks=ranks)
    checkpoint = Path(str(output) + ".ckpt")
    deadline = time.monotonic() + 60
    while not checkpoint.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        assert list(output.parent.glob("*.h5")) == []   # no result while incomplete
        time.sleep(0.05)
    assert list(output.parent.glob("*.h5")) == []
    if only_last_rank:
        os.kill(_rank_pids(process.pid)[-1], signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 75, stderr
    assert "run again with --resume" in stderr
    assert not output.exists()
    assert list(output.parent.glob("*.h5")) == []
    job.write_text(job.read_text().replace("checkpoint_every = 1", "checkpoint_every = 0"))


@pytest.mark.parametrize("solver,ranks,signum", [("cgls", 1, signal.SIGTERM),
                                                 ("cgls", 2, signal.SIGUSR1),
                                                 ("lsqr", 1, signal.SIGUSR1),
                                                 ("lsqr", 2, signal.SIGUSR1)])
def test_resumed_run_equals_uninterrupted(tmp_path, solver, ranks, signum):
    reference_job, reference = _job(tmp_path, "reference", solver=solver)
    done = hpcinv(["run", reference_job, "--quiet"], ranks=ranks)
    assert done.returncode == 0, done.stderr
    expected = read_solution(reference)
    reference.rename(tmp_path / "reference.result")

    job, output = _job(tmp_path, "interrupted", solver=solver, every=1)
    _interrupt(job, output, ranks, signum)
    resumed = hpcinv(["run", job, "--resume"], ranks=ranks)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    summary = read_summary(output)
    assert summary["resumed"] is True or summary["resumed"] == 1
    assert summary["iterations"] == 2000
    assert np.array_equal(summary["history"]["iteration"], np.arange(2001))
    actual = read_solution(output)
    assert np.linalg.norm(actual - expected) <= 1e-12 * np.linalg.norm(expected)
    assert not Path(str(output) + ".ckpt").exists()


def test_sigterm_to_one_rank_stops_all_ranks_with_a_checkpoint(tmp_path):
    """What srun does on scancel or at the time limit: the signal reaches the tasks."""
    job, output = _job(tmp_path, "srunlike", every=1)
    _interrupt(job, output, 2, signal.SIGTERM, only_last_rank=True)
    resumed = hpcinv(["run", job, "--resume", "--quiet"], ranks=2)
    assert resumed.returncode == 0, resumed.stderr
    assert read_summary(output)["iterations"] == 2000


def test_resume_without_checkpoint_starts_fresh_and_complete_result_is_kept(tmp_path):
    job, output = _job(tmp_path, "fresh", iterations=20)
    first = hpcinv(["run", job, "--resume"])
    assert first.returncode == 0 and "starting from the beginning" in first.stderr
    assert "wrote" in first.stdout
    stamp = output.stat().st_mtime_ns
    again = hpcinv(["run", job, "--resume"])
    assert again.returncode == 0 and "nothing to resume" in again.stderr
    assert "kept" in again.stdout
    assert output.stat().st_mtime_ns == stamp
    job.write_text(job.read_text().replace("sigma = 0.03", "sigma = 0.05"))
    changed = hpcinv(["run", job, "--resume"])
    assert changed.returncode == 2, changed.stderr
    assert "output.path" in changed.stderr and "result of another job" in changed.stderr
    assert output.stat().st_mtime_ns == stamp          # the other job's result survives
    replaced = hpcinv(["run", job, "--resume", "--overwrite"])
    assert replaced.returncode == 0 and "wrote" in replaced.stdout, replaced.stderr
    assert output.stat().st_mtime_ns != stamp


def test_more_iterations_may_be_granted_on_resume(tmp_path):
    job, output = _job(tmp_path, "extend", iterations=2000, every=1)
    _interrupt(job, output, 1, signal.SIGTERM)
    job.write_text(job.read_text().replace("max_iterations = 2000", "max_iterations = 2100"))
    resumed = hpcinv(["run", job, "--resume", "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    assert read_summary(output)["iterations"] == 2100


def test_checkpoint_of_another_job_is_refused(tmp_path):
    job, output = _job(tmp_path, "one", every=1)
    _interrupt(job, output, 1, signal.SIGTERM)
    changed = write_job(tmp_path, "one.toml", job.read_text().replace("sigma = 0.03",
                                                                      "sigma = 0.05"))
    result = hpcinv(["run", changed, "--resume"])
    assert result.returncode == 2
    assert "output.path" in result.stderr and "different problem or solver" in result.stderr
    assert Path(str(output) + ".ckpt").exists()          # refused, not replaced
    replaced = hpcinv(["run", changed, "--resume", "--overwrite", "--quiet"])
    assert replaced.returncode == 0, replaced.stderr     # starts afresh over it
    assert not read_summary(output)["resumed"]


def test_ksp_resume_continues_to_the_stopping_rule(tmp_path):
    job, output = _job(tmp_path, "ksp", solver="ksp", every=1)
    _interrupt(job, output, 1, signal.SIGTERM)
    resumed = hpcinv(["run", job, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert "restarts its Krylov space" in resumed.stderr
    summary = read_summary(output)
    assert summary["iterations"] == 2000 and summary["stop_reason"] == "max_iterations"
