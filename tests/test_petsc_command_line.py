"""PETSc options on hpcinv's command line, -help, -options_left and hpcinv's log stages."""
import re

import pytest

import subprocess

from helpers import ROOT, clean_env, command, deconvolution_job, hpcinv, write_job
from hpcinv.core.errors import InputError
from hpcinv.core.petsc_command_line import check, split

STAGES = ("hpcinv: setup", "hpcinv: problem build", "hpcinv: solve", "hpcinv: result write")

JOB_OUTPUT = """
[output]
path = "{path}"
[petsc]
{petsc}
"""


def _job_text(path, petsc: str = "", **solver) -> str:
    return deconvolution_job(**solver) + JOB_OUTPUT.format(path=path, petsc=petsc)


@pytest.mark.parametrize("argv, ours, options", [
    (["run", "job.toml", "-log_view", "-ksp_max_it", "5", "--quiet"],
     ["run", "job.toml", "--quiet"], {"log_view": True, "ksp_max_it": "5"}),
    # A value may look like a negative number; hpcinv's own options may follow PETSc's.
    (["run", "--output", "o.h5", "job.toml", "-ksp_rtol", "-1e-3", "-options_left",
      "--resume"], ["run", "--output", "o.h5", "job.toml", "--resume"],
     {"ksp_rtol": "-1e-3", "options_left": True}),
    (["--sandbox", "/srv", "run", "job.toml", "-log_view"],
     ["--sandbox", "/srv", "run", "job.toml"], {"log_view": True}),
    (["run", "job.toml", "-h"], ["run", "job.toml", "-h"], {}),
    (["run", "-help"], ["run"], {"help": True}),
    (["info", "-log_view"], ["info"], {"log_view": True}),
    (["inspect", "r.h5", "--json"], ["inspect", "r.h5", "--json"], {}),
    (["-help"], ["--help"], {}),
])
def test_split_separates_petsc_options_from_hpcinv_arguments(argv, ours, options):
    assert split(argv) == (ours, options)


def test_command_line_options_are_checked_like_the_petsc_table():
    with pytest.raises(InputError, match="command line -ksp_max_it: expected an integer"):
        check({"ksp_max_it": "five"}, sandbox=False)
    check({"ksp_max_it": "5", "log_view": True}, sandbox=False)
    with pytest.raises(InputError, match="command line -ksp_view_mat: refused in service"):
        check({"ksp_view_mat": "binary:/etc/passwd"}, sandbox=True)


@pytest.mark.parametrize("ranks", [1, 2])
def test_options_reach_petsc_and_log_view_shows_hpcinv_stages(tmp_path, ranks):
    job = write_job(tmp_path, "job.toml", _job_text(tmp_path / "out.h5",
                                                    petsc="ksp_monitr = true"))
    done = hpcinv(["run", job, "--quiet", "-ksp_max_it", "3", "-log_view", "-options_left"],
                  ranks=ranks)
    assert done.returncode == 0, done.stderr
    # The command line's -ksp_max_it capped the KSP, whatever the job's max_iterations.
    assert "(3 iterations" in done.stdout
    summary = done.stdout[done.stdout.index("Summary of Stages"):]
    for name in STAGES:
        assert re.search(rf"\d+:\s+{name}:", summary), name
    # The job's [petsc] options stay until PETSc finalizes: the misspelt one is reported.
    assert "Option left: name:-ksp_monitr" in done.stdout
    assert "name:-ksp_max_it" not in done.stdout


def test_a_bad_command_line_option_is_bad_input(tmp_path):
    job = write_job(tmp_path, "job.toml", _job_text(tmp_path / "out.h5"))
    done = hpcinv(["run", job, "-ksp_max_it", "many"])
    assert done.returncode == 2
    assert "command line -ksp_max_it: expected an integer, got 'many'" in done.stderr
    assert not (tmp_path / "out.h5").exists()


def test_own_lsqr_refuses_ksp_options_from_the_command_line(tmp_path):
    job = write_job(tmp_path, "job.toml", _job_text(tmp_path / "out.h5", solver="lsqr"))
    done = hpcinv(["run", job, "-ksp_rtol", "0.5"])
    assert done.returncode == 2
    assert "command line -ksp_rtol" in done.stderr and 'solver.kind = "ksp"' in done.stderr


def test_service_mode_holds_with_help(tmp_path):
    """-help starts PETSc before the arguments are parsed: the sandbox and the option checks
    come first all the same."""
    box = tmp_path / "box"
    box.mkdir()
    job = write_job(box, "job.toml", _job_text(box / "out.h5"))
    outside = tmp_path / "escaped.txt"
    done = hpcinv(["--sandbox", box, "run", job, "-help", "-log_view", f":{outside}"])
    assert done.returncode == 2 and "refused in service mode" in done.stderr
    assert not outside.exists()


@pytest.mark.parametrize("kind", ["ksp", "lsqr"])
def test_a_closed_pipe_does_not_stop_the_run(tmp_path, kind):
    """``hpcinv run job.toml -ksp_monitor | head -1``: PETSc's and hpcinv's monitor lines
    meet a closed pipe; the run finishes and writes its result."""
    # Noise-free data and 3000 iterations: more monitor lines than a pipe buffers.
    job = write_job(tmp_path, "job.toml", _job_text(tmp_path / "out.h5", solver=kind,
                                                    noise_level=0.0, max_iterations=3000))
    process = subprocess.Popen(command(["run", job, "--quiet", "-ksp_monitor"]), cwd=ROOT,
                               env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert b"KSP Residual norm" in process.stdout.readline()
    process.stdout.close()
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors.decode()
    assert (tmp_path / "out.h5").exists()


def test_help_prints_petsc_and_hpcinv_options():
    done = hpcinv(["run", "-help"])
    assert done.returncode == 0, done.stderr
    assert "Options for all PETSc programs" in done.stdout
    assert "usage: hpcinv run" in done.stdout and "--resume" in done.stdout


@pytest.mark.mpi
def test_stages_and_operator_events_are_logged_in_process(mpi_tmp_path):
    """The stages and an operator class's product events, read back from PETSc's log."""
    from mpi4py import MPI

    import hpcinv
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    PETSc.Log.begin()
    path = mpi_tmp_path / "blur.h5"
    hpcinv.run(f"""
[problem]
kind = "gaussian-blur"
n = 16
sigma = 2.0
noise_level = 0.01
[solver]
kind = "cgls"
max_iterations = 3
[output]
path = "{path}"
checkpoint_every = 1
""", quiet=True)
    log = mpi_tmp_path / "log.txt"
    viewer = PETSc.Viewer().createASCII(str(log), comm=PETSc.COMM_WORLD)
    PETSc.Log.view(viewer)
    viewer.destroy()
    MPI.COMM_WORLD.Barrier()
    text = log.read_text()
    for name in (*STAGES, "hpcinv: checkpoint"):
        assert re.search(rf"Event Stage \d+: {name}\n", text), name
    assert re.search(r"^\S+ mult\s+\d+", text, re.MULTILINE)
    assert re.search(r"^\S+ multT\s+\d+", text, re.MULTILINE)
