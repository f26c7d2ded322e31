"""A shared service under faults: write failures end every rank, damaged checkpoints are
refused, outputs are never clobbered, overflow is a failure, SIGTERM to mpirun leaves a
marker.  Every run here must end within its timeout: a hang fails the test."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from hpcinv.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_RUNTIME_FAILURE
from hpcinv.core.io.results import read_summary, verify_result
from helpers import ROOT, clean_env, hpcinv, start, write_job

JOB = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/{mesh}.toml"
sigma = {sigma}
noise_level = {noise}
{data}

[solver]
kind = "{solver}"
max_iterations = {iterations}
wall_time = {wall_time}

[output]
path = "{output}"
checkpoint_every = {every}
"""


def _job(directory, name="job", *, mesh="line-256", sigma=0.03, noise=0.01, data="",
         solver="cgls", iterations=200, wall_time=0.0, every=0, output=None):
    output = output or Path(directory) / f"{name}.h5"
    text = JOB.format(mesh=mesh, sigma=sigma, noise=noise, data=data, solver=solver,
                      iterations=iterations, wall_time=wall_time, output=output, every=every)
    return write_job(directory, f"{name}.toml", text), Path(output)


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in Path(directory).iterdir()
                  if p.name.endswith((".partial", ".lock", ".probe")))


# -- 1. write failures ---------------------------------------------------------------------

@pytest.mark.parametrize("ranks,failing_rank,where", [
    (1, 0, "data"), (1, 0, "checkpoint"),
    (2, 0, "data"), (2, 1, "data"), (2, 1, "checkpoint"), (2, 0, "close"), (2, 1, "close")])
def test_a_write_failure_on_one_rank_ends_every_rank(tmp_path, ranks, failing_rank, where):
    job, output = _job(tmp_path, mesh="square-64", every=5)
    driver = [sys.executable, str(ROOT / "tests" / "drivers" / "fail_write_on_rank.py"),
              str(job), str(failing_rank), where]
    launcher = ["mpirun", "--oversubscribe", "-n", str(ranks)] if ranks > 1 else []
    began = time.monotonic()
    result = subprocess.run(launcher + driver, cwd=ROOT, env=clean_env(), capture_output=True,
                            text=True, timeout=20)
    assert time.monotonic() - began < 15
    assert result.returncode == EXIT_RUNTIME_FAILURE, result.stderr
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists() and _leftovers(tmp_path) == []


def _mount_tiny_filesystem(directory: Path) -> bool:
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                              str(directory)], capture_output=True)
    return mounted.returncode == 0


@pytest.mark.parametrize("ranks", [1, 2])
def test_a_full_disk_fails_before_the_solve(tmp_path, ranks):
    """A real full file system where mounting a 1 MiB tmpfs is permitted (root with
    CAP_SYS_ADMIN); elsewhere the same run with the free space the check sees set to 50 KiB
    (tests/drivers/full_disk.py)."""
    disk = tmp_path / "disk"
    mounted = _mount_tiny_filesystem(disk)
    try:
        if mounted:
            (disk / "filler").write_bytes(b"\0" * 1_000_000)
        job, output = _job(tmp_path, mesh="square-64", output=disk / "out.h5",
                           iterations=100000, noise=0.0)
        command = ["-m", "hpcinv", "run", str(job)] if mounted else \
            [str(ROOT / "tests" / "drivers" / "full_disk.py"), str(job)]
        launcher = ["mpirun", "--oversubscribe", "-n", str(ranks)] if ranks > 1 else []
        began = time.monotonic()
        result = subprocess.run(launcher + [sys.executable, *command], cwd=ROOT,
                                env=clean_env(), capture_output=True, text=True, timeout=20)
        assert time.monotonic() - began < 15
        assert result.returncode == EXIT_RUNTIME_FAILURE, result.stderr
        assert "No space left on device" in result.stderr and "iter" not in result.stderr
        assert sorted(p.name for p in disk.iterdir()) == (["filler"] if mounted else [])
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)


# -- 2. damaged checkpoints ----------------------------------------------------------------

