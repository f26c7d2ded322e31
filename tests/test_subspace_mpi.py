"""The six-direction subspace scheme (``SubspaceDescent``, Pichon & Thiebaut 1997, Sect. 3.3)
and the scaled-gradient schemes of its Eq. 30 (``ScaledGradient``): the small dense part
(``truncated_solve``, ``choose_step``) on hand-made systems whose answers are known, one
step lowering Q = L + mu R at the mu it chose, convergence to the chi-square target on a
1-D deconvolution, exact resumption from a copied state, and one rank against all ranks."""
import math

import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.core.state import History, SolverState
from hpcinv.linalg.adapters import as_operator
from hpcinv.solvers.penalized.capabilities import PenaltyGrid
from hpcinv.solvers.penalized.likelihood import ChiSquare
from hpcinv.solvers.penalized.penalties import FloatingNegentropy, Roughness
from hpcinv.solvers.penalized.scaled_gradient import METRICS, ScaledGradient
from hpcinv.solvers.penalized.subspace import SubspaceDescent
from hpcinv.solvers.penalized.subspace_model import (SubspaceSystem, choose_step,
                                                     truncated_solve)
from helpers import gather, range_vec

PETSc = initialize()
COMM = PETSc.COMM_WORLD
ROWS, COLUMNS = 60, 40
GRID = PenaltyGrid((COLUMNS,))
TARGET = ROWS - math.sqrt(2 * ROWS)          # the paper's N - sqrt(2 N)
PENALTIES = {"entropy-floating": lambda x: FloatingNegentropy(x, GRID),
             "roughness": lambda x: Roughness(x, GRID)}


# -- truncated_solve ---------------------------------------------------------------------------

def test_truncated_solve_of_a_regular_system_is_the_solution():
    rng = np.random.default_rng(1)
    factor = rng.standard_normal((6, 6))
    matrix, rhs = factor @ factor.T + np.eye(6), rng.standard_normal(6)
    x, rank = truncated_solve(matrix, rhs, 1e-10)
    assert rank == 6
    np.testing.assert_allclose(x, np.linalg.solve(matrix, rhs), rtol=1e-12)


@pytest.mark.parametrize("dependent", [1, 2, 3])
def test_truncated_solve_drops_the_null_space_of_a_singular_system(dependent):
    """Columns of D repeated: the Gram matrix D^T D loses one rank per repeat, and the
    truncated solution is the minimum-norm one (the pseudo-inverse's)."""
    rng = np.random.default_rng(2)
    directions = rng.standard_normal((20, 6))
    directions[:, 6 - dependent:] = directions[:, :dependent]
    matrix = directions.T @ directions
    rhs = directions.T @ rng.standard_normal(20)          # in the range
    x, rank = truncated_solve(matrix, rhs, 1e-10)
    assert rank == 6 - dependent
    np.testing.assert_allclose(matrix @ x, rhs, rtol=0, atol=1e-10 * np.abs(rhs).max())
    np.testing.assert_allclose(x, np.linalg.pinv(matrix, rcond=1e-10) @ rhs, rtol=1e-9,
                               atol=1e-12)


def test_truncated_solve_keeps_singular_values_above_the_relative_cut():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    matrix = q @ np.diag([1.0, 1e-5, 1e-12]) @ q.T
    rhs = rng.standard_normal(3)
    assert truncated_solve(matrix, rhs, 1e-10)[1] == 2
    assert truncated_solve(matrix, rhs, 1e-4)[1] == 1
    assert truncated_solve(matrix, rhs, 1e-13)[1] == 3
    x, rank = truncated_solve(np.zeros((4, 4)), np.ones(4), 1e-10)
    assert rank == 0 and np.array_equal(x, np.zeros(4))


# -- choose_step on hand-made systems ---------------------------------------------------------

