"""Malformed job specs and data: exit status 2 and a message naming the key, on 1 and 2
ranks, before any heavy work (each run must finish within 10 s or the test fails)."""
import h5py
import numpy as np
import pytest

from helpers import hpcinv, write_job

GOOD_PROBLEM = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
"""
GOOD_SOLVER = """
[solver]
kind = "cgls"
"""


def _data_file(directory, name, array, dataset="data"):
    path = directory / name
    with h5py.File(path, "w") as handle:
        handle[dataset] = array
    return path


def _cases(tmp):
    nan_data = np.ones(256)
    nan_data[200] = np.nan
    nan_file = _data_file(tmp, "nan.h5", nan_data)
    short_file = _data_file(tmp, "short.h5", np.ones(100))
    other_name = _data_file(tmp, "other.h5", np.ones(256), dataset="measurements")
    (tmp / "flat.toml").write_text("[grid]\nshape = [0]\n")
    return {
        "unknown key": (GOOD_PROBLEM + GOOD_SOLVER + "max_iters = 5\n", "solver.max_iters"),
        "wrong type": (GOOD_PROBLEM + GOOD_SOLVER + 'max_iterations = "100"\n',
                       "solver.max_iterations"),
        "negative noise level": (GOOD_PROBLEM + "noise_level = -0.1\n" + GOOD_SOLVER,
                                 "problem.noise_level"),
        "NaN parameter": (GOOD_PROBLEM + "sigma = nan\n" + GOOD_SOLVER, "problem.sigma"),
        "NaN in data": (GOOD_PROBLEM + f'data = "{nan_file}"\n' + GOOD_SOLVER, "problem.data"),
        "shape mismatch": (GOOD_PROBLEM + f'data = "{short_file}"\n' + GOOD_SOLVER,
                           "problem.data"),
        "missing dataset": (GOOD_PROBLEM + f'data = "{other_name}"\n' + GOOD_SOLVER,
                            "problem.data"),
        "missing mesh file": (GOOD_PROBLEM.replace("line-256", "no-such-mesh") + GOOD_SOLVER,
                              "problem.mesh"),
        "malformed mesh": (GOOD_PROBLEM.replace("meshes/deconvolution/line-256.toml",
                                                str(tmp / "flat.toml")) + GOOD_SOLVER,
                           "problem.mesh"),
        "unknown solver kind": (GOOD_PROBLEM + '[solver]\nkind = "magic"\n', "solver.kind"),
        "unknown problem kind": ('[problem]\nkind = "nope"\n' + GOOD_SOLVER, "problem.kind"),
        "out of range tau": (GOOD_PROBLEM + GOOD_SOLVER + "tau = 0.5\n", "solver.tau"),
        "unknown table": (GOOD_PROBLEM + GOOD_SOLVER + "[outputs]\npath = 'x.h5'\n", "outputs"),
        "output not h5": (GOOD_PROBLEM + GOOD_SOLVER + "[output]\npath = 'x.txt'\n",
                          "output.path"),
        "missing solver table": (GOOD_PROBLEM, "solver"),
        "bad petsc value": (GOOD_PROBLEM + GOOD_SOLVER + "[petsc]\nksp_monitor = [1]\n",
                            "petsc.ksp_monitor"),
        "not TOML": (GOOD_PROBLEM + "kind = = 3\n", "not valid TOML"),
    }


CASE_NAMES = ["unknown key", "wrong type", "negative noise level", "NaN parameter",
              "NaN in data", "shape mismatch", "missing dataset", "missing mesh file",
              "malformed mesh", "unknown solver kind", "unknown problem kind",
              "out of range tau", "unknown table", "output not h5", "missing solver table",
              "bad petsc value", "not TOML"]


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_exits_2_naming_the_key(tmp_path, case, ranks):
    text, key = _cases(tmp_path)[case]
    job = write_job(tmp_path, "job.toml", text + "\n")
    result = hpcinv(["run", job, "--output", tmp_path / "out.h5"], ranks=ranks, timeout=10)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert result.stderr.count("invalid input") == 1, result.stderr
    assert not (tmp_path / "out.h5").exists()


def test_all_cases_are_listed(tmp_path):
    assert sorted(_cases(tmp_path)) == sorted(CASE_NAMES)


def test_every_problem_is_reported_at_once(tmp_path):
    job = write_job(tmp_path, "job.toml", GOOD_PROBLEM + "noise_level = -1\nsigma = 'wide'\n"
                    + GOOD_SOLVER + "tau = 0.1\nmax_iters = 3\n")
    result = hpcinv(["validate", job], timeout=10)
    assert result.returncode == 2
    for key in ("problem.noise_level", "problem.sigma", "solver.tau", "solver.max_iters"):
        assert key in result.stderr


def test_unknown_kind_lists_known_kinds(tmp_path):
    job = write_job(tmp_path, "job.toml", GOOD_PROBLEM + '[solver]\nkind = "magic"\n')
    result = hpcinv(["validate", job], timeout=10)
    assert result.returncode == 2
    assert "cgls" in result.stderr and "lsqr" in result.stderr