def _checkpoint(tmp_path, ranks=1):
    """A job stopped by its wall time: exit 75 with a checkpoint."""
    job, output = _job(tmp_path, mesh="square-64", noise=0.0, iterations=10**7,
                       wall_time=1.0)
    result = hpcinv(["run", job, "--quiet"], ranks=ranks, timeout=60)
    assert result.returncode == EXIT_INTERRUPTED, result.stderr
    return job, output, Path(str(output) + ".ckpt")


def _flip_bytes(path: Path, dataset: str) -> None:
    with h5py.File(path, "r") as handle:
        offset = handle[dataset].id.get_offset()
    with open(path, "r+b") as handle:
        handle.seek(offset + 800)
        chunk = bytearray(handle.read(64))
        handle.seek(offset + 800)
        handle.write(bytes(b ^ 0x5A for b in chunk))


def _set_nan(path: Path, dataset: str) -> None:
    with h5py.File(path, "r+") as handle:
        handle[dataset][7] = np.nan


def _edit_attribute(name, value):
    def edit(path: Path, _):
        with h5py.File(path, "r+") as handle:
            handle.attrs[name] = value
    return edit


def _truncate(path: Path, _) -> None:
    os.truncate(path, path.stat().st_size // 2)


DAMAGE = {
    "flipped bytes": (_flip_bytes, "does not match its checksum"),
    "NaN in a vector": (_set_nan, "non-finite values"),
    "NaN scalar": (_edit_attribute("scalars", '{"residual_norm": NaN}'), "checksum"),
    "negative iteration": (_edit_attribute("iteration", -5), "checksum"),
    "truncated": (_truncate, "checkpoint"),
}


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_refused(tmp_path, damage, ranks):
    job, output, checkpoint = _checkpoint(tmp_path)
    edit, message = DAMAGE[damage]
    edit(checkpoint, "vectors/x")
    result = hpcinv(["run", job, "--resume", "--quiet"], ranks=ranks, timeout=60)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert str(checkpoint) in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_an_intact_checkpoint_resumes_on_another_rank_count(tmp_path):
    job, output, checkpoint = _checkpoint(tmp_path, ranks=2)
    job.write_text(job.read_text().replace("max_iterations = 10000000",
                                           "max_iterations = 300"))
    result = hpcinv(["run", job, "--resume", "--quiet"], ranks=1, timeout=60)
    assert result.returncode == 0, result.stderr
    assert read_summary(output)["resumed"] and verify_result(str(output)) == []


def test_inspect_verify_detects_an_altered_result(tmp_path):
    job, output = _job(tmp_path)
    assert hpcinv(["run", job, "--quiet"]).returncode == 0
    verified = hpcinv(["inspect", "--verify", output])
    assert verified.returncode == 0 and "verified" in verified.stdout
    _set_nan(output, "solution")
    altered = hpcinv(["inspect", "--verify", output])
    assert altered.returncode == EXIT_BAD_INPUT
    assert "/solution: contents do not match the checksum" in altered.stderr
    with h5py.File(output, "r+") as handle:
        handle.attrs["iterations"] = 1
    assert "attributes" in hpcinv(["inspect", "--verify", output]).stderr


def test_resume_keeps_a_complete_result_only_when_it_verifies(tmp_path):
    job, output = _job(tmp_path)
    assert hpcinv(["run", job, "--quiet"]).returncode == 0
    kept = hpcinv(["run", job, "--resume"])
    assert kept.returncode == 0 and "kept" in kept.stdout
    _set_nan(output, "solution")
    again = hpcinv(["run", job, "--resume"])
    assert again.returncode == 0 and "wrote" in again.stdout, again.stderr
    assert verify_result(str(output)) == []


# -- 3. outputs that must not be clobbered -------------------------------------------------

def test_an_output_that_is_an_input_is_refused(tmp_path):
    data = tmp_path / "data.h5"
    with h5py.File(data, "w") as handle:
        handle["data"] = np.ones(256)
    job, _ = _job(tmp_path, data=f'data = "{data}"', output=data)
    before = data.read_bytes()
    for command in (["validate", job], ["run", job]):
        result = hpcinv(command)
        assert result.returncode == EXIT_BAD_INPUT, result.stderr
        assert "output.path" in result.stderr and "one of the job's inputs" in result.stderr
    assert data.read_bytes() == before


def test_a_second_run_on_the_same_output_is_refused(tmp_path):
    job, output = _job(tmp_path, mesh="square-64", noise=0.0, iterations=10**7)
    first = start(["run", job, "--quiet"])
    lock = Path(str(output) + ".lock")
    deadline = time.monotonic() + 60
    while not lock.exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        for ranks in (1, 2):
            second = hpcinv(["run", job, "--quiet"], ranks=ranks, timeout=30)
            assert second.returncode == EXIT_BAD_INPUT, second.stderr
            assert "being written by another hpcinv run" in second.stderr
            assert f"pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == EXIT_INTERRUPTED and not lock.exists()


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path):
    job, output = _job(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    Path(str(output) + ".lock").write_text(json.dumps(
        {"host": os.uname().nodename, "pid": dead.pid, "started": "earlier"}))
    result = hpcinv(["run", job, "--quiet"])
    assert result.returncode == 0, result.stderr
    assert _leftovers(tmp_path) == []


def test_another_jobs_result_is_replaced_only_when_asked(tmp_path):
    job, output = _job(tmp_path)
    assert hpcinv(["run", job, "--quiet"]).returncode == 0
    again = hpcinv(["run", job, "--quiet"])                 # the same job: a rerun
    assert again.returncode == 0, again.stderr
    other = write_job(tmp_path, "other.toml", job.read_text().replace("sigma = 0.03",
                                                                      "sigma = 0.05"))
    stamp = output.stat().st_mtime_ns
    for ranks in (1, 2):
        refused = hpcinv(["run", other, "--quiet"], ranks=ranks)
        assert refused.returncode == EXIT_BAD_INPUT, refused.stderr
        assert "result of another job" in refused.stderr and "overwrite" in refused.stderr
    assert output.stat().st_mtime_ns == stamp
    other.write_text(other.read_text() + "overwrite = true\n")
    assert hpcinv(["run", other, "--quiet"]).returncode == 0
    assert read_summary(output)["job_source"] == str(other)
    output.write_text("not a result")
    refused = hpcinv(["run", job, "--quiet"])
    assert refused.returncode == EXIT_BAD_INPUT and "not an hpcinv result" in refused.stderr


# -- 4. output paths checked before the solve ----------------------------------------------

@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("case", ["directory", "long name", "very long name", "file as dir",
                                  "proc"])
def test_a_bad_output_path_fails_before_the_solve(tmp_path, case, ranks):
    (tmp_path / "dir.h5").mkdir()
    (tmp_path / "plain").write_text("")
    long_dir = tmp_path / ("d" * 200)
    long_dir.mkdir()
    output = {"directory": tmp_path / "dir.h5",
              "long name": long_dir / ("x" * 40 + ".h5"),        # crashed Open MPI at 245
              "very long name": tmp_path / ("y" * 5000 + ".h5"),
              "file as dir": tmp_path / "plain" / "out.h5",
              "proc": Path("/proc/hpcinv-test.h5")}[case]
    job, _ = _job(tmp_path, mesh="square-64", noise=0.0, iterations=10**7, output=output)
    began = time.monotonic()
    result = hpcinv(["run", job], ranks=ranks, timeout=30)
    assert time.monotonic() - began < 20
    expected = EXIT_RUNTIME_FAILURE if case == "proc" else EXIT_BAD_INPUT
    assert result.returncode == expected, result.stderr
    assert "iter " not in result.stderr and "Traceback" not in result.stderr
    assert ("output.path" in result.stderr) == (expected == EXIT_BAD_INPUT)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "dir.h5.partial").exists()


