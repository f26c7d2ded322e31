"""What a galaxy problem fits: the instrumental resolution (templates convolved to the data's
FWHM), wavelength masks (good ranges, a cube's mask extension), on 1 and 2 ranks."""
import numpy as np
import pytest
from astropy.io import fits

from hpcinv.apps.galaxy.datacube import onto_problem_grid, read_cube_fits
from hpcinv.apps.galaxy.kernel import build_kernel, library_for, observed_wavelengths, theta_for
from hpcinv.apps.galaxy.mesh import load_galaxy_mesh
from hpcinv.apps.galaxy.mockcube import write_mock_cube
from hpcinv.apps.galaxy.templates import FWHM_PER_SIGMA, TemplateLibrary, at_resolution
from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import PROBLEMS, parse_spec
from hpcinv.core.petsc_env import initialize
from helpers import ROOT, build_job, gather

PETSc = initialize()
WORLD = PETSc.COMM_WORLD
TINY = ROOT / "meshes/galaxy/tiny.toml"
TINY_SKY = (5, 4)
# Two rest-frame windows of the tiny mesh's 4900-5400 A, leaving out the Mg b region.
GOOD = [[4900.0, 5100.0], [5250.0, 5400.0]]


def _job(extra="", noise=0.01):
    return (f'[problem]\nkind = "galaxy"\nmesh = "{TINY}"\nnoise_level = {noise}\n{extra}'
            f'[solver]\nkind = "pnkr"\nmax_iterations = 2\n')


def _line_library(fwhm=2.51, step=0.25):
    """One template: a flat continuum with a Gaussian absorption line of the library's FWHM
    at 5000 A (as an unresolved line looks in a library of that resolution)."""
    wavelength = np.arange(4800.0, 5200.0, step)
    sigma = fwhm / FWHM_PER_SIGMA
    line = 0.5 * np.exp(-0.5 * ((wavelength - 5000.0) / sigma) ** 2)
    return TemplateLibrary(wavelength, (1.0 - line)[None, None], np.array([0.0]),
                           np.array([1.0]), fwhm, "line")


def _line_moments(library):
    depth = 1.0 - library.spectra[0, 0]
    weights = depth / depth.sum()
    centre = weights @ library.wavelength
    return depth.sum(), centre, np.sqrt(weights @ (library.wavelength - centre) ** 2)


def test_templates_convolved_to_the_data_resolution_have_its_line_width():
    library = _line_library()
    convolved = at_resolution(library, 6.0)
    assert convolved.fwhm == 6.0
    area, centre, sigma = _line_moments(convolved)
    area0, centre0, sigma0 = _line_moments(library)
    # Gaussian widths add in quadrature: the line's sigma becomes the data's, its
    # equivalent width and centre stay.
    assert sigma0 == pytest.approx(2.51 / FWHM_PER_SIGMA, rel=1e-6)
    assert sigma == pytest.approx(6.0 / FWHM_PER_SIGMA, rel=1e-4)
    assert area == pytest.approx(area0, rel=1e-9)
    assert centre == pytest.approx(centre0, abs=1e-9)
    assert at_resolution(library, 2.51) is library
    assert at_resolution(library, 2.51 * 1.3 / 1.3) is library


def test_a_resolution_barely_above_the_templates_broadens_by_the_quadrature_difference():
    """sigma of 0.3 pixels: a sampled Gaussian kernel would add a sixth of the variance."""
    library = _line_library(step=0.9)
    fwhm = np.sqrt(2.51 ** 2 + (0.3 * 0.9 * FWHM_PER_SIGMA) ** 2)
    _, _, sigma0 = _line_moments(library)
    _, _, sigma = _line_moments(at_resolution(library, fwhm))
    assert sigma ** 2 - sigma0 ** 2 == pytest.approx((0.3 * 0.9) ** 2, rel=1e-3)