class _HandMade:
    """A least-squares L(f) = ||A f - b||^2 and a quadratic R(f) = ||f - p||^2 at a point f,
    with directions D: the subspace models of both are exact, so the model's chi-square
    after a step lambda is L(f + D lambda) itself."""

    def __init__(self, seed: int = 0, repeats: int = 0, n: int = 10, m: int = 14):
        rng = np.random.default_rng(seed)
        self.A = rng.standard_normal((m, n))
        self.b = 3.0 * rng.standard_normal(m)
        self.f = 0.5 + rng.random(n)
        self.p = 0.5 + rng.random(n)
        self.D = rng.standard_normal((n, 6))
        if repeats:
            self.D[:, 6 - repeats:] = self.D[:, :repeats]
        residual = self.A @ self.f - self.b
        images = self.A @ self.D
        self.system = SubspaceSystem(
            likelihood_matrix=2.0 * images.T @ images,
            likelihood_vector=-self.D.T @ (2.0 * self.A.T @ residual),
            penalty_matrix=2.0 * self.D.T @ self.D,
            penalty_vector=-self.D.T @ (2.0 * (self.f - self.p)),
            chi_square=float(residual @ residual))

    def chi_square(self, coefficients) -> float:
        residual = self.A @ (self.f + self.D @ coefficients) - self.b
        return float(residual @ residual)

    def least_chi_square(self) -> float:
        """min over lambda of L(f + D lambda)."""
        residual = self.A @ self.f - self.b
        lam = np.linalg.lstsq(self.A @ self.D, -residual, rcond=None)[0]
        return self.chi_square(lam)

    def penalty_minimiser(self) -> np.ndarray:
        """argmin over lambda of R(f + D lambda) (D of full rank)."""
        return np.linalg.lstsq(self.D, self.p - self.f, rcond=None)[0]


@pytest.mark.parametrize("tolerance", [1e-3, 1e-8])
@pytest.mark.parametrize("start", [0.0, 1e-9, 1.0, 1e9])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_chosen_step_reaches_l_aim_within_the_tolerance(seed, start, tolerance):
    made = _HandMade(seed)
    system = made.system
    step = choose_step(system, 0.0, start, alpha=2 / 3, tolerance=tolerance)
    # L_min is the subspace's least chi-square, L_aim a third of the way down to it.
    assert step.l_min == pytest.approx(made.least_chi_square(), rel=1e-9)
    assert step.l_aim == pytest.approx(system.chi_square / 3 + 2 * step.l_min / 3, rel=1e-12)
    assert step.l_max > step.l_aim and step.mu > 0 and step.rank == 6
    # The model is exact here: L after the step is L_aim, within the tolerance of the reach.
    assert step.chi_square_model == pytest.approx(made.chi_square(step.coefficients), rel=1e-9)
    reach = system.chi_square - step.l_min
    assert abs(made.chi_square(step.coefficients) - step.l_aim) <= tolerance * reach * (1 + 1e-6)
    # The coefficients are those of (A^L + mu A^R) lambda = B^L + mu B^R at the chosen mu.
    np.testing.assert_allclose(step.coefficients, system.solve(step.mu, 1e-10)[0], rtol=1e-12)


def test_a_target_above_l_aim_is_aimed_at():
    made = _HandMade(4)
    first = choose_step(made.system, 0.0, 0.0)
    target = 0.5 * (first.l_aim + first.l_max)     # between L_aim's floor and L_max
    step = choose_step(made.system, target, 0.0, tolerance=1e-6)
    assert step.l_aim == target
    assert abs(made.chi_square(step.coefficients) - target) <= \
        1e-6 * (made.system.chi_square - step.l_min) * (1 + 1e-6)


