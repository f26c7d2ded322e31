"""[petsc] options: typed values of the options hpcinv knows, service-mode refusals of options
that name files or start programs, and PETSc's own option errors as bad input (exit 2, the
key named, no traceback) on 1 and 2 ranks."""
import pytest

from helpers import deconvolution_job, hpcinv, write_job
from hpcinv.core.petsc_options import check_petsc_options

# jobs/deconvolution-ksp.toml without its [output] path, and an empty [petsc] table.
JOB = deconvolution_job() + "\n[petsc]\n"


def _job(directory, options: str):
    return write_job(directory, "job.toml", JOB + options + "\n")


def _assert_bad_input(result, key):
    assert result.returncode == 2, result.stdout + result.stderr
    assert key in result.stderr, result.stderr
    assert result.stderr.count("invalid input") == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


# -- typed values --------------------------------------------------------------------------
BAD_VALUES = {"ksp_max_it": ('ksp_max_it = "abc"', "expected an integer, got 'abc'"),
              "ksp_rtol": ('ksp_rtol = "x"', "expected a real number, got 'x'")}


@pytest.mark.parametrize("option", sorted(BAD_VALUES))
def test_validate_refuses_a_mistyped_option(tmp_path, option):
    line, message = BAD_VALUES[option]
    result = hpcinv(["validate", _job(tmp_path, line)], timeout=30)
    _assert_bad_input(result, f"petsc.{option}: {message}")


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("option", sorted(BAD_VALUES))
def test_run_refuses_a_mistyped_option(tmp_path, option, ranks):
    line, message = BAD_VALUES[option]
    out = tmp_path / "out.h5"
    result = hpcinv(["run", _job(tmp_path, line), "--output", out], ranks=ranks, timeout=60)
    _assert_bad_input(result, f"petsc.{option}: {message}")
    assert not out.exists()


@pytest.mark.parametrize("ranks", [1, 2])
def test_good_options_run(tmp_path, ranks):
    options = ('ksp_max_it = 50\nksp_rtol = "1e-8"\nksp_atol = 0\nksp_monitor = true\n'
               'ksp_converged_reason = "ascii::ascii_info"\nKSP_TYPE = "lsqr"\n'
               'pc_type = "none"\ntikhonov_ksp_max_it = "100"\nksp_initial_guess_nonzero = "no"')
    out = tmp_path / "out.h5"
    result = hpcinv(["run", _job(tmp_path, options), "--output", out, "--quiet"], ranks=ranks,
                    timeout=60)
    assert result.returncode == 0, result.stderr
    assert "KSP Residual norm" in result.stdout
    assert out.exists()


@pytest.mark.parametrize("ranks", [1, 2])
def test_petsc_error_at_set_from_options_is_bad_input(tmp_path, ranks):
    """An option hpcinv does not type-check but PETSc refuses in KSPSetFromOptions."""
    out = tmp_path / "out.h5"
    result = hpcinv(["run", _job(tmp_path, 'ksp_guess_type = "bogus"'), "--output", out],
                    ranks=ranks, timeout=60)
    _assert_bad_input(result, "petsc: PETSc refused the options:")
    assert "bogus" in result.stderr
    assert "PETSC ERROR" not in result.stderr


# -- options_file outside service mode --------------------------------------------------------
def test_missing_options_file(tmp_path):
    missing = tmp_path / "etc" / "shadow-like-nonexistent"
    for command in (["validate"], ["run", "--output", tmp_path / "out.h5"]):
        job = _job(tmp_path, f'options_file = "{missing}"')
        result = hpcinv([command[0], job, *command[1:]], timeout=60)
        _assert_bad_input(result, "petsc.options_file: no such file")
    assert not (tmp_path / "out.h5").exists()


