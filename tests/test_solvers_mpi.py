"""Solvers on 1 and 2 ranks: CGLS and KSP-LSQR agree, the discrepancy principle stops at the
first iterate satisfying it, the recorded residual is the true one."""
import numpy as np
import pytest

from hpcinv.core.jobspec import PROBLEMS, SOLVERS, parse_spec
from hpcinv.core.petsc_env import initialize
from hpcinv.solvers import IterationControl

PETSc = initialize()
COMM = PETSc.COMM_WORLD

JOB = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
sigma = 0.03
noise_level = {noise}
[solver]
kind = "{solver}"
max_iterations = {iterations}
{extra}
"""

KINDS = {"cgls": "cgls", "lsqr": "lsqr", "ksp-lsqr": "ksp", "ksp-cgls": "ksp"}


def _solve(name, noise=0.01, iterations=200):
    extra = f'ksp_type = "{name[4:]}"' if name.startswith("ksp-") else ""
    spec = parse_spec(JOB.format(solver=KINDS[name], noise=noise, iterations=iterations,
                                 extra=extra))
    kind = PROBLEMS.get("deconvolution", "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), COMM)
    solver = SOLVERS.get(spec.solver["kind"], "solver.kind").build(problem, spec.solver)
    state = solver.initial_state()
    control = IterationControl(COMM, truth=problem.truth, data_norm=problem.data.norm(),
                               target=solver.target, max_iterations=solver.max_iterations)
    reason = solver.solve(state, control)
    return problem, solver, state, reason


def _true_residual(problem, x) -> float:
    _, r = problem.operator.create_vecs()
    problem.operator.mult(x, r)
    r.aypx(-1.0, problem.data)
    return r.norm()


@pytest.mark.mpi
@pytest.mark.parametrize("kind", list(KINDS))
def test_discrepancy_stops_at_first_iterate_satisfying_it(kind):
    problem, solver, state, reason = _solve(kind)
    residuals = np.array(state.history.columns["residual_norm"])
    assert reason == "discrepancy"
    assert residuals[-1] <= solver.target
    assert np.all(residuals[:-1] > solver.target)
    assert len(residuals) == state.iteration + 1
    true = _true_residual(problem, solver.solution(state))
    assert abs(true - residuals[-1]) <= 1e-8 * true


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["lsqr", "ksp-lsqr", "ksp-cgls"])
def test_krylov_iterates_agree_with_cgls(kind):
    # All four minimise ||A x - b|| over the same Krylov space K_k(A^T A, A^T b).
    _, reference_solver, reference_state, _ = _solve("cgls", noise=0.0, iterations=8)
    _, solver, state, _ = _solve(kind, noise=0.0, iterations=8)
    x, y = reference_solver.solution(reference_state), solver.solution(state)
    assert reference_state.iteration == state.iteration == 8
    difference = x.copy()
    difference.axpy(-1.0, y)
    assert difference.norm() <= 1e-8 * x.norm()


@pytest.mark.mpi
def test_history_tracks_error_against_truth_and_semiconvergence():
    _, _, state, _ = _solve("cgls", noise=0.05, iterations=60)
    errors = np.array(state.history.columns["relative_error"])
    assert errors[0] == pytest.approx(1.0)
    assert errors.min() < 0.5 * errors[0]
