"""Reduced PNKR's separable Gaussian smoothing Z_s."""
import numpy as np
import pytest

from hpcinv.solvers.kaczmarz.smoothing import gaussian_smoothing, separable_smoothing


@pytest.mark.parametrize("width", [0.5, 1.0, 2.5])
def test_gaussian_smoothing_is_symmetric_semi_definite_and_averages(width):
    smoothing = gaussian_smoothing(60, width).toarray()
    np.testing.assert_allclose(smoothing, smoothing.T, rtol=0, atol=1e-17)
    assert np.linalg.eigvalsh(smoothing).min() > -1e-14
    interior = smoothing[30]
    assert interior.sum() == pytest.approx(1.0)
    ramp = np.arange(60.0)                       # a linear function is kept in the interior
    assert (smoothing @ ramp)[30] == pytest.approx(30.0)
    variance = interior @ (np.arange(60.0) - 30) ** 2
    if width >= 1:     # narrower Gaussians are mostly their centre sample
        assert variance == pytest.approx(width ** 2, rel=0.02)   # the width asked for
    assert np.count_nonzero(interior) == 4 * int(np.ceil(4 * width / np.sqrt(2))) + 1


def test_zero_width_is_the_identity_and_axes_combine_as_a_kronecker_product():
    np.testing.assert_array_equal(gaussian_smoothing(4, 0.0).toarray(), np.eye(4))
    both = separable_smoothing((3, 5), 1.0).toarray()
    np.testing.assert_allclose(both, np.kron(gaussian_smoothing(3, 1.0).toarray(),
                                             gaussian_smoothing(5, 1.0).toarray()))
    assert gaussian_smoothing(2, 3.0).shape == (2, 2)   # the band is cut at the grid
