"""The Pareto-curve points of ``relaxed.pareto`` on 1 and 2 ranks: van den Berg and
Friedlander's bounds meet at the solution and bracket phi elsewhere, the slope is the
derivative of phi(tau), and SR3's relaxed curve lies below the original (Theorem 9)."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.relaxed import SR3, ProximalGradient
from hpcinv.solvers.relaxed.pareto import original_point, relaxed_point
from hpcinv.solvers.relaxed.prox import L1Ball
from helpers import distributed_matrix, domain_vec, range_vec

PETSc = initialize()


def _problem():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((30, 20)) @ np.diag(np.exp(-np.arange(20) / 6.0))
    truth = np.zeros(20)
    truth[[2, 7, 11]] = [1.5, -2.0, 0.7]
    return A, A @ truth, np.abs(truth).sum()


def _lasso(operator, data, radius):
    result = ProximalGradient(operator, data, L1Ball(radius), tolerance=1e-13,
                              max_iterations=400000).run()
    assert result.reason == "converged"
    return result.x


@pytest.mark.mpi
def test_bounds_meet_at_the_solution_and_the_slope_is_phi_prime():
    A, b, norm = _problem()
    operator = distributed_matrix(A)
    data = range_vec(operator, b)
    radius, delta = 0.6 * norm, 1e-3 * norm
    point = original_point(operator, data, _lasso(operator, data, radius), radius)
    assert abs(point.gap) <= 1e-7 * point.upper   # 0 up to rounding
    above = original_point(operator, data, _lasso(operator, data, radius + delta),
                           radius + delta).upper
    below = original_point(operator, data, _lasso(operator, data, radius - delta),
                           radius - delta).upper
    assert point.slope == pytest.approx((above - below) / (2 * delta), rel=1e-3)
    assert below > point.upper > above


@pytest.mark.mpi
def test_bounds_bracket_phi_at_a_feasible_point():
    """x = 0: upper ||b||, lower (||b||^2 - tau ||A^T b||_inf) / ||b||, written out."""
    A, b, norm = _problem()
    operator = distributed_matrix(A)
    data = range_vec(operator, b)
    radius = 0.6 * norm
    start = original_point(operator, data, domain_vec(operator, np.zeros(20)), radius)
    bnorm = np.linalg.norm(b)
    assert start.upper == pytest.approx(bnorm, rel=1e-14)
    assert start.lower == pytest.approx((bnorm ** 2 - radius * np.abs(A.T @ b).max()) / bnorm,
                                        rel=1e-12)
    solution = original_point(operator, data, _lasso(operator, data, radius), radius)
    assert start.lower <= solution.upper <= start.upper


@pytest.mark.mpi
@pytest.mark.parametrize("kappa", [0.5, 5.0, 50.0])
def test_relaxed_curve_meets_its_bounds_and_lies_below_the_original(kappa):
    A, b, norm = _problem()
    operator, identity = distributed_matrix(A), distributed_matrix(np.eye(20))
    data = range_vec(operator, b)
    radius = 0.6 * norm
    sr3 = SR3(operator, data, identity, L1Ball(radius), kappa=kappa, inexact=False,
              inner_tolerance=1e-13, tolerance=1e-12, max_iterations=200000)
    state = sr3.initial_state()
    assert sr3.run(state=state).reason == "converged"
    relaxed = relaxed_point(operator, data, identity, state.vectors["x"],
                            state.vectors["y"], kappa, radius)
    assert abs(relaxed.gap) <= 1e-6 * relaxed.upper
    original = original_point(operator, data, _lasso(operator, data, radius), radius)
    assert relaxed.upper <= original.upper
