"""Kill test: SIGTERM (or SIGUSR1 through mpirun) mid-run writes a checkpoint and no result;
``--resume`` then finishes with the same solution as an uninterrupted run."""
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from hpcinv.io.results import read_solution, read_summary
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

[output]
path = "{output}"
checkpoint_every = {every}
"""


def _job(tmp_path, name, solver="cgls", iterations=2000, every=0):
    output = tmp_path / f"{name}.h5"
    return write_job(tmp_path, f"{name}.toml", JOB.format(
        solver=solver, iterations=iterations, output=output, every=every)), output


def _interrupt(job, output: Path, ranks: int, signum) -> None:
    """Start a run, wait for its first checkpoint, signal it, expect a clean stop; then
    turn per-iteration checkpoints off (output settings may change between restarts)."""
    process = start(["run", job], ranks=ranks)
    checkpoint = Path(str(output) + ".ckpt")
    deadline = time.monotonic() + 60
    while not checkpoint.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 75, stderr
    assert "run again with --resume" in stderr
    assert not output.exists()
    assert list(output.parent.glob("*.h5")) == []
    job.write_text(job.read_text().replace("checkpoint_every = 1", "checkpoint_every = 0"))


@pytest.mark.parametrize("ranks,signum", [(1, signal.SIGTERM), (2, signal.SIGUSR1)])
def test_resumed_run_equals_uninterrupted(tmp_path, ranks, signum):
    reference_job, reference = _job(tmp_path, "reference")
    done = hpcinv(["run", reference_job, "--quiet"], ranks=ranks)
    assert done.returncode == 0, done.stderr
    expected = read_solution(reference)
    reference.rename(tmp_path / "reference.result")

    job, output = _job(tmp_path, "interrupted", every=1)
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


def test_resume_without_checkpoint_starts_fresh_and_complete_result_is_kept(tmp_path):
    job, output = _job(tmp_path, "fresh", iterations=20)
    first = hpcinv(["run", job, "--resume"])
    assert first.returncode == 0 and "starting from the beginning" in first.stderr
    stamp = output.stat().st_mtime_ns
    again = hpcinv(["run", job, "--resume"])
    assert again.returncode == 0 and "nothing to resume" in again.stderr
    assert output.stat().st_mtime_ns == stamp


def test_checkpoint_of_another_job_is_refused(tmp_path):
    job, output = _job(tmp_path, "one", every=1)
    _interrupt(job, output, 1, signal.SIGTERM)
    changed = write_job(tmp_path, "one.toml", job.read_text().replace("sigma = 0.03",
                                                                      "sigma = 0.05"))
    result = hpcinv(["run", changed, "--resume"])
    assert result.returncode == 2
    assert "different problem or solver" in result.stderr


def test_lsqr_resume_continues_to_the_stopping_rule(tmp_path):
    job, output = _job(tmp_path, "lsqr", solver="lsqr", every=1)
    _interrupt(job, output, 1, signal.SIGTERM)
    resumed = hpcinv(["run", job, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert "restarts its Krylov space" in resumed.stderr
    summary = read_summary(output)
    assert summary["iterations"] == 2000 and summary["stop_reason"] == "max_iterations"
