"""Galaxy datacubes in FITS: the MUSE-like writer and reader, rebinning onto the problem's
log-lambda grid, errors naming the key and file, cube-backed problems on 1 and 2 ranks
(data, delta_r, PNKR), and ``hpcinv mock``."""
import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from hpcinv.apps.galaxy.templates import log_grid, log_rebin
from hpcinv.core.jobspec import parse_spec
from hpcinv.apps.galaxy.datacube import (fits_to_rows, onto_problem_grid, read_cube_fits,
                                             rows_to_fits, write_cube_fits)
from hpcinv.apps.galaxy.kernel import observed_wavelengths
from hpcinv.apps.galaxy.mesh import load_galaxy_mesh
from hpcinv.apps.galaxy.mockcube import write_mock_cube
from hpcinv.core.errors import InputError
from hpcinv.core.petsc_env import initialize
from hpcinv.solvers import IterationControl
from helpers import ROOT, build_job, gather, hpcinv

PETSc = initialize()
WORLD = PETSc.COMM_WORLD
TINY = "meshes/galaxy/tiny.toml"
TINY_SKY = (5, 4)       # nx, ny: the tiny mesh's sky nodes (order 1)


def _job(order=1, noise=0.01, cube=None, variance=None, loops=3):
    files = (f'cube = "{cube}"\n' if cube else "") + \
            (f'variance = "{variance}"\n' if variance else "")
    return (f'[problem]\nkind = "galaxy"\nmesh = "{TINY}"\norder = {order}\n'
            f'noise_level = {noise}\n{files}[solver]\nkind = "pnkr"\nmax_iterations = {loops}\n')


def _tiny_wavelengths():
    return observed_wavelengths(load_galaxy_mesh(TINY))


def _header(start=480.0, step=0.125, unit="nm", ctype="AWAV") -> fits.Header:
    """A linear spectral WCS on axis 3 (MUSE writes AWAV, Angstrom, CD3_3)."""
    header = fits.Header()
    header.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 10.0,
                   "CRVAL2": -20.0, "CRPIX1": 1.0, "CRPIX2": 1.0, "CD1_1": -5.6e-5,
                   "CD2_2": 5.6e-5, "CTYPE3": ctype, "CUNIT3": unit, "CRPIX3": 1.0,
                   "CRVAL3": start, "CD3_3": step})
    return header


def _write_primary(path, array, header=None):
    fits.PrimaryHDU(array, header=header).writeto(path)
    return str(path)


def _smooth(wavelengths):
    return 1.0 + 0.3 * np.sin(wavelengths / 50.0)


def _smooth_mean(low, high):
    """The exact mean of ``_smooth`` over [low, high]."""
    return 1.0 - 0.3 * 50.0 * (np.cos(high / 50.0) - np.cos(low / 50.0)) / (high - low)


def test_fits_round_trip_keeps_cube_variance_and_wavelengths(tmp_path):
    wavelengths = log_grid(4800.0, 5700.0, 60.0)
    rng = np.random.default_rng(1)
    shape = (wavelengths.size, 4, 6)
    cube, variance, clean = rng.random(shape), rng.random(shape) + 0.1, rng.random(shape)
    sky_x, sky_y = np.linspace(-1, 1, 6), np.linspace(-0.5, 0.5, 4)
    path = write_cube_fits(tmp_path / "cube.fits", cube, variance, wavelengths, sky_x, sky_y,
                           noise_free=clean, cards={"OBJECT": "test"})
    assert not (tmp_path / "cube.fits.partial").exists()
    read = read_cube_fits(str(path))
    np.testing.assert_array_equal(read.flux, cube)
    np.testing.assert_array_equal(read.variance, variance)
    np.testing.assert_allclose(read.wavelengths, wavelengths, rtol=1e-14)
    with fits.open(path) as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "DATA", "STAT", "NOISEFREE"]
        assert hdus[0].data is None and hdus[0].header["OBJECT"] == "test"
        np.testing.assert_array_equal(hdus["NOISEFREE"].data, clean)
        wcs = WCS(hdus["DATA"].header)
    # The WAVE-LOG axis gives back exactly the grid written; the sky axes the mesh's points.
    spectral = wcs.spectral.pixel_to_world(np.arange(wavelengths.size)).to_value("Angstrom")
    np.testing.assert_allclose(spectral, wavelengths, rtol=1e-14)
    x = wcs.pixel_to_world_values(np.arange(6), np.zeros(6), np.zeros(6))[0]
    y = wcs.pixel_to_world_values(np.zeros(4), np.arange(4), np.zeros(4))[1]
    np.testing.assert_allclose(x, sky_x, atol=1e-15)
    np.testing.assert_allclose(y, sky_y, atol=1e-15)


