"""The L-curve corner: the lambda of largest curvature of (log ||r||, log ||x||), checked
against the curvature of the curve computed directly from a dense SVD."""
import numpy as np
import pytest

from hpcinv.apps.classic.gravity import gravity_rows, gravity_truth
from hpcinv.solvers.tikhonov.paramchoice import SpectralModel, choose_lambda
from hpcinv.solvers.tikhonov.paramchoice.lcurve import lcurve_corner, lcurve_points

N = 200


def _model(noise):
    matrix = gravity_rows(N, 0.25, 0, N)
    clean = matrix @ gravity_truth((np.arange(N) + 0.5) / N)
    error = np.random.default_rng(1).standard_normal(N)
    error *= noise * np.linalg.norm(clean) / np.linalg.norm(error)
    data = clean + error
    left, singular, _ = np.linalg.svd(matrix)
    return SpectralModel(singular, left.T @ data, data @ data, N), np.linalg.norm(error)


def _dense_curvature_peak(model, lambdas):
    """argmax of the curvature of the sampled curve, by finite differences of the points."""
    curve = np.log(lcurve_points(model, lambdas))
    t = np.log(lambdas)
    dx, dy = np.gradient(curve[:, 0], t), np.gradient(curve[:, 1], t)
    ddx, ddy = np.gradient(dx, t), np.gradient(dy, t)
    curvature = (dx * ddy - ddx * dy) / (dx ** 2 + dy ** 2) ** 1.5
    return lambdas[int(np.argmax(curvature[5:-5])) + 5]


@pytest.mark.parametrize("noise", [1e-3, 1e-2, 5e-2])
def test_corner_is_the_curvature_peak_of_the_sampled_curve(noise):
    model, error = _model(noise)
    corner = lcurve_corner(model)
    lambdas = np.logspace(np.log10(corner) - 3, np.log10(corner) + 3, 3001)
    assert corner == pytest.approx(_dense_curvature_peak(model, lambdas), rel=1e-2)
    # More noise, more regularization; the corner sits within two decades of DP's lambda.
    dp = choose_lambda(model, "dp", noise_norm=error)
    assert 1e-2 < corner / dp < 1e2


def test_corner_grows_with_the_noise():
    corners = [lcurve_corner(_model(noise)[0]) for noise in (1e-3, 1e-2, 5e-2)]
    assert corners[0] < corners[1] < corners[2]