# -- 5. overflow is a failure, never convergence -------------------------------------------

@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("case", ["huge data", "tiny sigma", "one huge value"])
def test_non_finite_arithmetic_fails(tmp_path, case, ranks):
    values = np.ones(256) * (1e300 if case == "huge data" else 1.0)
    if case == "one huge value":
        values[100] = 1e308
    data = tmp_path / "data.h5"
    with h5py.File(data, "w") as handle:
        handle["data"] = values
    job, output = _job(tmp_path, sigma=1e-300 if case == "tiny sigma" else 0.03,
                       data="" if case == "tiny sigma" else f'data = "{data}"')
    result = hpcinv(["run", job, "--quiet"], ranks=ranks)
    assert result.returncode == EXIT_RUNTIME_FAILURE, result.stderr
    assert "overflow" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()


def test_an_iteration_that_overflows_is_not_convergence():
    """A method whose residual becomes infinite mid-run: ``run`` raises instead of
    reporting the discrepancy principle met (inf <= inf)."""
    from hpcinv.core.errors import RuntimeFailure
    from hpcinv.core.petsc_env import initialize
    from hpcinv.linalg import MatOperator
    from hpcinv.solvers.krylov.cgls import CGLS

    PETSc = initialize()
    matrix = PETSc.Mat().createAIJ([4, 4], comm=PETSc.COMM_SELF)
    matrix.setUp()
    for i in range(4):
        matrix[i, i] = 1.0
    matrix.assemble()
    operator = MatOperator(matrix)
    data = matrix.createVecLeft()
    data.set(1.0)

    class Overflowing(CGLS):
        def step(self, state):
            super().step(state)
            return float("inf")

    with pytest.raises(RuntimeFailure, match="non-finite"):
        Overflowing(operator, data, noise_norm=0.1, max_iterations=5).run()


