"""Which PETSc options the Krylov kinds honour, on 1 and 2 ranks (issue 14): the ``ksp`` kind
keeps hpcinv's discrepancy test whatever the options say, takes only least-squares types,
lets ``ksp_max_it`` lower the iteration limit and names every stop reason; hpcinv's own
``lsqr`` and ``cgls`` print ``-ksp_monitor`` lines and refuse every other ``ksp_*`` option."""
import re

import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize

PETSc = initialize()
COMM = PETSc.COMM_WORLD

import hpcinv  # noqa: E402
from hpcinv.cli import main  # noqa: E402
from hpcinv.core.errors import EXIT_BAD_INPUT, InputError  # noqa: E402
from hpcinv.core.io.results import read_summary  # noqa: E402
from hpcinv.core.jobspec import PROBLEMS, parse_spec  # noqa: E402
from hpcinv.core.petsc_options import (KSP_TYPES, LEAST_SQUARES_KSP_TYPES,  # noqa: E402
                                     check_petsc_options)
from hpcinv.solvers import IterationControl  # noqa: E402
from hpcinv.solvers.framework.ksp_driver import drive_ksp, ksp_stop_reason  # noqa: E402
from hpcinv.solvers.krylov import KSPLeastSquares  # noqa: E402
from helpers import ROOT  # noqa: E402

MAX_ITERATIONS = 200
# jobs/deconvolution-ksp.toml: its discrepancy stop, the same on 1 and 2 ranks.
DISCREPANCY_ITERATION = 17
JOB = f"""
[problem]
kind = "deconvolution"
mesh = "{ROOT / 'meshes/deconvolution/line-256.toml'}"
sigma = 0.03
noise_level = 0.01
seed = 1

[solver]
kind = "{{kind}}"
tau = 1.02
max_iterations = {{max_iterations}}
{{solver}}

[output]
path = "{{path}}"

[petsc]
{{petsc}}
"""
NOT_LEAST_SQUARES = ("cg", "gmres", "bicg", "preonly", "cgne", "minres", "richardson")


def _job(directory, name, *, kind="ksp", solver="", petsc="", max_iterations=MAX_ITERATIONS):
    return JOB.format(kind=kind, solver=solver, petsc=petsc, max_iterations=max_iterations,
                      path=directory / f"{name}.h5")


def _run(directory, name, **job):
    """The run's outcome and its result file's summary."""
    outcome = hpcinv.run(_job(directory, name, **job), quiet=True)
    COMM.tompi4py().Barrier()
    return outcome, read_summary(outcome.result_path)


def _assert_discrepancy_stop(outcome, summary):
    residuals = summary["history"]["residual_norm"]
    assert outcome.stop_reason == summary["stop_reason"] == "discrepancy"
    assert outcome.iterations == summary["iterations"] == DISCREPANCY_ITERATION
    assert residuals[-1] <= summary["discrepancy_target"]
    assert summary["discrepancy_target"] == pytest.approx(1.02 * summary["noise_norm"])
    assert np.all(residuals[:-1] > summary["discrepancy_target"])


def _exit_status_and_message(job_text, directory, capfd, *argv):
    """``hpcinv run`` in this process: its exit status and rank 0's standard error."""
    job = directory / "job.toml"
    if COMM.rank == 0:
        job.write_text(job_text)
    COMM.tompi4py().Barrier()
    with pytest.raises(SystemExit) as ended:
        main(["run", str(job), "--quiet", *argv])
    return ended.value.code, capfd.readouterr().err


# -- the ksp kind ------------------------------------------------------------------------------
@pytest.mark.mpi
@pytest.mark.parametrize("source", ["solver", "petsc"])
@pytest.mark.parametrize("ksp_type", LEAST_SQUARES_KSP_TYPES)
def test_every_least_squares_type_stops_on_the_discrepancy(mpi_tmp_path, ksp_type, source):
    # From [petsc], the type changes in KSPSetFromOptions, which resets the convergence test:
    # it ran to max_it without hpcinv's test and crashed on the empty history.
    line = f'ksp_type = "{ksp_type}"'
    tables = {"solver": "", "petsc": "ksp_converged_reason = true\n"}
    tables[source] += line
    _assert_discrepancy_stop(*_run(mpi_tmp_path, f"{ksp_type}-{source}", **tables))


@pytest.mark.mpi
@pytest.mark.parametrize("petsc", ['ksp_rtol = 0.5\nksp_atol = 1e3\nksp_divtol = 1.5',
                                   'ksp_convergence_test = "skip"',
                                   'ksp_norm_type = "none"',
                                   'ksp_norm_type = "preconditioned"',
                                   'ksp_norm_type = "natural"',
                                   'ksp_type = "cgls"\nksp_norm_type = "none"',
                                   'ksp_pc_side = "right"',
                                   'ksp_type = "cgls"\nksp_pc_side = "symmetric"'])