def test_a_resolution_the_templates_cannot_reach_is_refused():
    with pytest.raises(InputError, match="problem.instrumental_fwhm.*finer than the templates"):
        at_resolution(_line_library(), 2.0)
    unknown = _line_library()
    unknown.fwhm = float("nan")
    with pytest.raises(InputError, match="do not state their resolution"):
        at_resolution(unknown, 3.0)


def test_the_instrumental_fwhm_convolves_the_kernels_templates():
    mesh = load_galaxy_mesh(str(TINY))
    library = library_for(mesh)
    theta = theta_for(mesh, library, 1)
    sharp = build_kernel(mesh, library, theta)[0]
    broad = build_kernel(mesh, at_resolution(library, 5.0), theta)[0]
    problem = build_job(PETSc.COMM_SELF, _job("instrumental_fwhm = 5.0\n"))[1]
    np.testing.assert_allclose(problem.operator.kernel, broad, rtol=1e-12)
    assert problem.attributes["instrumental_fwhm"] == 5.0
    assert np.abs(broad - sharp).max() > 0.01 * np.abs(sharp).max()


def test_a_redshifted_cubes_fwhm_is_narrower_in_the_rest_frame(tmp_path):
    """An observed FWHM of 5.5 A at z = 0.1 is 5 A in the templates' frame."""
    from hpcinv.apps.galaxy.problem import prepare

    path = tmp_path / "cube.fits"
    write_mock_cube(parse_spec(_job()), str(path))
    values = parse_spec(_job(f'cube = "{path}"\ninstrumental_fwhm = 5.5\n')).problem
    values["redshift"] = 0.1
    with pytest.raises(InputError, match="do not cover"):   # the cube is rest-frame
        prepare(values)
    with fits.open(path, mode="update") as hdus:
        for name in ("DATA", "STAT", "NOISEFREE"):
            hdus[name].header["CRVAL3"] *= 1.1
            hdus[name].header["CDELT3"] *= 1.1
    prepared = prepare(values)
    assert prepared.library.fwhm == pytest.approx(5.0, rel=1e-12)


@pytest.mark.mpi
def test_good_wavelengths_fit_only_those_pixels_with_the_same_data():
    whole = build_job(PETSc.COMM_SELF, _job())[1]
    wavelengths = observed_wavelengths(load_galaxy_mesh(str(TINY)))
    inside = ((wavelengths >= 4900) & (wavelengths <= 5100)) | \
             ((wavelengths >= 5250) & (wavelengths <= 5400))
    assert 0 < inside.sum() < wavelengths.size
    masked = build_job(WORLD, _job(f"good_wavelengths = {GOOD}\n"))[1]
    assert np.array_equal(masked.fitted, inside)
    np.testing.assert_array_equal(masked.wavelengths, wavelengths[inside])
    np.testing.assert_array_equal(masked.operator.kernel, whole.operator.kernel[inside])
    # The mock draws its noise for every pixel: the fitted pixels' data and delta_r are
    # those of the unmasked mock.
    rows = whole.operator.spatial_layout.size
    np.testing.assert_allclose(gather(masked.data).reshape(rows, -1),
                               gather(whole.data).reshape(rows, -1)[:, inside], rtol=1e-14)
    np.testing.assert_allclose(masked.block_rows.equation_noise,
                               whole.block_rows.equation_noise[inside], rtol=1e-14)
    assert masked.attributes["fitted_pixels"] == inside.sum()


def _edited_mock_cube(path, edit):
    """The tiny mock's cube, ``edit(hdus)`` applied by rank 0 (collective)."""
    write_mock_cube(parse_spec(_job()), str(path))
    mpi = WORLD.tompi4py()
    if mpi.rank == 0:
        with fits.open(path, mode="update") as hdus:
            edit(hdus)
    mpi.Barrier()
    return path


