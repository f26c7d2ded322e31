"""An exception on one rank ends the whole job quickly, with the message printed once."""
import subprocess
import sys

import pytest

from hpcinv.core.errors import EXIT_RUNTIME_FAILURE
from helpers import ROOT, clean_env, write_job

JOB = """
[problem]
kind = "failing-deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
noise_level = 0.0

[solver]
kind = "cgls"
max_iterations = 1000

[output]
path = "{output}"
"""


@pytest.mark.parametrize("ranks,failing_rank", [(2, 1), (2, 0), (1, 0)])
def test_failure_on_one_rank_ends_the_job(tmp_path, ranks, failing_rank):
    output = tmp_path / "out.h5"
    job = write_job(tmp_path, "job.toml", JOB.format(output=output))
    driver = [sys.executable, str(ROOT / "tests" / "drivers" / "fail_on_rank.py"), str(job),
              str(failing_rank)]
    launcher = ["mpirun", "--oversubscribe", "-n", str(ranks)] if ranks > 1 else []
    # timeout=10: a job left hanging in a collective fails the test with TimeoutExpired.
    result = subprocess.run(launcher + driver, cwd=ROOT, env=clean_env(), capture_output=True,
                            text=True, timeout=10)
    # One rank alone: status 1 (EXIT_RUNTIME_FAILURE).  On 2 ranks the failing rank calls
    # MPI_Abort(1) (core/mpi.py::report_and_exit) and Open MPI's mpirun returns that code.
    assert result.returncode == EXIT_RUNTIME_FAILURE, (result.returncode, result.stderr)
    message = f"injected failure on rank {failing_rank}"
    assert result.stderr.count("hpcinv: error") == 1, result.stderr
    assert message in result.stderr
    assert not output.exists()