@pytest.mark.parametrize("mu", [0.0, 3.0])
def test_when_l_max_is_below_l_aim_the_step_is_the_penalty_minimiser(mu):
    """Every mu keeps L below L_aim: the step is the mu -> infinity one (R's minimiser in
    the subspace) and the search leaves mu where it was."""
    made = _HandMade(5)
    l_max = choose_step(made.system, 0.0, 0.0).l_max
    step = choose_step(made.system, 1.5 * l_max, mu)
    assert step.l_max <= step.l_aim == 1.5 * l_max
    assert step.mu == mu and step.chi_square_model == step.l_max
    np.testing.assert_allclose(step.coefficients, made.penalty_minimiser(), rtol=1e-6,
                               atol=1e-9)


@pytest.mark.parametrize("repeats", [1, 2])
def test_a_singular_subspace_system_counts_its_rank(repeats):
    """Repeated directions: both Hessian blocks lose the same rank, the step stays the
    minimum-norm one and still reaches L_aim."""
    made = _HandMade(6, repeats=repeats)
    step = choose_step(made.system, 0.0, 0.0, tolerance=1e-6)
    assert step.rank == 6 - repeats
    assert abs(made.chi_square(step.coefficients) - step.l_aim) <= \
        1e-6 * (made.system.chi_square - step.l_min) * (1 + 1e-6)
    # Minimum norm: no component along the null space (d_i - d_j for a repeated pair).
    for index in range(repeats):
        assert step.coefficients[index] == pytest.approx(step.coefficients[6 - repeats + index],
                                                         rel=1e-8, abs=1e-12)


# -- small distributed problems ---------------------------------------------------------------

def _random_problem(comm=None):
    """A >= 0 random, the truth 2 + sin (positive), unit noise: the same on every rank."""
    rng = np.random.default_rng(11)
    A = rng.random((ROWS, COLUMNS))
    truth = 2.0 + np.sin(np.linspace(0.0, 9.0, COLUMNS))
    b = A @ truth + rng.standard_normal(ROWS)
    operator = as_operator(A, comm)
    return operator, range_vec(operator, b), truth


def _deconvolution(comm=None, noise=0.05):
    """A Gaussian blur of a positive two-bump signal on a line, 5 % noise, rows divided by
    the noise's standard deviations (so ||A f - b||^2 is the chi-square)."""
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 1.0, ROWS)[:, None]
    s = np.linspace(0.0, 1.0, COLUMNS)[None, :]
    blur = np.exp(-0.5 * ((t - s) / 0.04) ** 2) / COLUMNS * 10.0
    x = s.ravel()
    truth = (0.2 + np.exp(-0.5 * ((x - 0.3) / 0.08) ** 2)
             + 0.6 * np.exp(-0.5 * ((x - 0.7) / 0.05) ** 2))
    clean = blur @ truth
    sigma = noise * clean.max() * np.ones(ROWS)
    data = clean + sigma * rng.standard_normal(ROWS)
    operator = as_operator(blur / sigma[:, None], comm)
    return operator, range_vec(operator, data / sigma), truth


def _subspace(operator, data, penalty="entropy-floating", **options):
    return SubspaceDescent(operator, data, PENALTIES[penalty](operator.create_vecs()[0]),
                           **{"chi_square_target": TARGET, **options})