def test_rows_and_fits_order_agree_with_the_problem_sky_order():
    rows = np.arange(5 * 4 * 3).reshape(20, 3)          # rows: x major, y fastest
    cube = rows_to_fits(rows, 5, 4)
    assert cube.shape == (3, 4, 5)
    assert cube[2, 3, 1] == rows[1 * 4 + 3, 2]           # (lambda, y, x)
    np.testing.assert_array_equal(fits_to_rows(cube), rows)


def test_linear_cube_over_a_wider_range_is_rebinned_onto_the_log_grid(tmp_path):
    """A primary-HDU cube linear in nm over 4800-5500 A (separate variance file): every
    spaxel is the smooth spectrum times the spaxel's number."""
    linear = np.arange(4800.0, 5500.0, 1.25)
    scale = np.arange(1.0, 21.0).reshape(4, 5)
    flux = _smooth(linear)[:, None, None] * scale
    cube = read_cube_fits(_write_primary(tmp_path / "linear.fits", flux, _header(480.0, 0.125)),
                          _write_primary(tmp_path / "var.fits", np.full(flux.shape, 0.01)))
    np.testing.assert_allclose(cube.wavelengths, linear, rtol=1e-13)   # nm -> Angstrom
    wavelengths = _tiny_wavelengths()
    observed = onto_problem_grid(cube, wavelengths, TINY_SKY, order=1)
    assert observed.flux.shape == (20, wavelengths.size)
    ratio = np.sqrt(wavelengths[1] / wavelengths[0])
    expected = _smooth_mean(wavelengths / ratio, wavelengths * ratio)
    # Input pixels (width h) are taken as constant: the two an output pixel (width w) cuts
    # put its mean off by at most |f'| h^2 / (4 w), plus the midpoint rule's h^2 |f''| / 24.
    h, w = linear[1] - linear[0], wavelengths[0] * (ratio - 1 / ratio)
    bound = 0.3 / 50 * h ** 2 / (4 * w) + h ** 2 * 0.3 / 50 ** 2 / 24
    assert bound < 2e-3
    spaxel_factors = fits_to_rows(scale[None])      # (N, 1), in the problem's row order
    np.testing.assert_allclose(observed.flux / spaxel_factors - expected, 0, atol=bound)
    # The same flux-conserving rebinning as the templates' log_rebin on a linear grid.
    np.testing.assert_allclose(observed.flux[0], log_rebin(linear, _smooth(linear), wavelengths),
                               rtol=1e-12)


