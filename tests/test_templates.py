"""SSP template libraries: MILES from pPXF's sdist (fetched by `make setup`), user
directories, log-rebinning, the synthetic set."""
import shutil

import numpy as np
import pytest

from hpcinv.apps.galaxy.templates import (SPEED_OF_LIGHT, fetch_miles, load_library, log_grid,
                                 log_rebin, synthetic_library)
from hpcinv.core.errors import InputError


@pytest.fixture(scope="module")
def miles_dir():
    return fetch_miles(quiet=True)   # idempotent: verified against its manifest


def test_miles_library_has_the_documented_grid(miles_dir):
    library = load_library(miles_dir)
    assert library.spectra.shape == (6, 25, 4300)
    np.testing.assert_allclose(library.metallicities, [-1.71, -1.31, -0.71, -0.40, 0.0, 0.22])
    assert library.ages[0] == pytest.approx(0.0631) and library.ages[-1] == pytest.approx(15.8489)
    assert library.wavelength[0] == 3540.5 and library.wavelength[-1] == pytest.approx(7409.6)
    assert library.fwhm == 2.51
    assert np.all(library.spectra > 0)


def test_log_grid_of_the_paper_has_687_pixels():
    grid = log_grid(4800.0, 5700.0, 75.0)
    assert grid.size == 687
    steps = np.diff(np.log(grid)) * SPEED_OF_LIGHT
    np.testing.assert_allclose(steps, 75.0, rtol=1e-10)


def test_log_rebin_conserves_flux_and_constants():
    library = synthetic_library()
    grid = log_grid(4700.0, 5800.0, 30.0)
    rebinned = log_rebin(library.wavelength, library.spectra, grid)
    assert rebinned.shape == library.spectra.shape[:2] + (grid.size,)
    ratio = np.sqrt(grid[1] / grid[0])
    widths = grid * ratio - grid / ratio
    inside = (library.wavelength > grid[0] / ratio) & (library.wavelength < grid[-1] * ratio)
    step = library.wavelength[1] - library.wavelength[0]
    np.testing.assert_allclose((rebinned * widths).sum(-1),
                               (library.spectra[..., inside] * step).sum(-1), rtol=2e-3)
    flat = log_rebin(library.wavelength, np.ones_like(library.wavelength), grid)
    np.testing.assert_allclose(flat, 1.0, rtol=1e-12)


def test_log_rebin_refuses_to_extrapolate():
    library = synthetic_library()
    with pytest.raises(InputError, match="outside"):
        log_rebin(library.wavelength, library.spectra, log_grid(4000.0, 5000.0, 75.0))


def test_user_directory_with_an_incomplete_grid_is_rejected(miles_dir, tmp_path):
    for path in [*miles_dir.glob("*Zm0.40T*.fits"), *miles_dir.glob("*Zm0.71T00.0631*.fits")]:
        shutil.copy(path, tmp_path)
    with pytest.raises(InputError, match="incomplete"):
        load_library(tmp_path)
    with pytest.raises(InputError, match="no MILES"):
        load_library(tmp_path / "empty")


def test_user_directory_subset_loads(miles_dir, tmp_path):
    for path in miles_dir.glob("*Zp0.00T0[0-1]*.fits"):
        shutil.copy(path, tmp_path)
    library = load_library(tmp_path)
    assert library.spectra.shape[0] == 1 and library.metallicities[0] == 0.0


def test_synthetic_library_depends_on_age_and_metallicity():
    library = synthetic_library(3, 4)
    assert library.spectra.shape[:2] == (3, 4)
    assert np.ptp(library.spectra[:, 0], axis=0).max() > 0.01
    assert np.ptp(library.spectra[0, :], axis=0).max() > 0.01