def test_options_file_content_never_shown(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-TOKEN:0:0\n-ksp_max_it 5\n")
    for ranks in (1, 2):
        result = hpcinv(["run", _job(tmp_path, f'options_file = "{secret}"'), "--output",
                         tmp_path / "out.h5"], ranks=ranks, timeout=60)
        _assert_bad_input(result, "petsc.options_file: line 1")
        assert "SECRET" not in result.stdout + result.stderr
    assert not (tmp_path / "out.h5").exists()


def test_options_file_values_are_typed(tmp_path):
    options = tmp_path / "solver.opts"
    options.write_text("# a comment\n-ksp_monitor\n-ksp_max_it lots\n")
    result = hpcinv(["validate", _job(tmp_path, f'options_file = "{options}"')], timeout=30)
    _assert_bad_input(result, "petsc.options_file: line 3: the value of -ksp_max_it is not an "
                      "integer")
    assert "lots" not in result.stderr


def test_good_options_file_runs(tmp_path):
    options = tmp_path / "solver.opts"
    options.write_text("-ksp_monitor   # residuals\n-ksp_max_it 40\n")
    out = tmp_path / "out.h5"
    result = hpcinv(["run", _job(tmp_path, f'options_file = "{options}"'), "--output", out,
                     "--quiet"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert "KSP Residual norm" in result.stdout
    assert out.exists()


# -- service mode ------------------------------------------------------------------------------
def _refused_cases(tmp_path):
    targets = {name: tmp_path / name for name in ("opts", "x", "y", "h")}
    targets["opts"].write_text("-ksp_monitor\n")
    return targets, {
        "options_file": (f'options_file = "{targets["opts"]}"', []),
        "log_view": (f'log_view = ":{targets["x"]}"', [targets["x"]]),
        "ksp_view": (f'ksp_view = "ascii:{targets["y"]}"', [targets["y"]]),
        "history": (f'history = "{targets["h"]}"', [targets["h"]]),
    }


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("option", ["options_file", "log_view", "ksp_view", "history"])
def test_service_mode_refuses_options_naming_files(tmp_path, option, ranks):
    box = tmp_path / "box"
    box.mkdir()
    _, cases = _refused_cases(tmp_path)
    line, written = cases[option]
    job = _job(box, line)
    if ranks == 1:
        result = hpcinv(["validate", job], timeout=30, cwd=box, HPCINV_SANDBOX=str(box))
        _assert_bad_input(result, f"petsc.{option}: refused in service mode")
    out = box / "out.h5"
    result = hpcinv(["run", job, "--output", out], ranks=ranks, timeout=60,
                    HPCINV_SANDBOX=str(box))
    _assert_bad_input(result, f"petsc.{option}: refused in service mode")
    assert not out.exists()
    for path in written:
        assert not path.exists()


@pytest.mark.parametrize("ranks", [1, 2])
def test_service_mode_allows_flags(tmp_path, ranks):
    box = tmp_path / "box"
    box.mkdir()
    job = _job(box, "ksp_monitor = true\nlog_view = true\nksp_max_it = 30")
    if ranks == 1:
        result = hpcinv(["validate", job], timeout=30, cwd=box, HPCINV_SANDBOX=str(box))
        assert result.returncode == 0, result.stderr
    out = box / "out.h5"
    result = hpcinv(["run", job, "--output", out, "--quiet"], ranks=ranks, timeout=60,
                    HPCINV_SANDBOX=str(box))
    assert result.returncode == 0, result.stderr
    assert "KSP Residual norm" in result.stdout
    assert "Performance Summary" in result.stdout   # log_view's table, on standard output
    assert out.exists()


# -- the checks themselves (no processes) --------------------------------------------------------
def test_known_options_behind_a_prefix_and_in_any_case():
    problems = dict(check_petsc_options({"tikhonov_ksp_max_it": 2.5, "SUB_PC_TYPE": "nope",
                                         "-ksp_rtol": -1, "gsvd_svd_nsv": "DEFAULT",
                                         "ksp_initial_guess_nonzero": "yes",
                                         "ksp_norm_type": "NATURAL",
                                         "some_unknown_option": "anything"}, sandbox=False))
    assert set(problems) == {"petsc.tikhonov_ksp_max_it", "petsc.SUB_PC_TYPE", "petsc.-ksp_rtol"}
    assert problems["petsc.-ksp_rtol"] == "expected a real number >= 0, got -1"


def test_viewer_values():
    ok = {"ksp_monitor": True, "ksp_view": "ascii::ascii_info_detail", "log_view": "",
          "eps_view": "binary:out.dat"}
    assert check_petsc_options(ok, sandbox=False) == []
    problems = dict(check_petsc_options({"ksp_monitor": False, "ksp_view": "foo"},
                                        sandbox=False))
    assert "leave the option out" in problems["petsc.ksp_monitor"]
    assert "unknown viewer type 'foo'" in problems["petsc.ksp_view"]


@pytest.mark.parametrize("options", [
    {"OPTIONS_FILE": "x"}, {"options_file_yaml": "x.yaml"}, {"options_string_yaml": "a: 1"},
    {"prefix_push": "log_"}, {"log_trace": True}, {"start_in_debugger": True},
    {"on_error_attach_debugger": "gdb"}, {"debugger_ranks": "0"}, {"stop_for_debugger": True},
    {"ksp_python_type": "mod.Class"}, {"pc_type": "python"}, {"dll_append": "libx.so"},
    {"draw_save": "x.png"}, {"viewer_binary_filename": "x"}, {"dm_plex_filename": "mesh"},
    {"x_virtual": True}, {"malloc_dump": "leaks.txt"}, {"info": "info.log"},
    {"tikhonov_ksp_view": "binary"}, {"ksp_monitor": "ascii:out.txt"},
    {"unknown_monitor": "hdf5"}, {"some_option": "../escape"}, {"log_view": "::ascii_info:w"},
])
def test_service_mode_refusals(options):
    problems = check_petsc_options(options, sandbox=True)
    assert len(problems) == 1 and "refused in service mode" in problems[0][1], problems
    assert problems[0][0] == f"petsc.{next(iter(options))}"


def test_service_mode_allows_standard_output_viewers():
    options = {"ksp_monitor": True, "log_view": True, "ksp_view": "ascii::ascii_info",
               "ksp_converged_reason": "ascii", "malloc_dump": True, "ksp_max_it": 10,
               "options_left": False}
    assert check_petsc_options(options, sandbox=True) == []
