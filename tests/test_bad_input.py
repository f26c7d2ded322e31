"""Malformed job specs and data: exit status 2 and a message naming the key, on 1 and 2
ranks, before any heavy work (each run must finish within 10 s or the test fails)."""
import h5py
import numpy as np
import pytest

from helpers import ROOT, hpcinv, write_job

GOOD_PROBLEM = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
"""
GOOD_SOLVER = """
[solver]
kind = "cgls"
"""
GALAXY_PROBLEM = """
[problem]
kind = "galaxy"
mesh = "meshes/galaxy/tiny.toml"
"""
GARBAGE = np.random.default_rng(0).bytes(4096)   # random bytes: not UTF-8, HDF5 or FITS


def _data_file(directory, name, array, dataset="data"):
    path = directory / name
    with h5py.File(path, "w") as handle:
        handle[dataset] = array
    return path


def _bad_files(tmp):
    """Input files broken in every way a reader meets: binary garbage, cut short, HDF5
    values that are not real numbers, a group where the data belong."""
    (tmp / "garbage.bin").write_bytes(GARBAGE)
    strings = _data_file(tmp, "strings.h5", np.array([b"1.0"] * 256))
    compound = _data_file(tmp, "compound.h5", np.zeros(256, dtype=[("re", "f8"), ("n", "i4")]))
    complex_ = _data_file(tmp, "complex.h5", np.ones(256) * (1 + 2j))
    group = tmp / "group.h5"
    with h5py.File(group, "w") as handle:
        handle.create_group("data")["values"] = np.ones(256)
    whole = _data_file(tmp, "whole.h5", np.ones(256)).read_bytes()
    (tmp / "truncated.h5").write_bytes(whole[:len(whole) // 2])
    cube = (ROOT / "jobs/galaxy-cube.fits").read_bytes()
    (tmp / "truncated.fits").write_bytes(cube[:len(cube) // 4])
    _data_file(tmp, "recycle-strings.h5", np.array([[b"x"] * 256]), dataset="recycle")
    return {"garbage": tmp / "garbage.bin", "strings": strings, "compound": compound,
            "complex": complex_, "group": group, "truncated": tmp / "truncated.h5",
            "truncated cube": tmp / "truncated.fits",
            "recycle strings": tmp / "recycle-strings.h5"}


def _file_cases(tmp):
    """(job text, key, phrases the message must hold) of unreadable input files."""
    files = _bad_files(tmp)

    def data(name):
        return GOOD_PROBLEM + f'data = "{files[name]}"\n' + GOOD_SOLVER

    galaxy_solver = '[solver]\nkind = "pnkr"\n'
    return {
        "garbage job file": (GARBAGE, "job.toml", ["not a UTF-8 text file"]),
        "garbage mesh": (GOOD_PROBLEM.replace("meshes/deconvolution/line-256.toml",
                                              str(files["garbage"])) + GOOD_SOLVER,
                         "problem.mesh", ["garbage.bin", "not a UTF-8 text file"]),
        "garbage galaxy mesh": (GALAXY_PROBLEM.replace("meshes/galaxy/tiny.toml",
                                                       str(files["garbage"])) + galaxy_solver,
                                "problem.mesh", ["garbage.bin", "not a UTF-8 text file"]),
        "garbage data": (data("garbage"), "problem.data", ["garbage.bin", "cannot read HDF5"]),
        "truncated data": (data("truncated"), "problem.data", ["truncated.h5", "truncated"]),
        "string data": (data("strings"), "problem.data", ["strings.h5", "holds strings"]),
        "compound data": (data("compound"), "problem.data",
                          ["compound.h5", "compound records"]),
        "complex data": (data("complex"), "problem.data", ["complex.h5", "complex numbers"]),
        "data is a group": (data("group"), "problem.data", ["group.h5", "is a group"]),
        "garbage cube": (GALAXY_PROBLEM + f'cube = "{files["garbage"]}"\n' + galaxy_solver,
                         "problem.cube", ["garbage.bin", "not a FITS file"]),
        "truncated cube": (GALAXY_PROBLEM + f'cube = "{files["truncated cube"]}"\n'
                           + galaxy_solver, "problem.cube", ["truncated.fits", "truncated"]),
        "string recycle file": (GOOD_PROBLEM + '[solver]\nkind = "augmented-sd"\n'
                                'recycle = "file"\n'
                                f'recycle_file = "{files["recycle strings"]}"\n',
                                "solver.recycle_file", ["recycle-strings.h5", "strings"]),
    }


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
        **{name: case for name, case in _file_cases(tmp).items() if name not in VALIDATE_ONLY},
    }


# Garbage as a data file or a cube fails where the truncated files above fail (the file will
# not open); ``validate`` checks them in-process only, which keeps the number of jobs down.
VALIDATE_ONLY = ("garbage data", "garbage cube")


CASE_NAMES = ["unknown key", "wrong type", "negative noise level", "NaN parameter",
              "NaN in data", "shape mismatch", "missing dataset", "missing mesh file",
              "malformed mesh", "unknown solver kind", "unknown problem kind",
              "out of range tau", "unknown table", "output not h5", "missing solver table",
              "bad petsc value", "not TOML", "garbage job file", "garbage mesh",
              "garbage galaxy mesh", "truncated data", "string data", "compound data",
              "complex data", "data is a group", "truncated cube", "string recycle file"]


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_exits_2_naming_the_key(tmp_path, case, ranks):
    text, key, *phrases = _cases(tmp_path)[case]
    job = _write(tmp_path, text)
    result = hpcinv(["run", job, "--output", tmp_path / "out.h5"], ranks=ranks, timeout=10)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    for phrase in phrases[0] if phrases else ():
        assert phrase in result.stderr, (phrase, result.stderr)
    assert result.stderr.count("invalid input") == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "out.h5").exists()


def _write(directory, text):
    if isinstance(text, bytes):
        (directory / "job.toml").write_bytes(text)
        return directory / "job.toml"
    return write_job(directory, "job.toml", text + "\n")


def test_validate_reports_unreadable_files_without_a_traceback(tmp_path, capsys):
    """``hpcinv validate`` (load_spec and the kind's prepare; in-process, so any exception
    but an InputError fails here) on every case of an input file that cannot be read, but
    the recycle file, which only the solver's build reads."""
    from hpcinv.cli import main

    for case, (text, key, phrases) in _file_cases(tmp_path).items():
        if key.startswith("solver."):
            continue
        assert main(["validate", str(_write(tmp_path, text))]) == 2, case
        error = capsys.readouterr().err
        assert key in error and all(phrase in error for phrase in phrases), (case, error)


def test_validate_on_a_garbage_job_exits_2_without_a_traceback(tmp_path):
    job = _write(tmp_path, GARBAGE)
    result = hpcinv(["validate", job], timeout=10)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "not a UTF-8 text file" in result.stderr
    assert str(job) in result.stderr


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
