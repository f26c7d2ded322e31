"""Penalised-likelihood penalties on 1 and 2 ranks: gradients and Hessian products against
finite differences, the floating prior's mass conservation and cuts, minima, and values
against dense numpy formulas written independently of the module."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.linalg.layout import Layout
from hpcinv.solvers.penalized.capabilities import PenaltyGrid
from hpcinv.solvers.penalized.penalties import PENALTIES, make_penalty
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD

GRID = PenaltyGrid((7, 9), spacing=(0.5, 0.25), cuts=((1, 4),))
PRIOR = 0.8


def _vec(whole):
    """Every rank holds ``whole``; the Vec keeps each rank's slice."""
    return Layout.default(COMM, np.size(whole)).vec_from(whole)


def _positive(size, seed=3):
    return 0.5 + np.random.default_rng(seed).random(size)


def _penalty(name, grid=GRID):
    template = _vec(np.ones(int(np.prod(grid.shape))))
    return make_penalty(name, template, grid, prior=PRIOR)


def _smoothing_1d(n, gamma):
    """The paper's 1-D smoothing as a dense matrix, one row at a time."""
    matrix = np.zeros((n, n))
    if n == 1:
        return np.eye(1)
    for i in range(n):
        matrix[i, i] = 1 - gamma if i in (0, n - 1) else 1 - 2 * gamma
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                matrix[i, j] = gamma
    return matrix


def _pieces(n, axis, cuts):
    bounds = [0, *sorted(index for a, index in cuts if a == axis), n]
    return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _dense_smoothing(grid, gamma=0.25):
    factors = []
    for axis, n in enumerate(grid.shape):
        factor = np.zeros((n, n))
        for lo, hi in _pieces(n, axis, grid.cuts):
            factor[lo:hi, lo:hi] = _smoothing_1d(hi - lo, gamma)
        factors.append(factor)
    return np.kron(*factors)


def _dense_differences(grid):
    """One row (f[neighbour] - f[index]) / spacing per pair of neighbours not split by a cut,
    times sqrt(cell volume)."""
    index = np.arange(np.prod(grid.shape)).reshape(grid.shape)
    rows = []
    for axis, (n, step) in enumerate(zip(grid.shape, grid.spacing)):
        for lo, hi in _pieces(n, axis, grid.cuts):
            for i in range(lo, hi - 1):
                for first, second in zip(np.take(index, i, axis).ravel(),
                                         np.take(index, i + 1, axis).ravel()):
                    row = np.zeros(index.size)
                    row[[first, second]] = -1 / step, 1 / step
                    rows.append(row)
    return np.array(rows) * np.sqrt(np.prod(grid.spacing))


def _dense_value(name, whole, grid=GRID):
    if name == "roughness":
        return np.sum((_dense_differences(grid) @ whole) ** 2)
    prior = PRIOR if name == "entropy" else _dense_smoothing(grid) @ whole
    return np.sum(whole * np.log(whole / prior) - whole + prior)


def _dense_gradient(name, whole, grid=GRID):
    if name == "entropy":
        return np.log(whole / PRIOR)
    if name == "entropy-floating":
        smoothing = _dense_smoothing(grid)
        prior = smoothing @ whole
        return np.log(whole / prior) + 1 - smoothing.T @ (whole / prior)
    differences = _dense_differences(grid)
    return 2 * differences.T @ (differences @ whole)


@pytest.mark.mpi
@pytest.mark.parametrize("name", PENALTIES)
def test_gradient_matches_finite_differences(name):
    penalty = _penalty(name)
    f = _vec(_positive(63))
    gradient = f.duplicate()
    penalty.gradient(f, gradient)
    rng = np.random.default_rng(11)
    step = 1e-5
    for _ in range(3):
        e = _vec(rng.uniform(-1, 1, 63))
        forward, backward = f.copy(), f.copy()
        forward.axpy(step, e)
        backward.axpy(-step, e)
        difference = (penalty.value(forward) - penalty.value(backward)) / (2 * step)
        assert gradient.dot(e) == pytest.approx(difference, rel=1e-6)


