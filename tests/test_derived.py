"""Derived galaxy products (maps, Gauss-Hermite moments, LOSVDs) and `hpcinv plot`."""
import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from hpcinv.apps.galaxy.derived import DerivedGrid, gathered_products, hermite, maps
from hpcinv.linalg.layout import Layout
from hpcinv.core.petsc_env import initialize
from helpers import build_job, hpcinv

PETSc = initialize()


def _grid(velocity):
    weights = np.gradient(velocity)
    return DerivedGrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 3), velocity,
                       np.array([-0.5, 0.0]), np.array([2.0, 8.0]),
                       theta_weights=(weights, np.ones(2), np.ones(2)),
                       light=np.array([[1.0, 0.5], [2.0, 1.0]]))


def _rows(losvd, count=9):
    """f(v, z, t) = losvd(v) x (uniform in z and t) at ``count`` sky points."""
    return np.repeat((losvd[:, None, None] * np.ones((1, 2, 2))).reshape(1, -1), count, axis=0)


def test_a_gaussian_losvd_has_its_mean_dispersion_and_no_higher_moments():
    velocity = np.linspace(-1000, 1000, 401)
    grid = _grid(velocity)
    result = maps(_rows(np.exp(-0.5 * ((velocity - 120) / 80) ** 2)), grid)
    np.testing.assert_allclose(result["mu_v"], 120, atol=1e-6)
    np.testing.assert_allclose(result["sigma_v"], 80, rtol=1e-4)
    for name in ("h3", "h4", "h5"):
        np.testing.assert_allclose(result[name], 0, atol=1e-4)
    np.testing.assert_allclose(result["mean_age"], 5.0)            # uniform over 2 and 8 Gyr
    np.testing.assert_allclose(result["mean_metallicity"], -0.25)


def test_gauss_hermite_moments_recover_a_skewed_and_peaked_losvd():
    velocity = np.linspace(-1500, 1500, 1201)
    w = velocity / 100
    shape = np.exp(-0.5 * w ** 2) * (1 + 0.1 * hermite(3, w) + 0.05 * hermite(4, w))
    result = maps(_rows(shape), _grid(velocity))
    # The moments' Gaussian is not the h1 = h2 = 0 one, so h3 and h4 come out near, not at,
    # the generating values; what matters is sign and size.
    assert 0.05 < result["h3"][0] < 0.15
    assert 0.0 < result["h4"][0] < 0.1
    assert abs(result["h5"][0]) < 0.05


def test_light_weighting_shifts_the_losvd_towards_the_bright_population():
    velocity = np.linspace(-1000, 1000, 201)
    grid = _grid(velocity)
    f = np.zeros((velocity.size, 2, 2))
    f[:, 0, 0] = np.exp(-0.5 * ((velocity - 200) / 50) ** 2)      # light 1 per mass
    f[:, 1, 0] = np.exp(-0.5 * ((velocity + 200) / 50) ** 2)      # light 2 per mass
    result = maps(f.reshape(1, -1), grid)
    np.testing.assert_allclose(result["mu_v"], (200 * 1 - 200 * 2) / 3, rtol=1e-6)


@pytest.mark.mpi
def test_galaxy_products_agree_on_one_and_two_ranks():
    text = ('[problem]\nkind = "galaxy"\nmesh = "meshes/galaxy/tiny.toml"\norder = 1\n'
            '[solver]\nkind = "cgls"\n')
    serial = build_job(PETSc.COMM_SELF, text)[1]
    distributed = build_job(PETSc.COMM_WORLD, text)[1]
    one = serial.derived(serial.truth)
    many = distributed.derived(distributed.truth)
    assert set(one) == set(many)
    assert one["mu_v"].shape == serial.grid_shape[:2]
    assert one["losvd"].shape == (9, serial.grid_shape[2])
    assert one["losvd_cube"].shape == serial.grid_shape[:3]
    indices = serial.derived_grid.losvd_indices()
    np.testing.assert_array_equal(
        one["losvd_cube"].reshape(-1, serial.grid_shape[2])[indices], one["losvd"])
    for name in one:
        scale = np.nanmax(np.abs(one[name]))
        np.testing.assert_allclose(many[name], one[name], rtol=1e-10, atol=1e-12 * scale,
                                   equal_nan=True)
    np.testing.assert_allclose(one["mu_v"], one["truth_mu_v"], equal_nan=True)


def test_plot_writes_figures_and_fits_maps(tmp_path):
    from hpcinv.apps.galaxy.derived import grid_products

    grid = _grid(np.linspace(-1000, 1000, 41))
    # A LOSVD shifted by 50 km/s from one sky point to the next: orientation shows.
    rows = np.vstack([_rows(np.exp(-0.5 * ((grid.velocity - 50 * k) / 100) ** 2), 1)
                      for k in range(9)])
    products = grid_products(grid)
    layout = Layout.default(PETSc.COMM_SELF, rows.shape[0])
    products.update(gathered_products(rows, grid, layout))
    products.update(gathered_products(rows * 2, grid, layout, "truth_"))
    result = tmp_path / "galaxy.h5"
    with h5py.File(result, "w") as handle:
        handle.attrs["problem_kind"] = "galaxy"
        for name, values in products.items():
            handle[f"derived/{name}"] = values
        for name in ("iteration", "relative_residual", "relative_error"):
            handle[f"history/{name}"] = np.arange(1.0, 4.0)
    run = hpcinv(["plot", result, "--out", tmp_path / "figures"])
    assert run.returncode == 0, run.stderr
    names = {p.name for p in (tmp_path / "figures").iterdir()}
    assert names == {"galaxy-convergence.png", "galaxy-maps.png", "galaxy-losvd.png",
                     "galaxy-maps.fits"}
    with fits.open(tmp_path / "figures" / "galaxy-maps.fits") as hdus:
        assert {"MU_V", "TRUTH_MU_V", "H5", "MEAN_AGE", "MASS", "TRUTH_MASS"} <= \
            {hdu.name for hdu in hdus}
        np.testing.assert_allclose(hdus["SIGMA_V"].data, products["sigma_v"].T)
        # Every spaxel's LOSVD, FITS order (v, y, x), velocity on axis 3.
        losvd = hdus["LOSVD"]
        np.testing.assert_allclose(losvd.data, products["losvd_cube"].transpose(2, 1, 0))
        x, y = 1, 2     # sky point 1 * 3 + 2 = 5: mean 250 km/s
        np.testing.assert_allclose(losvd.data[:, y, x], products["losvd_cube"][x, y])
        assert products["mu_v"][x, y] == pytest.approx(250, abs=1)
        assert grid.velocity[np.argmax(losvd.data[:, y, x])] == 250
        velocity = WCS(losvd.header).pixel_to_world_values(0, 0, np.arange(grid.velocity.size))[2]
        np.testing.assert_allclose(velocity, grid.velocity, rtol=1e-9)
        assert losvd.header["CUNIT3"] == "km/s" and "TRUTH_LOSVD" in hdus
        assert hdus["MU_V"].header["CRVAL1"] == -1.0


def test_plot_names_a_missing_result():
    run = hpcinv(["plot", "no-such-result.h5"])
    assert run.returncode == 2
    assert "no-such-result.h5" in run.stderr