def test_options_cannot_replace_the_discrepancy_test(mpi_tmp_path, petsc):
    _assert_discrepancy_stop(*_run(mpi_tmp_path, "options", petsc=petsc))


@pytest.mark.mpi
@pytest.mark.parametrize("ksp_type", NOT_LEAST_SQUARES)
def test_other_types_in_the_petsc_table_are_refused(mpi_tmp_path, capfd, ksp_type):
    status, message = _exit_status_and_message(
        _job(mpi_tmp_path, "refused", petsc=f'ksp_type = "{ksp_type}"'), mpi_tmp_path, capfd)
    assert status == EXIT_BAD_INPUT
    if COMM.rank == 0:
        assert f"petsc.ksp_type: '{ksp_type}' does not minimise ||A x - b||" in message
    assert not (mpi_tmp_path / "refused.h5").exists()


@pytest.mark.mpi
def test_other_types_as_the_solver_key_are_refused(mpi_tmp_path, capfd):
    status, message = _exit_status_and_message(
        _job(mpi_tmp_path, "refused", solver='ksp_type = "gmres"'), mpi_tmp_path, capfd)
    assert status == EXIT_BAD_INPUT
    if COMM.rank == 0:
        assert "solver.ksp_type" in message


@pytest.mark.mpi
@pytest.mark.parametrize("ksp_type", ["gmres", "cg"])
def test_other_types_from_outside_the_job_are_refused(mpi_tmp_path, capfd, ksp_type):
    # PETSC_OPTIONS and the command line reach the options database, not the [petsc] table.
    PETSc.Options().setValue("ksp_type", ksp_type)
    try:
        status, message = _exit_status_and_message(_job(mpi_tmp_path, "refused"),
                                                    mpi_tmp_path, capfd)
    finally:
        PETSc.Options().delValue("ksp_type")
    assert status == EXIT_BAD_INPUT
    if COMM.rank == 0:
        assert "petsc.ksp_type: -ksp_type from PETSc's options" in message
        assert f"'{ksp_type}' does not minimise" in message
    assert not (mpi_tmp_path / "refused.h5").exists()


@pytest.mark.mpi
@pytest.mark.parametrize("ksp_type", LEAST_SQUARES_KSP_TYPES)
def test_a_smaller_ksp_max_it_caps_the_iterations(mpi_tmp_path, ksp_type):
    outcome, summary = _run(mpi_tmp_path, "capped", solver=f'ksp_type = "{ksp_type}"',
                            petsc="ksp_max_it = 5")
    assert outcome.stop_reason == summary["stop_reason"] == "max_iterations"
    assert outcome.iterations == 5
    assert list(summary["history"]["iteration"]) == list(range(6))


@pytest.mark.mpi
def test_a_larger_ksp_max_it_leaves_max_iterations(mpi_tmp_path):
    outcome, summary = _run(mpi_tmp_path, "uncapped", petsc="ksp_max_it = 100",
                            max_iterations=8)
    assert outcome.stop_reason == "max_iterations"
    assert outcome.iterations == summary["history"]["iteration"][-1] == 8


@pytest.mark.parametrize("name, expected", [
    ("DIVERGED_MAX_IT", "max_iterations"), ("DIVERGED_BREAKDOWN", "breakdown"),
    ("DIVERGED_INDEFINITE_MAT", "indefinite_matrix"), ("DIVERGED_NANORINF", "non_finite"),
    ("DIVERGED_DTOL", "diverged_dtol"), ("CONVERGED_HAPPY_BREAKDOWN", "converged_happy_breakdown")])
def test_stop_reasons_of_the_ksp_are_named(name, expected):
    assert ksp_stop_reason(getattr(PETSc.KSP.ConvergedReason, name)) == expected


def test_every_converged_reason_has_a_readable_name():
    reasons = PETSc.KSP.ConvergedReason
    for code in {getattr(reasons, name) for name in vars(reasons) if name.isupper()}:
        assert re.fullmatch(r"[a-z_]+", ksp_stop_reason(code)), code


class _StopsOnItsOwn:
    """A KSP (type python) that takes two steps without calling its convergence test."""

    def solve(self, ksp, b, x):
        x.set(1.0)
        ksp.setIterationNumber(2)
        ksp.setResidualNorm(0.5)
        ksp.setConvergedReason(PETSc.KSP.ConvergedReason.DIVERGED_BREAKDOWN)


