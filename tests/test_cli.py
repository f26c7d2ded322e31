"""The command line as users run it: run on 1 and 2 ranks, inspect, info, validate, demo."""
import json
import subprocess
import sys

import numpy as np
import pytest

from hpcinv.core.errors import EXIT_BAD_INPUT
from hpcinv.core.io.results import read_solution, read_summary
from helpers import ROOT, clean_env, hpcinv


# A lambda chosen by minimising a functional moves with the rounding of the reduction
# (sums in another order on 2 ranks): x then agrees to the minimiser's tolerance.
AGREEMENT = {"gravity-gcv": 1e-7, "crosswell-gsvd": 1e-7,
             # the recycled eigenvectors are SLEPc's, converged to 1e-8
             "deconvolution-augmented-sd": 1e-6}
# FFT-based products round differently on 2 ranks (another transpose order).
AGREEMENT["ao-augmented-sd"] = 1e-9


@pytest.mark.parametrize("job", ["deconvolution-lsqr", "deconvolution-ksp",
                                 "deconvolution2d-cgls", "gravity-gcv", "crosswell-gsvd",
                                 "deblurring-lsqr", "deconvolution-augmented-sd",
                                 "ao-augmented-sd"])
def test_job_on_two_ranks_equals_one_rank(tmp_path, job):
    outputs = {}
    for ranks in (1, 2):
        outputs[ranks] = tmp_path / f"{job}-{ranks}.h5"
        result = hpcinv(["run", f"jobs/{job}.toml", "--output", outputs[ranks],
                         "--quiet"], ranks=ranks)
        assert result.returncode == 0, result.stderr
        assert f"{ranks} rank" in result.stdout
    one, two = read_solution(outputs[1]), read_solution(outputs[2])
    assert np.linalg.norm(two - one) <= AGREEMENT.get(job, 1e-10) * np.linalg.norm(one)
    summaries = {ranks: read_summary(path) for ranks, path in outputs.items()}
    assert summaries[1]["ranks"] == 1 and summaries[2]["ranks"] == 2
    assert summaries[1]["iterations"] == summaries[2]["iterations"]


