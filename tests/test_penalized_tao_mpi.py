"""The search on mu (``MuSearch``, pure Python) and the two penalised-likelihood methods
built on it: ``PenalizedTAO`` (bound-constrained TAO per mu) against scipy's L-BFGS-B on
the same Q, and ``PenalizedQuadratic`` (Eq. 23 by KSP) against a dense solve; the search
reaching its target, exact resumption, and one rank against two."""
import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from hpcinv.core.errors import ArgumentError, InputError
from hpcinv.core.petsc_env import initialize
from hpcinv.core.state import History, SolverState
from hpcinv.linalg.adapters import as_operator
from hpcinv.solvers.penalized.capabilities import PenaltyGrid
from hpcinv.solvers.penalized.mu_search import MuSearch
from hpcinv.solvers.penalized.penalties import FloatingNegentropy, Negentropy, Roughness
from hpcinv.solvers.penalized.quadratic import PenalizedQuadratic
from hpcinv.solvers.penalized.tao import TAO_TYPES, PenalizedTAO
from helpers import MatrixFree, gather, range_vec

PETSc = initialize()
COMM = PETSc.COMM_WORLD
ROWS, COLUMNS = 60, 40
GRID = PenaltyGrid((COLUMNS,))
DIFFERENCES = np.diff(np.eye(COLUMNS), axis=0)   # Roughness's D on a unit-spaced line


# -- MuSearch against analytic L(mu) ---------------------------------------------------------

def _saturating(mu):
    """An increasing L from 10 (mu -> 0) to 100 (mu -> infinity); L = 60 at mu = 62.5."""
    return 10.0 + 90.0 * mu / (mu + 50.0)


def _drive(search, chi_square_of, updates):
    """Feed the search ``updates`` times (stopping once converged); the trials it made."""
    trials = []
    for _ in range(updates):
        trials.append(search.trial)
        search.update(search.trial, chi_square_of(search.trial))
        if search.converged:
            break
    return trials


@pytest.mark.parametrize("start", [1e-4, 1e7])
def test_the_search_expands_then_converges_in_a_handful_of_steps(start):
    search = MuSearch(60.0)
    search.start(start)
    expanding = []
    while None in search.bracket:
        expanding.append(search.trial)
        search.update(search.trial, _saturating(search.trial))
    ratios = np.array(expanding[1:]) / np.array(expanding[:-1])
    assert len(expanding) > 3 and np.allclose(ratios, 10.0 if start < 62.5 else 0.1)
    assert len(_drive(search, _saturating, 30)) <= 4 and search.converged
    assert abs(_saturating(search.trial) - 60.0) <= 1e-3 * 60.0


def test_the_bracket_only_shrinks_and_every_trial_lies_inside_it():
    search = MuSearch(60.0, tolerance=1e-9)
    search.start(1.0)
    widths = []
    for _ in range(40):
        search.update(search.trial, _saturating(search.trial))
        if search.converged:
            break
        lower, upper = search.bracket
        if lower is not None and upper is not None:
            assert lower < search.trial < upper
            widths.append(math.log(upper / lower))
    assert search.converged and np.all(np.diff(widths) <= 0)


def test_a_nearly_flat_power_law_is_solved_once_bracketed():
    # L changes by 0.23 % per decade of mu: the log-log secant is exact for a power law.
    def flat(mu):
        return 60.0 * (mu / 7.0) ** 1e-3

    search = MuSearch(60.0, tolerance=1e-5)
    search.start(1e-3)
    trials = _drive(search, flat, 30)
    assert search.converged and abs(search.trial - 7.0) < 1e-3 * 7.0
    assert len(trials) <= 7


def test_flat_pieces_of_l_neither_break_nor_stall_the_search():
    def step(mu):   # flat on both sides of a jump over the target at mu = 5
        return 30.0 if mu < 5.0 else 120.0

    search = MuSearch(60.0)
    search.start(0.01)
    trials = _drive(search, step, 60)
    lower, upper = search.bracket
    assert not search.converged and all(math.isfinite(mu) for mu in trials)
    assert lower < 5.0 <= upper and math.log(upper / lower) < 1e-6   # bisection narrowed it

    exact_fit = MuSearch(60.0)   # L = 0 below the jump: no logarithm of zero
    exact_fit.start(0.01)
    _drive(exact_fit, lambda mu: 0.0 if mu < 5.0 else 120.0, 60)
    assert math.log(exact_fit.bracket[1] / exact_fit.bracket[0]) < 1e-6

    unreachable = MuSearch(60.0)   # L below the target for every mu: expands, stays finite
    unreachable.start(1.0)
    trials = _drive(unreachable, lambda mu: 30.0, 30)
    assert np.allclose(np.diff(np.log10(trials)), 1.0) and not unreachable.converged


