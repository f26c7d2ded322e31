"""The Python driver API (``hpcinv.run``) in-process on 1 and 2 ranks."""
import numpy as np
import pytest

import hpcinv
from hpcinv.core.io.results import read_summary

JOB = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/square-64.toml"
noise_level = 0.01
[solver]
kind = "cgls"
[output]
path = "{path}"
[petsc]
ksp_monitor = true
"""


@pytest.mark.mpi
def test_run_from_python_writes_a_result(mpi_tmp_path):
    from mpi4py import MPI

    path = mpi_tmp_path / "api.h5"
    outcome = hpcinv.run(JOB.format(path=path), quiet=True)
    assert outcome.exit_status == 0 and outcome.stop_reason == "discrepancy"
    assert outcome.result_path == str(path)
    MPI.COMM_WORLD.Barrier()
    summary = read_summary(path)
    assert summary["ranks"] == MPI.COMM_WORLD.size
    errors = summary["history"]["relative_error"]
    assert np.isfinite(errors).all()
    # Semiconvergence: the iteration of the smallest error against the truth is recorded.
    best = int(np.argmin(errors))
    assert summary["best_iteration"] == summary["history"]["iteration"][best]
    assert summary["best_relative_error"] == pytest.approx(errors[best])
    from petsc4py import PETSc

    assert not PETSc.Options().hasName("ksp_monitor")   # the job's options are gone


@pytest.mark.mpi
def test_run_takes_a_dict_and_returns_the_solution(mpi_tmp_path):
    """The dict route is the TOML route: same fingerprint, and the outcome's solution is the
    one written to the result file (gathered from every rank)."""
    import h5py
    from mpi4py import MPI

    from helpers import gather
    from hpcinv.core.jobspec import parse_spec

    path = mpi_tmp_path / "dict.h5"
    tables = {"problem": {"kind": "gravity", "n": 120, "noise_level": 0.01, "seed": 3},
              "solver": {"kind": "tikhonov", "rule": "dp"},
              "output": {"path": str(path)}}
    outcome = hpcinv.run(tables, quiet=True)
    assert outcome.exit_status == 0 and outcome.stop_reason == "dp"
    assert outcome.solver_results["lambda"] > 0
    MPI.COMM_WORLD.Barrier()
    with h5py.File(path, "r") as result:
        stored = result["solution"][...]
        text = result.attrs["job_spec"]
        fingerprint = result.attrs["fingerprint"]
    np.testing.assert_array_equal(gather(outcome.solution), stored)
    assert parse_spec(text).fingerprint() == fingerprint