def test_sequence_frames_chain_through_result_files(tmp_path):
    """Frame 1 recycles frame 0's solution from its result file (the jobs' relative paths
    resolve in the working directory) and needs fewer iterations to the discrepancy stop."""
    iterations = {}
    for frame in (0, 1):
        result = hpcinv(["run", ROOT / f"jobs/ao-sequence-frame{frame}.toml", "--quiet"],
                        ranks=2, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        iterations[frame] = read_summary(tmp_path / f"ao-sequence-frame{frame}.h5")["iterations"]
    assert iterations[1] < iterations[0]
    # The same frame warm-started from frame 0's solution instead.
    warm = (ROOT / "jobs/ao-sequence-frame1.toml").read_text().replace(
        'recycle = "results"\nrecycle_results = ["ao-sequence-frame0.h5"]',
        'warm_start = "ao-sequence-frame0.h5"').replace("frame1.h5", "warm1.h5")
    assert "warm_start" in warm
    (tmp_path / "warm1.toml").write_text(warm)
    result = hpcinv(["run", "warm1.toml", "--quiet"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_summary(tmp_path / "ao-sequence-warm1.h5")["iterations"] < iterations[0]
    (tmp_path / "ao-sequence-frame0.h5").unlink()
    result = hpcinv(["run", ROOT / "jobs/ao-sequence-frame1.toml", "--quiet"], cwd=tmp_path)
    # A missing result file named by the job is bad input (EXIT_BAD_INPUT), reported under
    # the job key that names it.
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "hpcinv: invalid input:\n  solver.recycle_results[0]: " in result.stderr
    assert "ao-sequence-frame0.h5" in result.stderr
    result = hpcinv(["run", "warm1.toml", "--quiet"], cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert ("hpcinv: invalid input:\n  solver.warm_start: file not found: ao-sequence-frame0.h5"
            in result.stderr)


def test_inspect_shows_the_run(tmp_path):
    output = tmp_path / "r.h5"
    assert hpcinv(["run", "jobs/deconvolution2d-cgls.toml", "--output", output,
                   "--quiet"]).returncode == 0
    text = hpcinv(["inspect", output]).stdout
    for expected in ("deconvolution", "cgls", "stop reason discrepancy", "ranks", "petsc",
                     "timings", "residual", "error", "grid (64, 64)"):
        assert expected in text, text
    data = json.loads(hpcinv(["inspect", output, "--json"]).stdout)
    assert data["stop_reason"] == "discrepancy"
    assert len(data["history"]["residual_norm"]) == data["iterations"] + 1
    assert "solver]" in data["job_spec"]


def test_inspect_rejects_a_missing_file(tmp_path):
    result = hpcinv(["inspect", tmp_path / "none.h5"])
    assert result.returncode == 2 and "none.h5" in result.stderr


def test_progress_lines_and_quiet(tmp_path):
    loud = hpcinv(["run", "jobs/deconvolution-lsqr.toml", "--output", tmp_path / "a.h5"])
    assert "hpcinv: iter" in loud.stderr and "ETA" in loud.stderr and "target" in loud.stderr
    quiet = hpcinv(["run", "jobs/deconvolution-lsqr.toml", "--output", tmp_path / "b.h5",
                    "--quiet"])
    assert "hpcinv: iter" not in quiet.stderr


def test_petsc_options_reach_the_solver(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text((ROOT / "jobs/deconvolution-ksp.toml").read_text()
                   + "ksp_monitor = true\nksp_view = true\n")
    result = hpcinv(["run", job, "--output", tmp_path / "m.h5", "--quiet"])
    assert result.returncode == 0, result.stderr
    assert "KSP Residual norm" in result.stdout
    assert "type: lsqr" in result.stdout


def test_info_reports_versions_on_two_ranks():
    result = hpcinv(["info"], ranks=2)
    assert result.returncode == 0, result.stderr
    for key in ("petsc ", "slepc ", "mpi_library", "hdf5", "h5py_mpi       True"):
        assert key in result.stdout
    assert result.stdout.count("ranks          2") == 1


def test_validate_needs_no_mpi_and_names_the_job():
    result = hpcinv(["validate", "jobs/deconvolution-lsqr.toml"], OMPI_MCA_pml="no-such-pml")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_every_shipped_job_validates():
    for job in sorted((ROOT / "jobs").glob("*.toml")):
        result = hpcinv(["validate", job])
        assert result.returncode == 0, (job, result.stderr)


def test_kinds_lists_registered_kinds_and_keys():
    text = hpcinv(["kinds"]).stdout
    for expected in ('kind = "deconvolution"', 'kind = "cgls"', 'kind = "lsqr"',
                     'kind = "ksp"', "ksp_type", "max_iterations", "checkpoint_every"):
        assert expected in text


def test_demo_runs_the_galaxy_job_and_plots_it(tmp_path):
    result = hpcinv(["demo", "--output", tmp_path / "demo.h5", "--quiet",
                     "--max-iterations", "20"], ranks=2)
    assert result.returncode == 0, result.stderr
    assert "problem      galaxy   solver pnkr" in result.stdout
    assert "iterations   20   stop reason max_iterations" in result.stdout
    for name in ("demo.h5", "demo-maps.png", "demo-losvd.png", "demo-convergence.png",
                 "demo-maps.fits"):
        assert (tmp_path / name).stat().st_size > 0, name
    import h5py

    with h5py.File(tmp_path / "demo.h5", "r") as result:   # the mock's cube with and without noise
        noisy, clean = result["data"][...], result["noise_free_data"][...]
        assert result["truth"].shape == result["solution"].shape
    assert 0.003 < np.linalg.norm(noisy - clean) / np.linalg.norm(clean) < 0.02


def test_version_and_a_closed_pipe():
    from hpcinv import __version__

    version = hpcinv(["--version"])
    assert version.returncode == 0 and version.stdout.strip() == f"hpcinv {__version__}"
    # `hpcinv kinds | head -1`: the reader closes the pipe early; no traceback, status 0.
    pipeline = subprocess.run(
        f"set -o pipefail; {sys.executable} -m hpcinv kinds | head -1", shell=True,
        executable="/bin/bash", cwd=ROOT, env=clean_env(), capture_output=True, text=True,
        timeout=60)
    assert pipeline.returncode == 0, pipeline.stderr
    assert pipeline.stdout.startswith("[problem]") and "Traceback" not in pipeline.stderr
    assert "BrokenPipe" not in pipeline.stderr