def test_the_search_state_is_json_and_continues_exactly():
    scalars = {}
    search = MuSearch(60.0, scalars=scalars)
    search.start(1.0)
    _drive(search, _saturating, 4)
    saved = json.loads(json.dumps(scalars, allow_nan=False))
    resumed = MuSearch(60.0, scalars=saved)
    assert _drive(resumed, _saturating, 30) == _drive(search, _saturating, 30)


def test_bad_search_arguments_name_themselves():
    with pytest.raises(ArgumentError, match="target"):
        MuSearch(0.0)
    with pytest.raises(ArgumentError, match="expansion"):
        MuSearch(1.0, expansion=1.0)
    search = MuSearch(1.0)
    search.start(1.0)
    with pytest.raises(ArgumentError, match="chi_square"):
        search.update(1.0, float("nan"))


# -- a small positive problem --------------------------------------------------------------

def _problem(comm=None, offset=2.0):
    """(A, b) with A >= 0, the truth ``offset`` + sin (positive by default) and unit noise,
    the same on every rank, and (operator, data Vec) distributed over ``comm`` (default
    COMM_WORLD)."""
    rng = np.random.default_rng(11)
    A = rng.random((ROWS, COLUMNS))
    truth = offset + np.sin(np.linspace(0.0, 9.0, COLUMNS))
    b = A @ truth + rng.standard_normal(ROWS)
    operator = as_operator(A, comm)
    return A, b, operator, range_vec(operator, b)


def _smoothing(gamma=0.25):
    """Horne's floating-prior smoothing on a line, dense (FloatingNegentropy's S)."""
    S = np.diag(np.full(COLUMNS, 1.0 - 2.0 * gamma)) + gamma * (np.eye(COLUMNS, k=1)
                                                                + np.eye(COLUMNS, k=-1))
    S[0, 0] = S[-1, -1] = 1.0 - gamma
    return S


class _Ridge:
    """A stand-in penalty R = ||f||^2 with only the protocol PenalizedTAO uses."""

    name, quadratic = "ridge", True

    def value(self, f):
        return f.dot(f)

    def value_and_gradient(self, f, gradient):
        f.copy(gradient)
        gradient.scale(2.0)
        return f.dot(f)

    def hessian_mult(self, f, e, out):
        e.copy(out)
        out.scale(2.0)


def _entropy(f, prior=2.5):
    ratio = f / prior
    return np.sum(f * np.log(ratio) - f + prior), np.log(ratio)


def _floating(f, S=_smoothing()):
    p = S @ f
    return np.sum(f * np.log(f / p) - f + p), np.log(f / p) + 1.0 - S.T @ (f / p)


# name: (PETSc penalty from a template Vec, numpy (R, grad R), fixed mu)
PENALTIES = {
    "ridge": (lambda x: _Ridge(), lambda f: (f @ f, 2.0 * f), 3.0),
    "entropy": (lambda x: Negentropy(x, 2.5), _entropy, 30.0),
    "entropy-floating": (lambda x: FloatingNegentropy(x, GRID), _floating, 300.0),
    "roughness": (lambda x: Roughness(x, GRID),
                  lambda f: (np.sum((DIFFERENCES @ f) ** 2),
                             2.0 * DIFFERENCES.T @ (DIFFERENCES @ f)), 20.0),
}


def _scipy_minimiser(A, b, penalty, mu, floor):
    def q(f):
        residual = A @ f - b
        value, gradient = penalty(f)
        return residual @ residual + mu * value, 2.0 * A.T @ residual + mu * gradient

    outcome = minimize(q, np.full(COLUMNS, 2.0), jac=True, method="L-BFGS-B",
                       bounds=[(floor, None)] * COLUMNS,
                       options={"ftol": 1e-16, "gtol": 1e-11, "maxiter": 20000,
                                "maxcor": 20})
    return outcome.x


def _tao(operator, data, name, **options):
    make_penalty, _, mu = PENALTIES[name]
    return PenalizedTAO(operator, data, make_penalty(operator.create_vecs()[0]),
                        **{"chi_square_target": None, "mu": mu, "tao_gradient_tolerance": 1e-12,
                           "tao_max_iterations": 5000, **options})


def _relative(x, reference):
    return np.linalg.norm(x - reference) / np.linalg.norm(reference)