@pytest.mark.mpi
@pytest.mark.parametrize("memory", [False, True])
@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_one_step_from_the_constant_start_lowers_q_at_the_chosen_mu(penalty, memory):
    operator, data, _ = _random_problem()
    method = _subspace(operator, data, penalty, memory=memory)
    state = method.initial_state()
    start = state.vectors["x"].copy()
    values = gather(start)
    assert np.all(values == values[0]) and values[0] > 0          # the constant start
    method.step(state)
    mu = state.scalars["mu"]
    assert mu > 0 and state.scalars["rank"] >= 1
    likelihood, regulariser = ChiSquare(operator, data), method.penalty

    def q(f):
        return likelihood.value(f) + mu * regulariser.value(f)

    before, after = q(start), q(state.vectors["x"])
    assert after < before, (before, after)
    assert likelihood.value(state.vectors["x"]) < likelihood.value(start)
    assert state.scalars["chi_square"] == pytest.approx(likelihood.value(state.vectors["x"]),
                                                        rel=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("memory", [False, True])
@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_subspace_descent_reaches_the_target_and_settles(penalty, memory):
    operator, data, truth = _deconvolution()
    method = _subspace(operator, data, penalty, memory=memory, max_iterations=500)
    result = method.run()
    chi_square = result.attributes["chi_square"]
    assert result.reason == "converged" and result.iterations < 500
    assert abs(chi_square - TARGET) <= 2e-3 * TARGET
    assert result.attributes["chi_square_target"] == TARGET
    assert result.history["change"][-1] <= 1e-5
    assert result.history["residual_norm"][-1] ** 2 == pytest.approx(chi_square, rel=1e-12)
    x = gather(result.x)
    assert x.min() >= method.floor
    assert np.linalg.norm(x - truth) < 0.2 * np.linalg.norm(truth)


def _copy(state: SolverState) -> SolverState:
    """An independent copy: the vectors copied, the scalars dict copied, the history too."""
    return SolverState(vectors={name: vec.copy() for name, vec in state.vectors.items()},
                       scalars=dict(state.scalars), iteration=state.iteration,
                       history=History.from_arrays(state.history.arrays()))


def _resumes_exactly(make, steps: int, limit: int):
    """``make(max_iterations)``: run ``steps`` iterations, continue a copy of the state with
    a NEW method; compare with one uninterrupted run, bit for bit."""
    whole = make(limit).run()
    first = make(steps)
    state = first.initial_state()
    first.run(state=state)
    assert state.iteration == steps
    resumed = make(limit).run(state=_copy(state))
    assert whole.iterations > steps + 2 and resumed.iterations == whole.iterations
    assert resumed.reason == whole.reason
    assert np.array_equal(gather(resumed.x), gather(whole.x))
    for column, values in whole.history.items():
        if column != "seconds":
            assert np.array_equal(resumed.history[column], values, equal_nan=True), column
    assert resumed.attributes == whole.attributes
    return whole


@pytest.mark.mpi
@pytest.mark.parametrize("memory", [False, True])
def test_a_resumed_subspace_run_repeats_the_uninterrupted_iterates(memory):
    operator, data, _ = _deconvolution()
    whole = _resumes_exactly(lambda limit: _subspace(operator, data, memory=memory,
                                                     max_iterations=limit), 5, 500)
    assert whole.reason == "converged"


@pytest.mark.mpi
@pytest.mark.parametrize("metric", METRICS)
def test_a_resumed_scaled_gradient_run_repeats_the_uninterrupted_iterates(metric):
    operator, data, _ = _random_problem()

    def make(limit):
        return ScaledGradient(operator, data, FloatingNegentropy(operator.create_vecs()[0], GRID),
                              mu=300.0, metric=metric, max_iterations=limit)

    _resumes_exactly(make, 4, 25)


@pytest.mark.mpi
@pytest.mark.parametrize("memory", [False, True])
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("problem", [_random_problem, _deconvolution])
def test_one_rank_and_all_ranks_agree(problem, penalty, memory):
    """COMM_WORLD against COMM_SELF on each rank: only the reductions' rounding differs."""
    results = []
    for comm in (COMM, PETSc.COMM_SELF):
        operator, data, _ = problem(comm)
        results.append(_subspace(operator, data, penalty, memory=memory,
                                 max_iterations=500).run())
    together, alone = results
    assert together.reason == alone.reason == "converged"
    assert together.iterations == alone.iterations
    x, reference = gather(together.x), alone.x.getArray()
    assert np.linalg.norm(x - reference) <= 1e-10 * np.linalg.norm(reference)
    assert together.attributes["mu"] == pytest.approx(alone.attributes["mu"], rel=1e-10)
    np.testing.assert_allclose(together.history["chi_square"], alone.history["chi_square"],
                               rtol=1e-10)