# -- 8. service mode -----------------------------------------------------------------------

def test_sandbox_confines_inputs_and_outputs(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as handle:
        handle["data"] = np.ones(256)
    job, _ = _job(allowed, output=allowed / "out.h5")
    sandbox = {"HPCINV_SANDBOX": str(allowed)}
    assert hpcinv(["run", job, "--quiet"], **sandbox).returncode == 0   # shipped mesh allowed
    escaped, _ = _job(allowed, "escape", output=tmp_path / "escaped.h5")
    result = hpcinv(["validate", escaped], **sandbox)
    assert result.returncode == EXIT_BAD_INPUT and "output.path" in result.stderr
    assert "outside the directories this service may write" in result.stderr
    messages = []
    for name in (outside, tmp_path / "missing.h5"):
        reader, _ = _job(allowed, "reader", data=f'data = "{name}"')
        result = hpcinv(["run", reader, "--sandbox", str(allowed)])
        assert result.returncode == EXIT_BAD_INPUT and "problem.data" in result.stderr
        messages.append(result.stderr.replace(str(name), "FILE"))
    assert messages[0] == messages[1]        # no hint whether a file outside exists
    link = allowed / "link.h5"
    link.symlink_to(outside)
    reader, _ = _job(allowed, "reader", data=f'data = "{link}"')
    assert hpcinv(["run", reader, "--quiet"], **sandbox).returncode == EXIT_BAD_INPUT


# -- 9. SIGTERM to mpirun ------------------------------------------------------------------

def test_sigterm_to_mpirun_leaves_a_checkpoint_and_a_stop_marker(tmp_path):
    job, output = _job(tmp_path, mesh="square-64", noise=0.0, iterations=10**7, every=50)
    process = start(["run", job, "--quiet"], ranks=2)
    checkpoint = Path(str(output) + ".ckpt")
    deadline = time.monotonic() + 60
    while not checkpoint.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    # Open MPI's mpirun exits 1 whatever its ranks return once it got SIGTERM; the marker
    # is what tells a wrapper "resume me".
    marker = Path(str(output) + ".stopped")
    stopped = json.loads(marker.read_text())
    assert stopped["checkpoint"] == str(checkpoint) and stopped["signal"] == "SIGTERM"
    assert stopped["exit_status"] == EXIT_INTERRUPTED
    job.write_text(job.read_text().replace("max_iterations = 10000000",
                                           f"max_iterations = {stopped['iteration'] + 10}"))
    resumed = hpcinv(["run", job, "--resume", "--quiet"], ranks=2, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert read_summary(output)["iterations"] == stopped["iteration"] + 10
    assert not marker.exists() and not checkpoint.exists()
