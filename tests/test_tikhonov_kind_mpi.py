"""The ``tikhonov`` solver kind on 1 and 2 ranks: every method lands on the lambda of the
exact functional and on the dense Tikhonov solution of its lambda, in standard and general
form; bad combinations are refused before any work."""
import functools

import numpy as np
import pytest

from hpcinv.core.jobspec import PROBLEMS, SOLVERS, parse_spec
from hpcinv.apps.classic.gravity import gravity_rows, gravity_truth
from hpcinv.core.errors import InputError
from hpcinv.core.petsc_env import initialize
from hpcinv.solvers import IterationControl
from hpcinv.solvers.tikhonov.paramchoice import SpectralModel, choose_lambda
from hpcinv.solvers.tikhonov.paramchoice.lcurve import lcurve_corner
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
    solver = SOLVERS.get("tikhonov", "solver.kind").build(problem, spec.solver)
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


def _dense_gcv_lambda(matrix, data, L):
    """argmin of the general-form GCV function, from the influence matrix densely."""
    from scipy.optimize import minimize_scalar

    def gcv(log_lam):
        lam = np.exp(log_lam)
        influence = matrix @ np.linalg.solve(matrix.T @ matrix + lam * L.T @ L, matrix.T)
        residual = data - influence @ data
        return residual @ residual / np.trace(np.eye(len(data)) - influence) ** 2

    grid = np.linspace(np.log(1e-12), np.log(1e6), 80)
    best = grid[int(np.argmin([gcv(t) for t in grid]))]
    return np.exp(minimize_scalar(gcv, bounds=(best - 0.5, best + 0.5), method="bounded",
                                  options={"xatol": 1e-8}).x)


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["svd", "rsvd", "gsvd"])
def test_lcurve_corner_from_each_spectral_model(method):
    problem, solver, state, reason = _solve(f'method = "{method}"\nrule = "lcurve"\n'
                                            f'epsilon = 1e-6')
    matrix, data = _dense(problem)
    left, s, _ = np.linalg.svd(matrix)
    exact = lcurve_corner(SpectralModel(s, left.T @ data, data @ data, N))
    assert reason == "lcurve" and solver.chosen["lambda"] == pytest.approx(exact, rel=1e-3)


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["lanczos", "rsvd", "gsvd"])
def test_general_form_with_a_null_space_matches_the_dense_gcv(method):
    """L = second difference (null space: constants and lines): lanczos and rsvd work on the
    standard form A L_A^+ and map back; gsvd uses the pair (A, L).  GCV's trace must count
    the two directions of N(L), fitted exactly for every lambda: leaving them out moves
    this lambda by 8%."""
    problem, solver, state, reason = _solve(f'method = "{method}"\nrule = "gcv"\n'
                                            f'epsilon = 1e-8', regularization="laplacian")
    matrix, data = _dense(problem)
    L = np.diff(np.eye(N), n=2, axis=0)
    lam = solver.chosen["lambda"]
    assert lam == pytest.approx(_dense_gcv_lambda(matrix, data, L), rel=1e-3)
    x = gather(state.vectors["x"])
    reference = _normal_equations(matrix, data, lam, L)
    assert np.linalg.norm(x - reference) <= 1e-4 * np.linalg.norm(reference)


def test_the_gcv_trace_counts_the_unfiltered_directions():
    rng = np.random.default_rng(0)
    s, beta = np.logspace(0, -3, 6), rng.standard_normal(6)
    plain = SpectralModel(s, beta, 50.0, 20)
    general = SpectralModel(s, beta, 50.0, 20, unfiltered=2, unfiltered_norm2=3.0)
    assert general.residual_trace(1e-2) == pytest.approx(plain.residual_trace(1e-2) - 2)
    assert general.residual_norm2(1e-2) == pytest.approx(plain.residual_norm2(1e-2) - 3.0)


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
    ('method = "lanczos"\nepsilon = 1.5', "solver.epsilon"),
    ('method = "lanczos"\nrule = "lcurve"', "solver.rule"),
])
def test_inconsistent_settings_are_refused_when_the_spec_is_read(solver, key):
    with pytest.raises(InputError) as error:
        parse_spec(JOB.format(n=N, regularization="identity", solver=solver))
    assert key in str(error.value)


def test_svd_method_refuses_a_general_regularization_before_solving():
    with pytest.raises(InputError, match="solver.method"):
        _solve('method = "svd"', regularization="derivative")