def _masked_cube(path, mask):
    """The tiny mock's cube with a MASK extension and NaN flux wherever the mask is set."""
    def masked(hdus):
        hdus["DATA"].data[mask != 0] = np.nan    # whole planes for a 1-D mask
        hdus.append(fits.ImageHDU(mask.astype(np.uint8), name="MASK"))

    return _edited_mock_cube(path, masked)


@pytest.mark.mpi
@pytest.mark.parametrize("shape", ["per-wavelength", "cube"])
def test_a_cubes_mask_extension_leaves_out_its_wavelengths(shape, mpi_tmp_path):
    pixels = observed_wavelengths(load_galaxy_mesh(str(TINY))).size
    bad = np.zeros(pixels, dtype=bool)
    bad[[3, 40, 41]] = True
    if shape == "per-wavelength":
        mask = bad.astype(np.uint8)
    else:   # one spaxel's pixel is enough to leave its wavelength out for all spaxels
        mask = np.zeros((pixels, TINY_SKY[1], TINY_SKY[0]), dtype=np.uint8)
        mask[3, 0, 0] = mask[40, 2, 4] = mask[41, 3, 1] = 4
    path = _masked_cube(mpi_tmp_path / f"masked-{shape}.fits", mask)
    whole = build_job(PETSc.COMM_SELF, _job())[1]     # the mock the cube was written from
    masked = build_job(WORLD, _job(f'cube = "{path}"\nmask_extension = "MASK"\n'))[1]
    assert np.array_equal(masked.fitted, ~bad)
    rows = whole.operator.spatial_layout.size
    np.testing.assert_allclose(gather(masked.data).reshape(rows, -1),
                               gather(whole.data).reshape(rows, -1)[:, ~bad], rtol=1e-10)
    # Without the mask the NaNs it covers are an error naming the cube.
    with pytest.raises(InputError, match="non-finite data"):
        build_job(PETSc.COMM_SELF, _job(f'cube = "{path}"\n'))


def test_a_bad_pixel_of_a_rebinned_cube_masks_the_pixels_it_falls_in(tmp_path):
    linear = np.arange(4800.0, 5500.0, 1.25)
    flux = np.ones((linear.size, TINY_SKY[1], TINY_SKY[0]))
    bad_pixel = 200
    flux[bad_pixel] = np.nan
    header = fits.Header({"CTYPE3": "AWAV", "CUNIT3": "Angstrom", "CRPIX3": 1.0,
                          "CRVAL3": linear[0], "CDELT3": 1.25})
    mask = np.zeros(linear.size, dtype=np.int16)
    mask[bad_pixel] = 1
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flux, header, name="DATA"),
                  fits.ImageHDU(np.ones_like(flux), header, name="STAT"),
                  fits.ImageHDU(mask, name="DQ")]).writeto(tmp_path / "linear.fits")
    wavelengths = observed_wavelengths(load_galaxy_mesh(str(TINY)))
    cube = read_cube_fits(str(tmp_path / "linear.fits"), mask_extension="DQ")
    observed = onto_problem_grid(cube, wavelengths, TINY_SKY, 1)
    ratio = np.sqrt(wavelengths[1] / wavelengths[0])
    low, high = linear[bad_pixel] - 0.625, linear[bad_pixel] + 0.625
    overlapping = (wavelengths * ratio > low) & (wavelengths / ratio < high)
    assert 1 <= overlapping.sum() <= 2
    assert np.array_equal(observed.bad, overlapping)
    np.testing.assert_allclose(observed.flux[:, ~overlapping], 1.0, rtol=1e-12)


def _prepare(extra):
    return PROBLEMS.get("galaxy", "problem.kind").prepare(parse_spec(_job(extra)).problem)


def _refuses_a_missing_then_misshapen_extension(path, key, name, shape, misshapen):
    job = f'cube = "{path}"\n{key} = "{name}"\n'
    with pytest.raises(InputError, match=rf"problem.{key}.*no extension '{name}'.*STAT"):
        _prepare(job)
    with fits.open(path, mode="update") as hdus:
        hdus.append(fits.ImageHDU(np.zeros(shape, dtype=np.uint8), name=name))
    with pytest.raises(InputError, match=rf"problem.{key}.*{misshapen}"):
        _prepare(job)