# -- PenalizedTAO --------------------------------------------------------------------------

@pytest.mark.mpi
@pytest.mark.parametrize("name", list(PENALTIES))
def test_tao_at_a_fixed_mu_finds_scipys_minimiser(name):
    A, b, operator, data = _problem()
    method = _tao(operator, data, name)
    result = method.run()
    # grtol 1e-12 is out of reach: a solve stopped by TAO's caps goes on at the same mu
    # until it no longer moves the chi-square.
    assert result.reason == "fixed_mu" and result.iterations >= 1
    reference = _scipy_minimiser(A, b, PENALTIES[name][1], PENALTIES[name][2], method.floor)
    assert _relative(gather(result.x), reference) < 1e-5
    assert result.attributes["mu"] == PENALTIES[name][2]
    assert result.attributes["tao_iterations"] == sum(result.history["tao_iterations"][1:]) > 0


@pytest.mark.mpi
@pytest.mark.parametrize("name", ["ridge", "roughness"])
def test_tao_holds_f_at_zero_where_the_fit_would_go_negative(name):
    A, b, operator, data = _problem(offset=0.0)
    method = _tao(operator, data, name)
    x = gather(method.run().x)
    reference = _scipy_minimiser(A, b, PENALTIES[name][1], PENALTIES[name][2], method.floor)
    assert method.floor == 0.0 and np.count_nonzero(x == 0.0) >= 5 and x.min() == 0.0
    assert _relative(x, reference) < 1e-5


@pytest.mark.mpi
@pytest.mark.parametrize("tao_type", TAO_TYPES)
def test_every_allowed_tao_type_finds_the_same_minimiser(tao_type):
    A, b, operator, data = _problem()
    method = _tao(operator, data, "entropy", tao_type=tao_type)
    result = method.run()
    reference = _scipy_minimiser(A, b, _entropy, PENALTIES["entropy"][2], method.floor)
    assert _relative(gather(result.x), reference) < 1e-5


@pytest.mark.mpi
@pytest.mark.parametrize("name", ["entropy-floating", "roughness"])
def test_the_mu_search_reaches_the_chi_square_target(name):
    _, _, operator, data = _problem()
    target = ROWS - math.sqrt(2 * ROWS)
    result = _tao(operator, data, name, chi_square_target=target, mu=None,
                  tao_gradient_tolerance=1e-9).run()
    chi_square = result.attributes["chi_square"]
    assert result.reason == "chi_square" and abs(chi_square - target) <= 1e-3 * target
    assert result.history["residual_norm"][-1] ** 2 == pytest.approx(chi_square, rel=1e-12)
    assert result.attributes["mu"] == result.history["mu"][-1]
    assert result.attributes["tao_iterations"] == np.sum(result.history["tao_iterations"])
    assert 2 < result.iterations < 15 and np.isnan(result.history["mu"][0])
    assert gather(result.x).min() >= 0.0


def _copy(state: SolverState) -> SolverState:
    return SolverState(vectors={name: vec.copy() for name, vec in state.vectors.items()},
                       scalars=json.loads(json.dumps(state.scalars, allow_nan=False)),
                       iteration=state.iteration,
                       history=History.from_arrays(state.history.arrays()))


def _resumes_exactly(make):
    """Run ``make(max_iterations)``'s method 2 steps, continue a copy of its state with a new
    method; compare with one uninterrupted run."""
    whole = make(30).run()
    first = make(2)
    state = first.initial_state()
    first.run(state=state)
    resumed = make(30).run(state=_copy(state))
    assert whole.iterations > 3 and resumed.iterations == whole.iterations
    assert np.array_equal(gather(resumed.x), gather(whole.x))
    for column in ("mu", "chi_square", "penalty", "residual_norm"):
        assert np.array_equal(resumed.history[column], whole.history[column], equal_nan=True)


@pytest.mark.mpi
def test_a_resumed_tao_run_repeats_the_uninterrupted_iterates():
    _, _, operator, data = _problem()
    _resumes_exactly(lambda limit: _tao(operator, data, "entropy-floating", chi_square_target=50.0,
                                        mu=None, tao_gradient_tolerance=1e-9,
                                        max_iterations=limit))