def test_the_cubes_sky_wcs_goes_with_its_spectra_onto_the_problem_grid(tmp_path):
    """The sky axes' WCS (x, y: FITS axes 1 and 2) is kept for the result's maps; a cube
    without sky axes has none."""
    flux = np.ones((600, 4, 5))
    variance = str(_write_primary(tmp_path / "var.fits", np.full(flux.shape, 0.01)))
    cube = read_cube_fits(_write_primary(tmp_path / "sky.fits", flux, _header()), variance)
    observed = onto_problem_grid(cube, _tiny_wavelengths(), TINY_SKY, order=1)
    sky = WCS(fits.Header.fromstring(observed.sky_wcs))
    assert sky.naxis == 2 and list(sky.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    np.testing.assert_allclose(sky.wcs.crval, [10.0, -20.0])
    whole = WCS(_header())
    np.testing.assert_allclose(sky.pixel_to_world_values(4, 3),
                               whole.pixel_to_world_values(4, 3, 0)[:2], rtol=1e-12)
    spectral_only = _header()
    for key in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD2_2"):
        del spectral_only[key]
    bare = read_cube_fits(_write_primary(tmp_path / "bare.fits", flux, spectral_only), variance)
    assert bare.sky_wcs == ""


def test_rebinned_variance_is_the_variance_of_the_rebinned_noise(tmp_path):
    """Propagated variance against 4000 spaxels of pure noise: their spread after
    rebinning matches it (the mean ratio to 2%, about 10 standard errors)."""
    rng = np.random.default_rng(2)
    sky = (80, 50)
    linear = np.arange(4850.0, 5450.0, 1.3)
    sigma = 1.0 + 0.5 * np.cos(linear / 20.0)
    noise = rng.standard_normal((linear.size, sky[1], sky[0])) * sigma[:, None, None]
    cube = _write_primary(tmp_path / "noise.fits", noise,
                          _header(4850.0, 1.3, unit="Angstrom", ctype="WAVE"))
    variance = _write_primary(tmp_path / "var.fits",
                              np.broadcast_to(sigma[:, None, None] ** 2, noise.shape))
    observed = onto_problem_grid(read_cube_fits(cube, variance), _tiny_wavelengths(), sky, 0)
    ratio = observed.flux.var(axis=0) / observed.variance[0]
    assert abs(ratio.mean() - 1) < 0.02
    assert np.all(observed.variance == observed.variance[0])


def test_nans_and_bad_variance_outside_the_mesh_range_are_ignored(tmp_path):
    flux = np.ones((700, 4, 5))
    variance = np.ones_like(flux)
    flux[:20] = np.nan             # 4800-4825 A: below the tiny mesh's 4900 A
    variance[-20:] = 0.0
    path = tmp_path / "edges.fits"
    header = _header(4800.0, 1.0, unit="Angstrom")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flux, header, name="DATA"),
                  fits.ImageHDU(variance, header, name="VARIANCE")]).writeto(path)
    observed = onto_problem_grid(read_cube_fits(str(path)), _tiny_wavelengths(), TINY_SKY, 1)
    np.testing.assert_allclose(observed.flux, 1.0, rtol=1e-12)