def test_bad_masks_are_input_errors_naming_the_key(tmp_path):
    with pytest.raises(InputError, match=r"problem.good_wavelengths.*entry 0"):
        _prepare("good_wavelengths = [[5100.0, 5000.0]]\n")
    with pytest.raises(InputError, match=r"problem.good_wavelengths.*leaves 0 of the mesh"):
        _prepare("good_wavelengths = [[6000.0, 6100.0]]\n")
    with pytest.raises(InputError, match="problem.mask_extension.*needs problem.cube"):
        _prepare('mask_extension = "DQ"\n')
    path = tmp_path / "cube.fits"
    write_mock_cube(parse_spec(_job()), str(path))
    _refuses_a_missing_then_misshapen_extension(path, "mask_extension", "DQ", (3, 4),
                                                r"\[DQ\].*4 x 3")
    with pytest.raises(InputError, match="problem.good_wavelengths.*mask the job"):
        write_mock_cube(parse_spec(_job(f"good_wavelengths = {GOOD}\n")),
                        str(tmp_path / "mock.fits"))


def test_ppxf_sees_the_same_fitted_pixels_through_goodpixels():
    from hpcinv.apps.galaxy.ppxf_fit import on_every_pixel

    fitted = np.array([True, False, True, True, False])
    spectra = np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]])
    noise = np.full_like(spectra, 0.1)
    full, full_noise, options = on_every_pixel(spectra, noise, fitted, {"moments": 6})
    np.testing.assert_array_equal(full[:, fitted], spectra)
    np.testing.assert_array_equal(full[:, ~fitted], [[2.0, 2.0], [6.0, 6.0]])
    np.testing.assert_array_equal(full_noise[:, fitted], noise)
    np.testing.assert_array_equal(options["goodpixels"], [0, 2, 3])
    assert options["moments"] == 6
    unmasked = on_every_pixel(spectra, noise, np.ones(3, dtype=bool), {"moments": 6})
    assert unmasked[0] is spectra and "goodpixels" not in unmasked[2]


def _cube_with_left_out_spaxels(path):
    """The tiny mock's cube with spaxel (x, y) = (0, 0) all NaN, (4, 3) flagged in a SPAXELS
    extension, and (2, 1) 100 times noisier (S/N about 1 instead of 100)."""
    def left_out(hdus):
        hdus["DATA"].data[:, 0, 0] = np.nan
        hdus["STAT"].data[:, 1, 2] *= 1e4
        flags = np.zeros((TINY_SKY[1], TINY_SKY[0]), dtype=np.int32)
        flags[3, 4] = 1
        hdus.append(fits.ImageHDU(flags, name="SPAXELS"))

    return _edited_mock_cube(path, left_out)


def _sky_row(x, y):
    return x * TINY_SKY[1] + y      # the problem's rows: C order over (x, y)