@pytest.mark.mpi
@pytest.mark.parametrize("name", PENALTIES)
def test_hessian_product_matches_finite_differences(name):
    penalty = _penalty(name)
    f = _vec(_positive(63))
    rng = np.random.default_rng(12)
    step = 1e-6
    e = _vec(rng.uniform(-1, 1, 63))
    product, forward, backward = f.duplicate(), f.duplicate(), f.duplicate()
    penalty.hessian_mult(f, e, product)
    shifted = f.copy()
    shifted.axpy(step, e)
    penalty.gradient(shifted, forward)
    shifted.axpy(-2 * step, e)
    penalty.gradient(shifted, backward)
    forward.axpy(-1.0, backward)
    forward.scale(1 / (2 * step))
    forward.axpy(-1.0, product)
    assert forward.norm() <= 1e-5 * product.norm()


@pytest.mark.mpi
@pytest.mark.parametrize("cuts", [(), ((1, 4),), ((0, 1), (1, 4), (1, 8))])
def test_floating_prior_conserves_mass(cuts):
    grid = PenaltyGrid((7, 9), cuts=cuts)
    penalty = _penalty("entropy-floating", grid)
    f = _vec(_positive(63))
    prior = f.duplicate()
    penalty.smoothing_operator.mult(f, prior)
    assert prior.sum() == pytest.approx(f.sum(), rel=1e-13)


@pytest.mark.mpi
def test_cut_decouples_the_floating_prior():
    grid = PenaltyGrid((3, 5), cuts=((1, 2),))
    smoothing = _penalty("entropy-floating", grid).smoothing_operator
    whole = _positive(15).reshape(3, 5)
    changed = whole.copy()
    changed[:, 2:] *= 3.0
    priors = []
    for values in (whole, changed):
        prior = _vec(np.ones(15))
        smoothing.mult(_vec(values.ravel()), prior)
        priors.append(gather(prior).reshape(3, 5))
    assert np.array_equal(priors[0][:, :2], priors[1][:, :2])
    assert not np.allclose(priors[0][:, 2:], priors[1][:, 2:])


@pytest.mark.mpi
@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_is_non_negative_and_zero_at_its_minimum(name):
    grid = PenaltyGrid((7, 9), spacing=(0.5, 0.25))
    penalty = _penalty(name, grid)
    assert penalty.value(_vec(_positive(63))) > 0
    minimum = _vec(np.full(63, PRIOR))
    gradient = minimum.duplicate()
    assert penalty.value_and_gradient(minimum, gradient) == pytest.approx(0.0, abs=1e-12)
    assert gradient.norm() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("name", PENALTIES)
def test_values_and_gradients_match_dense_formulas(name):
    whole = _positive(63, seed=5)
    penalty = _penalty(name)
    f = _vec(whole)
    gradient = f.duplicate()
    value = penalty.value_and_gradient(f, gradient)
    assert value == pytest.approx(_dense_value(name, whole), rel=1e-12)
    assert penalty.value(f) == value
    reference = _dense_gradient(name, whole)
    assert np.abs(gather(gradient) - reference).max() <= 1e-12 * np.abs(reference).max()


@pytest.mark.mpi
@pytest.mark.parametrize("arguments,argument", [
    (dict(name="entropy"), "prior"),
    (dict(name="entropy", prior=-1.0), "prior"),
    (dict(name="entropy-floating", gamma=0.6), "gamma"),
    (dict(name="entropy-floating", gamma=-0.1), "gamma"),
    (dict(name="roughness", grid=PenaltyGrid((8, 8))), "grid"),
    (dict(name="tv"), "penalty"),
])
def test_bad_arguments_name_the_argument(arguments, argument):
    arguments = {"grid": GRID, **arguments}
    with pytest.raises(ValueError, match=f"^{argument}:"):
        make_penalty(arguments.pop("name"), _vec(np.ones(63)), **arguments)
