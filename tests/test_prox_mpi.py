"""The proximal operators on distributed Vecs against dense references, on 1 and 2 ranks:
the l1-ball projection against the sort-based one (Duchi et al. 2008) over vectors inside,
on and outside the ball, with ties and zeros; the soft threshold, the l2 ball, the
non-negative orthant."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.relaxed.prox import (L1Ball, L1Norm, l1_ball_threshold, project_l1_ball,
                                         project_l2_ball, project_nonnegative, soft_threshold)
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _vec(array):
    vec = PETSc.Vec().createMPI(array.size, comm=COMM)
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = array[start:stop]
    return vec


def _sorted_projection(v, radius):
    """Duchi et al.'s O(n log n) projection onto {||x||_1 <= radius}."""
    if np.abs(v).sum() <= radius:
        return v.copy()
    if radius == 0:
        return np.zeros_like(v)
    u = np.sort(np.abs(v))[::-1]
    cumulative = np.cumsum(u)
    last = np.flatnonzero(u * np.arange(1, u.size + 1) > cumulative - radius)[-1]
    theta = (cumulative[last] - radius) / (last + 1.0)
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


def _cases():
    rng = np.random.default_rng(7)
    for size in (1, 2, 5, 64, 301):
        for scale in (1e-3, 1.0, 1e4):
            v = rng.standard_normal(size) * scale
            norm = np.abs(v).sum()
            for fraction in (0.0, 0.05, 0.5, 0.999, 1.0, 3.0):
                yield v, fraction * norm
    ties = np.array([3.0, -3.0, 3.0, 0.0, 0.0, -1.0, 1.0, 2.0])
    for radius in (0.5, 6.0, 9.0, 13.0):
        yield ties, radius


@pytest.mark.mpi
def test_l1_ball_projection_is_the_sorted_one():
    for v, radius in _cases():
        vec = _vec(v)
        project_l1_ball(vec, radius)
        expected = _sorted_projection(v, radius)
        got = gather(vec)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * np.abs(v).max())
        assert np.abs(got).sum() <= radius * (1 + 1e-12) + 1e-300


@pytest.mark.mpi
def test_a_started_threshold_search_finds_the_cold_one_exactly():
    """Guesses below, at and above the answer, and above every entry: the same threshold to
    the last bit (so a resumed SR3 run projects as the uninterrupted one did)."""
    for v, radius in _cases():
        if not 0 < radius < np.abs(v).sum():
            continue
        cold = l1_ball_threshold(_vec(v), radius)
        for start in (0.3 * cold, cold, 1.7 * cold, 2 * np.abs(v).max() + 1):
            assert l1_ball_threshold(_vec(v), radius, start) == cold, (v.size, start)
    ball = L1Ball(1.0)
    for seed, size in enumerate((50, 50, 31, 50)):
        # the ball keeps its last threshold as the next start, and its work arrays, which
        # follow a change of length
        v = np.random.default_rng(seed).standard_normal(size)
        vec = _vec(v)
        ball.prox(vec, 1.0)
        np.testing.assert_allclose(gather(vec), _sorted_projection(v, 1.0), rtol=0,
                                   atol=1e-14)


@pytest.mark.mpi
def test_a_point_inside_the_ball_stays_and_the_threshold_is_zero():
    v = np.linspace(-1.0, 1.0, 11)
    vec = _vec(v)
    assert l1_ball_threshold(vec, 10.0) == 0.0
    project_l1_ball(vec, 10.0)
    assert np.array_equal(gather(vec), v)
    # On the sphere the ball (unlike PyProximal's L1Ball, a sphere) moves nothing either.
    project_l1_ball(vec, np.abs(v).sum())
    np.testing.assert_allclose(gather(vec), v, rtol=0, atol=1e-15)


@pytest.mark.mpi
def test_soft_threshold_l2_ball_and_orthant():
    v = np.array([-3.0, -0.5, 0.0, 0.25, 2.0, 7.0, -0.1])
    vec = _vec(v)
    soft_threshold(vec, 0.5)
    np.testing.assert_array_equal(gather(vec), np.sign(v) * np.maximum(np.abs(v) - 0.5, 0))
    vec = _vec(v)
    project_l2_ball(vec, 2.0)
    np.testing.assert_allclose(gather(vec), v * 2.0 / np.linalg.norm(v), rtol=1e-15)
    vec = _vec(v)
    project_l2_ball(vec, 100.0)
    np.testing.assert_array_equal(gather(vec), v)
    vec = _vec(v)
    project_nonnegative(vec)
    np.testing.assert_array_equal(gather(vec), np.maximum(v, 0.0))


@pytest.mark.mpi
def test_regularizers_prox_and_value():
    v = np.array([-3.0, 1.0, 0.5, 2.0])
    vec = _vec(v)
    norm = L1Norm(2.0)
    assert norm.value(vec) == pytest.approx(13.0)
    norm.prox(vec, 0.25)   # threshold step * weight = 0.5
    np.testing.assert_array_equal(gather(vec), [-2.5, 0.5, 0.0, 1.5])
    ball = L1Ball(3.0)
    vec = _vec(v)
    assert ball.value(vec) == np.inf
    ball.prox(vec, 123.0)   # a projection, whatever the step
    np.testing.assert_allclose(gather(vec), _sorted_projection(v, 3.0), atol=1e-15)
    assert ball.value(vec) == 0.0


def test_bad_radius_and_threshold_are_named():
    vec = PETSc.Vec().createSeq(3)
    with pytest.raises(ValueError, match="radius"):
        project_l1_ball(vec, -1.0)
    with pytest.raises(ValueError, match="threshold"):
        soft_threshold(vec, float("nan"))
    vec.getArray()[:] = [1.0, np.nan, 2.0]
    with pytest.raises(ArithmeticError, match="NaN"):
        project_l1_ball(vec, 1.0)


@pytest.mark.mpi
def test_a_radius_below_the_rounding_of_the_sum_still_settles():
    """Found by review: with the radius under an ulp of the active sum, a round's update
    rounds up to the largest entry and the next finds no entry above it."""
    for v, radius in ((np.array([1.0, 1.0, 0.5]), 1e-17), (np.array([3.0, 3.0, 3.0]), 1e-300)):
        threshold = l1_ball_threshold(_vec(v), radius)
        assert threshold == pytest.approx(np.abs(v).max(), rel=1e-15)