def test_discrepancy_principle_without_noise_is_refused_before_solving():
    spec = parse_spec(JOB.format(n=N, regularization="identity", solver='method = "svd"\n'
                                 'rule = "dp"').replace("noise_level = 0.01", "noise_level = 0"))
    kind = PROBLEMS.get("gravity", "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), COMM)
    with pytest.raises(InputError, match="solver.rule"):
        SOLVERS.get("tikhonov", "solver.kind").build(problem, spec.solver)


def test_dense_methods_refuse_large_problems_before_solving():
    spec = parse_spec('[problem]\nkind = "deconvolution"\n'
                      'mesh = "meshes/deconvolution/square-64.toml"\n'
                      '[solver]\nkind = "tikhonov"\nmethod = "gsvd"\n')
    kind = PROBLEMS.get("deconvolution", "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), COMM)
    with pytest.raises(InputError, match="4096 unknowns exceed its limit of 2000"):
        SOLVERS.get("tikhonov", "solver.kind").build(problem, spec.solver)


@pytest.mark.mpi
def test_rsvd_block_sets_the_range_finders_step():
    """rsvd_block = 1 is Halko's one-vector range finder; the default block's rank is the
    first multiple of it at or past that one, and both meet the tolerance's lambda."""
    ranks, lambdas = {}, {}
    for block in (1, 16):
        _, solver, _, _ = _solve(f'method = "rsvd"\nrule = "gcv"\nepsilon = 1e-6\n'
                                 f'rsvd_block = {block}')
        ranks[block], lambdas[block] = solver.chosen["rank"], solver.chosen["lambda"]
    assert ranks[16] % 16 == 0 and ranks[1] <= ranks[16] < ranks[1] + 16
    assert lambdas[16] == pytest.approx(lambdas[1], rel=1e-3)


@functools.lru_cache(maxsize=1)
def _dense_qo_lambdas_of_derivative_problem():
    problem, *_ = _solve('method = "gsvd"\nrule = "qo"', regularization="derivative")
    return _dense_qo_lambdas(*_dense(problem), _difference(N))


def _dense_qo_lambdas(matrix, data, L):
    """{"Lx": argmin ||lam L dx/dlam||^2, "x": argmin ||lam dx/dlam||^2} with dx/dlam =
    -(A^T A + lam L^T L)^-1 L^T L x_lam, densely, on a log grid refined by Brent."""
    from scipy.linalg import cho_factor, cho_solve
    from scipy.optimize import minimize_scalar

    normal, gram = matrix.T @ matrix, L.T @ L

    def qo(log_lam, measure):
        lam = np.exp(log_lam)
        factor = cho_factor(normal + lam * gram)
        change = lam * cho_solve(factor, gram @ cho_solve(factor, matrix.T @ data))
        change = L @ change if measure == "Lx" else change
        return change @ change

    grid = np.linspace(np.log(1e-10), np.log(1e2), 49)
    lambdas = {}
    for measure in ("Lx", "x"):
        values = [qo(t, measure) for t in grid]
        best = grid[int(np.argmin(values[1:-1])) + 1]
        lambdas[measure] = np.exp(minimize_scalar(
            qo, args=(measure,), bounds=(best - 0.5, best + 0.5), method="bounded",
            options={"xatol": 1e-9}).x)
    return lambdas


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["rsvd", "gsvd"])
@pytest.mark.parametrize("measure", ["Lx", "x"])
def test_general_form_quasi_optimality_measures_lx_or_x(method, measure):
    """L = first difference: qo_norm "Lx" minimises ||lam L dx/dlam||, "x" ||lam dx/dlam||
    (the dense references differ); both spectral routes land on the dense lambda."""
    _, solver, _, _ = _solve(f'method = "{method}"\nrule = "qo"\nqo_norm = "{measure}"'
                             f'\nepsilon = 1e-10', regularization="derivative")
    references = _dense_qo_lambdas_of_derivative_problem()
    assert abs(np.log(references["x"] / references["Lx"])) > 0.1
    assert solver.chosen["lambda"] == pytest.approx(references[measure], rel=1e-3)


def test_quasi_optimality_of_x_is_refused_with_lanczos():
    with pytest.raises(InputError, match="qo_norm"):
        _solve('method = "lanczos"\nrule = "qo"\nqo_norm = "x"', regularization="derivative")
