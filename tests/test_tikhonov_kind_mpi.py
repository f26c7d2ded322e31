"""The ``tikhonov`` solver kind on 1 and 2 ranks: every method lands on the lambda of the
exact functional and on the dense Tikhonov solution of its lambda, in standard and general
form; bad combinations are refused before any work."""
import numpy as np
import pytest

from hpcinv.jobspec import PROBLEMS, SOLVERS, parse_spec
from hpcinv.problems.classic.gravity import gravity_rows, gravity_truth
from hpcinv.runtime.errors import InputError
from hpcinv.runtime.petsc_env import initialize
from hpcinv.solvers import IterationControl
from hpcinv.solvers.paramchoice import SpectralModel, choose_lambda
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD
N = 120

JOB = """
[problem]
kind = "gravity"
n = {n}
noise_level = 0.01
seed = 4
regularization = "{regularization}"
[solver]
kind = "tikhonov"
{solver}
"""


def _solve(solver_text, regularization="identity"):
    spec = parse_spec(JOB.format(n=N, regularization=regularization, solver=solver_text))
    kind = PROBLEMS.get("gravity", "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), COMM)
    solver = SOLVERS.get("tikhonov", "solver.kind")(problem, spec.solver)
    state = solver.initial_state()
    control = IterationControl(COMM, truth=problem.truth, data_norm=problem.data.norm(),
                               target=solver.target, max_iterations=solver.max_iterations)
    reason = solver.solve(state, control)
    return problem, solver, state, reason


def _dense(problem):
    matrix = gravity_rows(N, 0.25, 0, N)
    return matrix, gather(problem.data)


def _difference(n):
    return np.diff(np.eye(n), axis=0)


def _normal_equations(matrix, data, lam, L):
    return np.linalg.solve(matrix.T @ matrix + lam * L.T @ L, matrix.T @ data)


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["svd", "rsvd", "lanczos", "gsvd"])
@pytest.mark.parametrize("rule", ["gcv", "dp", "reginska"])
def test_standard_form_lambda_and_solution_match_the_dense_reference(method, rule):
    problem, solver, state, reason = _solve(f'method = "{method}"\nrule = "{rule}"\n'
                                            f'epsilon = 1e-6')
    matrix, data = _dense(problem)
    left, s, _ = np.linalg.svd(matrix)
    exact = choose_lambda(SpectralModel(s, left.T @ data, data @ data, N), rule,
                          noise_norm=problem.noise_norm)
    lam = solver.chosen["lambda"]
    assert reason == rule
    assert lam == pytest.approx(exact, rel=1e-3)
    x = gather(state.vectors["x"])
    reference = _normal_equations(matrix, data, lam, np.eye(N))
    assert np.linalg.norm(x - reference) <= 1e-4 * np.linalg.norm(reference)
    history = state.history.columns
    assert history["lambda"][-1] == pytest.approx(lam)
    assert history["residual_norm"][-1] == pytest.approx(np.linalg.norm(matrix @ x - data),
                                                         rel=1e-6)


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["lanczos", "rsvd", "gsvd"])
def test_general_form_with_a_null_space_matches_the_normal_equations(method):
    """L = first difference (null space: constants): lanczos and rsvd work on the standard
    form A L_A^+ and map back; gsvd uses the pair (A, L); GCV's trace counts N(L)."""
    problem, solver, state, reason = _solve(f'method = "{method}"\nrule = "gcv"\n'
                                            f'epsilon = 1e-7', regularization="derivative")
    matrix, data = _dense(problem)
    L = _difference(N)
    lam = solver.chosen["lambda"]
    x = gather(state.vectors["x"])
    reference = _normal_equations(matrix, data, lam, L)
    assert np.linalg.norm(x - reference) <= 1e-4 * np.linalg.norm(reference)
    # GCV of the general-form problem, evaluated densely from the influence matrix.
    def gcv(value):
        influence = matrix @ np.linalg.solve(matrix.T @ matrix + value * L.T @ L, matrix.T)
        residual = data - influence @ data
        return residual @ residual / np.trace(np.eye(N) - influence) ** 2
    assert gcv(lam) <= min(gcv(lam * 0.97), gcv(lam * 1.03))


@pytest.mark.mpi
def test_fixed_lambda_by_lsqr_equals_the_normal_equations():
    problem, solver, state, reason = _solve('method = "lsqr"\nrule = "fixed"\nlambda = 1e-3\n'
                                            'rtol = 1e-12', regularization="derivative")
    matrix, data = _dense(problem)
    reference = _normal_equations(matrix, data, 1e-3, _difference(N))
    x = gather(state.vectors["x"])
    assert reason == "fixed" and solver.chosen["lsqr_iterations"] == state.iteration > 0
    assert np.linalg.norm(x - reference) <= 1e-6 * np.linalg.norm(reference)


@pytest.mark.mpi
def test_lanczos_history_has_one_row_per_step_and_tracks_the_truth():
    problem, solver, state, _ = _solve('method = "lanczos"\nrule = "gcv"\nepsilon = 1e-3')
    history = state.history.columns
    assert history["iteration"] == list(range(1, solver.chosen["steps"] + 1))
    assert solver.chosen["matvecs"] == 2 * solver.chosen["steps"] and solver.chosen["converged"]
    truth = gravity_truth((np.arange(N) + 0.5) / N)
    x = gather(state.vectors["x"])
    assert history["relative_error"][-1] == pytest.approx(
        np.linalg.norm(x - truth) / np.linalg.norm(truth), rel=1e-8)


@pytest.mark.parametrize("solver,key", [
    ('method = "lanczos"\nrule = "fixed"\nlambda = 1.0', "solver.rule"),
    ('method = "lsqr"\nrule = "gcv"', "solver.rule"),
    ('method = "lsqr"\nrule = "fixed"', "solver.lambda"),
])
def test_inconsistent_settings_are_refused_when_the_spec_is_read(solver, key):
    with pytest.raises(InputError) as error:
        parse_spec(JOB.format(n=N, regularization="identity", solver=solver))
    assert key in str(error.value)


def test_svd_method_refuses_a_general_regularization_before_solving():
    with pytest.raises(InputError, match="solver.method"):
        _solve('method = "svd"', regularization="derivative")