@pytest.mark.mpi
def test_left_out_spaxels_are_no_equations_for_any_solver(mpi_tmp_path):
    from hpcinv.linalg import dot_test
    from hpcinv.solvers import IterationControl

    path = _cube_with_left_out_spaxels(mpi_tmp_path / "spaxels.fits")
    mock = build_job(PETSc.COMM_SELF, _job())[1]
    job = _job(f'cube = "{path}"\nspaxel_mask = "SPAXELS"\nmin_snr = 10.0\n')
    left_out = [_sky_row(0, 0), _sky_row(4, 3), _sky_row(2, 1)]
    results = {}
    for comm in (PETSc.COMM_SELF, WORLD):
        _, problem, solver = build_job(comm, job)
        assert problem.attributes["left_out_spaxels"] == 3
        fitted = problem.block_rows.fitted_spaxels
        assert np.flatnonzero(~fitted).tolist() == sorted(left_out)
        rows = problem.operator.spatial_layout.size
        data = gather(problem.data).reshape(rows, -1)
        np.testing.assert_allclose(data[fitted], gather(mock.data).reshape(rows, -1)[fitted],
                                   rtol=1e-10)
        assert not data[~fitted].any()
        gram, full = problem.block_rows.data_gram, mock.block_rows.data_gram
        assert abs(gram[~fitted]).sum() == 0 and abs(gram[:, ~fitted]).sum() == 0
        np.testing.assert_array_equal(gram[fitted][:, fitted].toarray(),
                                      full[fitted][:, fitted].toarray())
        # D H: a Krylov solver sees no equation at a left-out spaxel either.
        assert dot_test(problem.operator, seed=3) < 1e-13
        ones, image = problem.operator.create_vecs()
        ones.set(1.0)
        problem.operator.mult(ones, image)
        image = gather(image).reshape(rows, -1)
        assert not image[~fitted].any() and image[fitted].all()
        state = solver.initial_state()
        solver.solve(state, IterationControl(comm, max_iterations=2))
        coefficients = gather(state.vectors["x"]).reshape(rows, -1)
        assert not coefficients[~fitted].any() and coefficients[fitted].any()
        derived = problem.derived(state.vectors["x"])
        assert np.isnan(derived["mu_v"][0, 0]) and np.isnan(derived["losvd_cube"][4, 3]).all()
        assert np.isfinite(derived["mu_v"][1, 1])
        results[comm is WORLD] = coefficients
    np.testing.assert_allclose(results[True], results[False], rtol=1e-12, atol=1e-14)


def test_bad_spaxel_masks_are_input_errors_naming_the_key(tmp_path):
    path = tmp_path / "cube.fits"
    write_mock_cube(parse_spec(_job()), str(path))
    _refuses_a_missing_then_misshapen_extension(path, "spaxel_mask", "SPAXELS", (5, 4),
                                                r"4 x 5.*5 x 4 spaxels")
    with pytest.raises(InputError, match=r"problem.min_snr.*leaves no spaxel.*best has S/N"):
        _prepare(f'cube = "{path}"\nmin_snr = 1e6\n')
    with pytest.raises(InputError, match="problem.min_snr.*needs problem.cube"):
        _prepare("min_snr = 3.0\n")


def test_nans_outside_the_good_wavelengths_are_never_read(tmp_path):
    wavelengths = observed_wavelengths(load_galaxy_mesh(str(TINY)))
    gap = int(np.argmin(np.abs(wavelengths - 5180.0)))       # inside GOOD's gap

    def notch(hdus):
        hdus["DATA"].data[gap] = np.nan

    path = _edited_mock_cube(tmp_path / "notch.fits", notch)
    with pytest.raises(InputError, match="non-finite data"):
        _prepare(f'cube = "{path}"\n')
    prepared = _prepare(f'cube = "{path}"\ngood_wavelengths = {GOOD}\n')
    assert not prepared.fitted[gap] and prepared.fitted.sum() > 0
    assert not prepared.cube.bad_spaxels.any()


def test_a_pixel_mask_of_a_left_out_spaxel_masks_no_wavelength(tmp_path):
    """Outside the field a MUSE mask flags every pixel of a spaxel: that spaxel is left out,
    and its flags do not take any wavelength from the others."""
    def outside_the_field(hdus):
        mask = np.zeros(hdus["DATA"].data.shape, dtype=np.uint8)
        mask[:, 0, 0] = 1
        mask[7, 2, 3] = 1          # one bad pixel in a fitted spaxel
        hdus["DATA"].data[:, 0, 0] = np.nan
        hdus.append(fits.ImageHDU(mask, name="DQ"))

    path = _edited_mock_cube(tmp_path / "field.fits", outside_the_field)
    prepared = _prepare(f'cube = "{path}"\nmask_extension = "DQ"\n')
    assert np.flatnonzero(prepared.cube.bad_spaxels).tolist() == [_sky_row(0, 0)]
    assert np.flatnonzero(~prepared.fitted).tolist() == [7]