@pytest.mark.mpi
def test_one_rank_and_all_ranks_agree():
    # Each rank also solves alone (COMM_SELF): TAO's reductions may round differently.
    results = []
    for comm in (COMM, PETSc.COMM_SELF):
        _, _, operator, data = _problem(comm)
        results.append(_tao(operator, data, "entropy-floating", chi_square_target=50.0, mu=None,
                            tao_gradient_tolerance=1e-9).run())
    together, alone = results
    # Rounding may decide differently whether a capped TAO solve still moves the chi-square
    # (one more continuation step at the same mu), so the step counts may differ by that.
    assert abs(together.iterations - alone.iterations) <= 1
    assert _relative(gather(together.x), alone.x.getArray()) < 1e-6
    assert together.attributes["mu"] == pytest.approx(alone.attributes["mu"], rel=1e-6)


@pytest.mark.mpi
def test_the_options_prefix_reaches_tao():
    _, _, operator, data = _problem()
    options = PETSc.Options()
    options["penalized_tao_tao_max_it"] = 2
    try:
        result = _tao(operator, data, "entropy").run()
    finally:
        options.delValue("penalized_tao_tao_max_it")
    assert result.history["tao_iterations"][1] == 2
    options["penalized_tao_tao_type"] = "lmvm"   # unconstrained: refused
    try:
        with pytest.raises(InputError, match="tao_type"):
            _tao(operator, data, "entropy").run()
    finally:
        options.delValue("penalized_tao_tao_type")


def test_bad_tao_arguments_name_themselves():
    _, _, operator, data = _problem()
    x = operator.create_vecs()[0]
    for argument, options in (("tao_type", {"tao_type": "lmvm"}),
                              ("floor", {"floor": 0.0}),
                              ("mu", {"mu": None}),
                              ("chi_square_target", {"chi_square_target": -1.0}),
                              ("max_iterations", {"max_iterations": 0})):
        with pytest.raises(ArgumentError, match=argument):
            PenalizedTAO(operator, data, Negentropy(x, 1.0),
                         **{"chi_square_target": None, "mu": 1.0, **options})


# -- PenalizedQuadratic --------------------------------------------------------------------

def _dense_quadratic(A, b, mu):
    return np.linalg.solve(A.T @ A + mu * DIFFERENCES.T @ DIFFERENCES, A.T @ b)


_DIFFERENCE_OPERATORS = {
    "roughness": lambda operator: Roughness(operator.create_vecs()[0], GRID),
    "dense": lambda operator: as_operator(DIFFERENCES),
    "matrix-free": lambda operator: MatrixFree(as_operator(DIFFERENCES)),
}


@pytest.mark.mpi
@pytest.mark.parametrize("kind", list(_DIFFERENCE_OPERATORS))
def test_the_quadratic_solution_is_the_dense_one(kind):
    A, b, operator, data = _problem()
    penalty = _DIFFERENCE_OPERATORS[kind](operator)
    result = PenalizedQuadratic(operator, data, penalty, chi_square_target=None, mu=20.0,
                                ksp_rtol=1e-13).run()
    assert result.reason == "fixed_mu" and result.attributes["ksp_iterations"] > 0
    assert _relative(gather(result.x), _dense_quadratic(A, b, 20.0)) < 1e-8


@pytest.mark.mpi
def test_the_quadratic_search_with_a_direct_solver_from_the_options():
    A, b, operator, data = _problem()
    options = PETSc.Options()
    options["penalized_quadratic_pc_type"] = "lu"
    options["penalized_quadratic_pc_factor_mat_solver_type"] = "mumps"
    try:
        result = PenalizedQuadratic(operator, data, Roughness(operator.create_vecs()[0], GRID),
                                    chi_square_target=50.0).run()
    finally:
        options.delValue("penalized_quadratic_pc_type")
        options.delValue("penalized_quadratic_pc_factor_mat_solver_type")
    assert result.reason == "chi_square"
    assert abs(result.attributes["chi_square"] - 50.0) <= 1e-3 * 50.0
    assert np.all(result.history["ksp_iterations"][1:] == 1)   # CG with an exact inverse
    mu = result.attributes["mu"]
    assert _relative(gather(result.x), _dense_quadratic(A, b, mu)) < 1e-8


@pytest.mark.mpi
def test_a_resumed_quadratic_run_repeats_the_uninterrupted_iterates():
    _, _, operator, data = _problem()
    penalty = Roughness(operator.create_vecs()[0], GRID)
    _resumes_exactly(lambda limit: PenalizedQuadratic(operator, data, penalty,
                                                      chi_square_target=50.0, mu=1e-3,
                                                      max_iterations=limit))


def test_a_quadratic_penalty_must_be_an_operator():
    _, _, operator, data = _problem()
    with pytest.raises(ArgumentError, match="penalty"):
        PenalizedQuadratic(operator, data, _Ridge(), chi_square_target=None, mu=1.0)