def _bad_cubes(tmp):
    good = np.ones((700, 4, 5))
    header = _header(4800.0, 1.0, unit="Angstrom")

    def muse(name, flux=good, variance=good, flux_header=header, stat="STAT"):
        hdus = [fits.PrimaryHDU(), fits.ImageHDU(flux, flux_header, name="DATA")]
        if stat:
            hdus.append(fits.ImageHDU(variance, header, name=stat))
        fits.HDUList(hdus).writeto(tmp / name)
        return str(tmp / name)

    nan_flux, zero_variance = good.copy(), good.copy()
    nan_flux[350, 2, 3] = np.nan
    zero_variance[300, 1, 1] = 0.0
    no_wave = header.copy()
    no_wave["CTYPE3"] = "FREQ"
    no_wave["CUNIT3"] = "Hz"
    (tmp / "text.fits").write_text("not FITS")
    short = _header(4950.0, 1.0, unit="Angstrom")
    no_unit = header.copy()
    del no_unit["CUNIT3"]
    # The wavelengths along NAXIS1: a cube written from a (x, y, wavelength) numpy array.
    transposed = fits.Header({"CTYPE1": "AWAV", "CUNIT1": "Angstrom", "CRVAL1": 4800.0,
                              "CRPIX1": 1.0, "CDELT1": 1.0, "CTYPE2": "DEC--TAN",
                              "CTYPE3": "RA---TAN"})
    bare = fits.Header()
    return {
        "not FITS": (str(tmp / "text.fits"), None, "problem.cube", ["text.fits", "cannot read"]),
        "2-D image": (_write_primary(tmp / "image.fits", np.ones((4, 5))), None,
                      "problem.cube", ["image.fits[PRIMARY]", "not a 3-D cube"]),
        "no wavelength axis": (muse("freq.fits", flux_header=no_wave), None, "problem.cube",
                               ["freq.fits[DATA]", "not a wavelength axis", "FREQ"]),
        "no variance": (muse("nostat.fits", stat=None), None, "problem.cube",
                        ["nostat.fits", "STAT", "problem.variance"]),
        "variance shape": (muse("cube.fits"), _write_primary(tmp / "v.fits", np.ones((700, 4, 6))),
                           "problem.variance", ["v.fits[PRIMARY]", "6 x 4 x 700", "5 x 4 x 700",
                                                "cube.fits[DATA]"]),
        "NaN data": (muse("nan.fits", flux=nan_flux), None, "problem.cube",
                     ["nan.fits[DATA]", "non-finite data in 1 pixel(s)", "x = 4, y = 3",
                      "5150.00 A"]),
        "zero variance": (muse("zero.fits", variance=zero_variance), None, "problem.cube",
                          ["zero.fits[STAT]", "non-positive or non-finite variance in 1 pixel(s)",
                           "x = 2, y = 2"]),
        "separate zero variance": (muse("ok.fits"),
                                   _write_primary(tmp / "zv.fits", zero_variance),
                                   "problem.variance", ["zv.fits[PRIMARY]", "non-positive"]),
        "no CUNIT3": (muse("nounit.fits", flux_header=no_unit), None, "problem.cube",
                      ["nounit.fits[DATA]", "CUNIT3 is missing", "metres", "CRVAL3 = 4800.0",
                       "CUNIT3 = 'Angstrom'"]),
        "wavelengths along axis 1": (
            _write_primary(tmp / "xyl.fits", np.ones((5, 4, 700)), transposed), None,
            "problem.cube", ["xyl.fits[PRIMARY]", "CTYPE1 = 'AWAV', NAXIS1 = 700",
                             "CTYPE3 = 'RA---TAN', NAXIS3 = 5", "along axis 1",
                             "NAXIS3 = wavelength"]),
        "no WCS": (_write_primary(tmp / "bare.fits", good, bare), None, "problem.cube",
                   ["bare.fits[PRIMARY]", "CTYPE3 = '', NAXIS3 = 700",
                    "no axis is a wavelength axis", "CUNIT3"]),
        "too short": (muse("short.fits", flux_header=short), None, "problem.cube",
                      ["short.fits[DATA]", "4949.50-5649.50 A do not cover", "4900.00"]),
        "sky": (_write_primary(tmp / "sky.fits", np.ones((700, 6, 7)), header),
                _write_primary(tmp / "sky-var.fits", np.ones((700, 6, 7))), "problem.cube",
                ["sky.fits", "7 x 6 spaxels", "5 x 4 points", "nodes = [7, 6] (order 1)",
                 "[8, 7] (order 0)"]),
    }


def test_bad_cubes_are_input_errors_naming_the_key_and_file(tmp_path):
    wavelengths = _tiny_wavelengths()
    for name, (cube, variance, key, phrases) in _bad_cubes(tmp_path).items():
        with pytest.raises(InputError) as caught:
            onto_problem_grid(read_cube_fits(cube, variance), wavelengths, TINY_SKY, 1)
        assert caught.value.problems[0][0] == key, name
        for phrase in phrases:
            assert phrase in caught.value.format(), (name, phrase, caught.value.format())


def test_variance_without_a_cube_is_refused():
    from hpcinv.core.jobspec import PROBLEMS

    spec = parse_spec(_job(variance=ROOT / TINY))
    with pytest.raises(InputError, match="problem.variance.*needs problem.cube"):
        PROBLEMS.get("galaxy", "problem.kind").prepare(spec.problem)