@pytest.mark.mpi
def test_an_iterate_the_test_never_saw_is_still_recorded():
    spec = parse_spec(_job(ROOT, "unused"))
    kind = PROBLEMS.get("deconvolution", "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), COMM)
    method = KSPLeastSquares(problem.operator, problem.data, noise_norm=problem.noise_norm)
    state = method.initial_state()
    control = IterationControl(COMM, max_iterations=method.max_iterations)
    ksp = PETSc.KSP().create(comm=COMM)
    ksp.setOperators(problem.operator.as_petsc_mat())
    ksp.setType(PETSc.KSP.Type.PYTHON)
    ksp.setPythonContext(_StopsOnItsOwn())
    ksp.getPC().setType(PETSc.PC.Type.NONE)
    x = state.vectors["x"]
    try:
        reason = drive_ksp(ksp, problem.data, x, state, control, method,
                           observe=lambda its, rnorm: (rnorm, x), nonzero_guess=False)
    finally:
        ksp.destroy()
    assert reason == "breakdown"
    assert state.iteration == 2
    history = state.history.arrays()
    assert list(history["iteration"]) == [2] and list(history["residual_norm"]) == [0.5]


# -- hpcinv's own lsqr and cgls ---------------------------------------------------------------
MONITOR_LINE = re.compile(r"^ {0,2}(\d+) KSP Residual norm (\d\.\d{12}e[+-]\d\d) $")


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["lsqr", "cgls"])
def test_own_methods_print_ksp_monitor_lines_on_rank_0(mpi_tmp_path, capfd, kind):
    outcome, summary = _run(mpi_tmp_path, f"{kind}-monitor", kind=kind,
                            petsc="ksp_monitor = true")
    lines = [line for line in capfd.readouterr().out.splitlines() if "KSP" in line]
    _assert_discrepancy_stop(outcome, summary)
    if COMM.rank > 0:
        assert lines == []
        return
    matches = [MONITOR_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [int(match[1]) for match in matches] == list(summary["history"]["iteration"])
    np.testing.assert_allclose([float(match[2]) for match in matches],
                               summary["history"]["residual_norm"], rtol=1e-11)


@pytest.mark.mpi
def test_own_methods_print_no_monitor_lines_without_the_option(mpi_tmp_path, capfd):
    _run(mpi_tmp_path, "quiet", kind="lsqr")
    assert "KSP Residual norm" not in capfd.readouterr().out


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["lsqr", "cgls"])
@pytest.mark.parametrize("option", ["ksp_rtol = 1e-3", 'ksp_type = "lsqr"', "KSP_MAX_IT = 5",
                                    'ksp_monitor = "ascii"', "ksp_converged_reason = true"])
def test_own_methods_refuse_other_ksp_options(mpi_tmp_path, capfd, kind, option):
    status, message = _exit_status_and_message(
        _job(mpi_tmp_path, "refused", kind=kind, petsc=option), mpi_tmp_path, capfd)
    assert status == EXIT_BAD_INPUT
    if COMM.rank == 0:
        key = option.split(" =")[0]
        assert f"petsc.{key}: hpcinv's own lsqr and cgls are not PETSc KSPs" in message
        assert 'use solver.kind = "ksp" for PETSc\'s KSP' in message
    assert not (mpi_tmp_path / "refused.h5").exists()


def test_own_methods_take_other_petsc_options():
    spec = parse_spec(_job(ROOT, "unused", kind="lsqr",
                           petsc='ksp_monitor = true\nlog_view = true\ntikhonov_ksp_rtol = 1e-3'))
    assert spec.petsc["ksp_monitor"] is True


def test_the_ksp_kind_refuses_no_ksp_option_at_validation():
    parse_spec(_job(ROOT, "unused", petsc='ksp_rtol = 1e-3\nksp_norm_type = "none"\n'
                                          'ksp_type = "cgls"\nksp_max_it = 5'))
    with pytest.raises(InputError) as refused:
        parse_spec(_job(ROOT, "unused", petsc='ksp_type = "cg"'))
    assert [key for key, _ in refused.value.problems] == ["petsc.ksp_type"]


@pytest.mark.parametrize("ksp_type", sorted(set(KSP_TYPES) - set(LEAST_SQUARES_KSP_TYPES)))
def test_every_other_petsc_ksp_type_is_refused_at_validation(ksp_type):
    """All of PETSc 3.18's KSP types: the two least-squares ones run (tests above), every
    other one is bad input before anything runs."""
    problems = check_petsc_options({"ksp_type": ksp_type}, sandbox=False)
    assert [key for key, _ in problems] == ["petsc.ksp_type"]