class _RecordingPPXF:
    """Stands in for pPXF (a peer, installed only on use): records what it is given, finds
    which sky row it was handed by its noise / flux ratio (``ratios``, every row's, over the
    fitted pixels) and fits V = -300 + 20 row km/s, sigma = 120 km/s, equal weights, so a
    row sent to the wrong map pixel shows."""
    calls, ratios = [], None

    def __init__(self, templates, spectrum, noise, **options):
        good = options["goodpixels"]
        ratio = noise[good] / spectrum[good]
        row = int(np.nanargmin(np.abs(type(self).ratios - ratio).max(axis=1)))
        matched = np.abs(type(self).ratios[row] - ratio).max() <= 1e-10 * ratio.max()
        type(self).calls.append((row, matched))
        self.sol = np.array([-300.0 + 20 * row, 120.0, 0.0, 0.0, 0.0, 0.0])
        self.weights = np.ones(int(np.prod(templates.shape[1:])))


@pytest.mark.mpi
def test_a_cube_run_gets_a_ppxf_baseline_on_its_fitted_spaxels_and_pixels(mpi_tmp_path):
    import hpcinv
    from hpcinv.apps.galaxy import reproduce_pnkr_vs_ppxf as experiment

    path = _cube_with_left_out_spaxels(mpi_tmp_path / "baseline.fits")
    job = _job(f'cube = "{path}"\nspaxel_mask = "SPAXELS"\ngood_wavelengths = {GOOD}\n')
    result = str(mpi_tmp_path / "baseline.h5")
    assert hpcinv.run(parse_spec(job), output=result, overwrite=True).result_path == result
    cube = _prepare(f'cube = "{path}"\nspaxel_mask = "SPAXELS"\n'
                    f'good_wavelengths = {GOOD}\n').cube
    with np.errstate(divide="ignore", invalid="ignore"):     # the all-NaN spaxel
        _RecordingPPXF.ratios = np.sqrt(cube.variance) / cube.flux
    _RecordingPPXF.calls = []
    report = experiment._compare(_RecordingPPXF, [(None, None, result)], 0.0, WORLD)
    mpi = WORLD.tompi4py()
    calls = sum(mpi.allgather(_RecordingPPXF.calls), [])
    # the 18 spaxels the run fitted, each once, with its own noise on the fitted pixels
    left_out = {_sky_row(0, 0), _sky_row(4, 3)}
    assert sorted(row for row, _ in calls) == sorted(set(range(20)) - left_out)
    assert all(matched for _, matched in calls)
    if mpi.rank == 0:
        summary = report["cube_summaries"][0]
        # compared where pPXF finds 1% of its peak mass: fitted spaxels only
        assert 0 < summary["spaxels"] <= 18 and np.isfinite(summary["maps"]["mu_v"])
        maps = fits.open(report["ppxf"][0]["maps_fits"])
        mu_v = maps["MU_V"].data                      # (ny, nx), FITS image order
        for x in range(TINY_SKY[0]):
            for y in range(TINY_SKY[1]):
                if _sky_row(x, y) in left_out:
                    assert np.isnan(mu_v[y, x])
                else:
                    assert mu_v[y, x] == pytest.approx(-300 + 20 * _sky_row(x, y), abs=8.0)
        assert maps["LOSVD"].data.shape[1:] == (TINY_SKY[1], TINY_SKY[0])
        assert maps[0].header["SOLVER"] == "ppxf" and maps[0].header["ORIGIN"] == "pnkr-vs-ppxf"
        table = experiment.format_cube_table(report)
        assert "hpcinv - pPXF" in table and "mu_v" in table