@pytest.mark.mpi
@pytest.mark.parametrize("order", [0, 1])
def test_a_cube_on_the_problems_grid_gives_the_mocks_data(order, mpi_tmp_path):
    path = mpi_tmp_path / f"mock-{order}.fits"
    write_mock_cube(parse_spec(_job(order)), str(path))
    mock = build_job(WORLD, _job(order))[1]
    for comm in (WORLD, PETSc.COMM_SELF):
        problem = build_job(comm, _job(order, cube=path))[1]
        assert problem.truth is None and problem.attributes["cube"].endswith("[DATA]")
        np.testing.assert_allclose(gather(problem.data), gather(mock.data), rtol=1e-10)
        # delta_r from the variance: the expected N-norm of noise of that variance.
        with fits.open(path) as hdus:
            variance = fits_to_rows(hdus["STAT"].data)
        gram = problem.block_rows.data_gram
        np.testing.assert_allclose(problem.block_rows.equation_noise,
                                   np.sqrt(gram.diagonal() @ variance), rtol=1e-10)
        assert problem.noise_norm == pytest.approx(np.linalg.norm(np.sqrt(
            gram.diagonal() @ variance)), rel=1e-10)
    # The realised noise norm of the mock and the expected one are of one size.
    ratio = problem.block_rows.equation_noise / mock.block_rows.equation_noise
    assert 0.5 < np.median(ratio) < 2


@pytest.mark.mpi
def test_pnkr_runs_on_a_cube_backed_problem(mpi_tmp_path):
    path = mpi_tmp_path / "pnkr.fits"
    write_mock_cube(parse_spec(_job()), str(path))
    _, problem, solver = build_job(WORLD, _job(cube=path, loops=4))
    state = solver.initial_state()
    reason = solver.solve(state, IterationControl(WORLD, truth=problem.truth, max_iterations=4))
    assert reason == "max_iterations" and state.iteration == 4
    residuals = state.history.columns["residual_norm"]
    assert residuals[-1] < 0.5 * residuals[0]
    assert np.isnan(state.history.columns["relative_error"]).all()
    assert gather(state.vectors["x"]).min() >= 0.0


def test_hpcinv_mock_writes_the_cube_that_a_job_then_reads(tmp_path):
    mock_job = tmp_path / "mock.toml"
    mock_job.write_text(_job(order=1, noise=0.02).replace(TINY, str(ROOT / TINY)))
    cube = tmp_path / "out" / "cube.fits"
    result = hpcinv(["mock", mock_job, "--out", cube], ranks=2)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"hpcinv: wrote {cube}") == 1
    with fits.open(cube) as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "DATA", "STAT", "NOISEFREE"]
        data, stat, clean = (hdus[name].data for name in ("DATA", "STAT", "NOISEFREE"))
        assert data.shape == (_tiny_wavelengths().size, 4, 5)
        assert hdus[0].header["NOISELEV"] == 0.02
    np.testing.assert_allclose(stat, (0.02 * clean) ** 2, rtol=1e-12)
    assert 0.01 < np.linalg.norm(data - clean) / np.linalg.norm(clean) < 0.03

    cube_job = tmp_path / "cube.toml"
    cube_job.write_text(_job(cube=cube).replace(TINY, str(ROOT / TINY)))
    assert hpcinv(["validate", cube_job]).returncode == 0
    run = hpcinv(["run", cube_job, "--output", tmp_path / "r.h5", "--quiet"])
    assert run.returncode == 0, run.stderr
    summary = json.loads(hpcinv(["inspect", tmp_path / "r.h5", "--json"]).stdout)
    assert summary["problem_attributes"]["cube"] == f"{cube}[DATA]"
    assert "/data" in summary["datasets"] and "/truth" not in summary["datasets"]


def test_hpcinv_mock_and_validate_refuse_what_they_cannot_use(tmp_path):
    refused = hpcinv(["mock", "jobs/deconvolution-lsqr.toml", "--out", tmp_path / "c.fits"])
    assert refused.returncode == 2 and "problem.kind" in refused.stderr
    cube = tmp_path / "short.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((100, 4, 5)), _header(), "DATA"),
                  fits.ImageHDU(np.ones((100, 4, 5)), _header(), "STAT")]).writeto(cube)
    cube_job = tmp_path / "cube.toml"
    cube_job.write_text(_job(cube=cube).replace(TINY, str(ROOT / TINY)))
    refused = hpcinv(["mock", cube_job, "--out", tmp_path / "c.fits"])
    assert refused.returncode == 2 and "problem.cube" in refused.stderr
    invalid = hpcinv(["validate", cube_job])
    assert invalid.returncode == 2
    assert "problem.cube" in invalid.stderr and "do not cover" in invalid.stderr
