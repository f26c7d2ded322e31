"""``hpcinv plot`` on real results of small jobs run in-process: the convergence figure
(axis labels, the tau*delta line), solution images and line plots, the galaxy maps (sky axes,
units) and their FITS files (the cube's WCS, BUNIT, provenance, orientation).

The figures are checked as matplotlib objects, not as pixels."""
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import hpcinv
from hpcinv.apps.galaxy.figures import MAPS, losvd_figure, maps_figure, sky_axes
from hpcinv.apps.galaxy.mockcube import write_mock_cube
from hpcinv.core.io.results import read_result
from hpcinv.core.jobspec import parse_spec
from hpcinv.report.convergence import RESIDUAL_LABEL, TARGET_LABEL, convergence_figure
from hpcinv.report.figures import plot_result
from hpcinv.report.solution_figure import solution_figure
from helpers import ROOT

DECONVOLUTION = ('[problem]\nkind = "deconvolution"\n'
                 'mesh = "meshes/deconvolution/square-64.toml"\nsigma = 0.03\n'
                 'noise_level = 0.01\nseed = 2\n[solver]\nkind = "cgls"\ntau = 1.02\n')
GRAVITY = ('[problem]\nkind = "gravity"\nn = 120\n[solver]\nkind = "tikhonov"\n'
           'method = "lanczos"\nrule = "gcv"\ntrace = "ritz"\nepsilon = 1e-3\n')
GALAXY = ('[problem]\nkind = "galaxy"\nmesh = "{mesh}"\norder = 1\n{cube}'
          '[solver]\nkind = "pnkr"\ntau = 2.2\nmax_iterations = 4\n')
# The tiny mesh's 5 x 4 spaxels on the sky: 0.2" spaxels, RA growing to the left.
SKY = {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CUNIT1": "deg", "CUNIT2": "deg",
       "CRVAL1": 150.1, "CRVAL2": 2.2, "CRPIX1": 3.0, "CRPIX2": 2.5,
       "CDELT1": -0.2 / 3600, "CDELT2": 0.2 / 3600}
SPAXEL_ARCSEC = 0.2
# A bright spaxel of the cube, (x, y), made faint: where it lands on the maps shows their
# orientation (the mock galaxy is symmetric under x -> -x and y -> -y).
FAINT = (1, 2)


def _run(directory, name: str, job: str, output: str = "") -> str:
    path = directory / f"{name}.h5"
    outcome = hpcinv.run(f'{job}[output]\npath = "{path}"\n{output}', quiet=True)
    assert outcome.exit_status == 0
    return str(path)


def _celestial_cube(directory) -> str:
    """The tiny mesh's mock galaxy as a cube whose sky axes are RA/Dec (as MUSE writes), with
    the spaxel FAINT at 1% of its light."""
    path = directory / "celestial.fits"
    write_mock_cube(parse_spec(GALAXY.format(mesh=ROOT / "meshes/galaxy/tiny.toml", cube="")),
                    str(path))
    with fits.open(path, mode="update") as hdus:
        for name in ("DATA", "STAT", "NOISEFREE"):
            hdus[name].header.update(SKY)
        x, y = FAINT
        hdus["DATA"].data[:, y, x] *= 0.01
    return str(path)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    mesh = ROOT / "meshes/galaxy/tiny.toml"
    cube = _celestial_cube(directory)
    return {
        "deconvolution": _run(directory, "deconvolution", DECONVOLUTION),
        "no-truth": _run(directory, "no-truth", DECONVOLUTION, "store_data = false\n"),
        "gravity": _run(directory, "gravity", GRAVITY),
        "mock": _run(directory, "mock", GALAXY.format(mesh=mesh, cube="")),
        "cube": _run(directory, "cube", GALAXY.format(mesh=mesh, cube=f'cube = "{cube}"\n')),
        "cube_file": cube,
    }


def _lines(axis) -> dict:
    return {line.get_label(): line for line in axis.get_lines()}


def _colorbar_label(image) -> str:
    return image.colorbar.ax.get_ylabel()


def test_convergence_has_labelled_axes_and_the_discrepancy_target(results):
    import h5py

    result = read_result(results["deconvolution"])
    axis = convergence_figure(result).axes[0]
    assert axis.get_xlabel() == "iteration"
    # The residual shares the axis with the error against the truth.
    assert axis.get_ylabel() == "relative norm (dimensionless)"
    assert "deconvolution" in axis.get_title() and "cgls" in axis.get_title()
    lines = _lines(axis)
    assert lines["relative error ||x-x_true||/||x_true||"].get_ydata().size == \
        result.history["iteration"].size
    # tau*delta relative to ||b||, from the stored data itself.
    with h5py.File(results["deconvolution"], "r") as handle:
        expected = handle.attrs["discrepancy_target"] / np.linalg.norm(handle["data"][()])
    np.testing.assert_allclose(lines[TARGET_LABEL].get_ydata(), expected, rtol=1e-10)
    assert result.history["relative_residual"][-1] <= expected < \
        result.history["relative_residual"][0]


def test_pnkr_counts_loops_and_tikhonov_has_no_target(results):
    mock = read_result(results["mock"])
    axis = convergence_figure(mock).axes[0]
    assert axis.get_xlabel() == "loop" and "pnkr" in axis.get_title()
    history = mock.history
    relative = mock.attributes["discrepancy_target"] * history["relative_residual"][0] / \
        history["residual_norm"][0]
    np.testing.assert_allclose(_lines(axis)[TARGET_LABEL].get_ydata(), relative, rtol=1e-10)
    # Without a truth (an observed cube) the residual is the only curve and names the axis.
    axis = convergence_figure(read_result(results["cube"])).axes[0]
    assert axis.get_ylabel() == RESIDUAL_LABEL == "relative residual ||Ax-b||/||b||"
    assert set(_lines(axis)) == {RESIDUAL_LABEL, TARGET_LABEL}

    tikhonov = read_result(results["gravity"])
    assert not tikhonov.attributes["discrepancy_target"]
    axis = convergence_figure(tikhonov).axes[0]
    assert axis.get_xlabel() == "iteration"
    assert TARGET_LABEL not in _lines(axis)


def test_grid_solution_truth_and_error_images(results):
    result = read_result(results["deconvolution"])
    figure = solution_figure(result)
    axes = [axis for axis in figure.axes if axis.images]
    assert [axis.get_title() for axis in axes] == ["solution", "truth",
                                                   "error (solution - truth)"]
    solution = result.vector("solution").reshape(result.grid_shape)
    truth = result.vector("truth").reshape(result.grid_shape)
    for axis, expected in zip(axes, (solution, truth, solution - truth)):
        np.testing.assert_array_equal(axis.images[0].get_array(), expected)
        assert "grid axis 1" in axis.get_xlabel() and "grid axis 0" in axis.get_ylabel()
    assert [_colorbar_label(axis.images[0]) for axis in axes] == \
        ["value", "value", "solution - truth"]
    # Solution and truth on one colour scale, so that their intensities compare.
    assert axes[0].images[0].get_clim() == axes[1].images[0].get_clim()


def test_without_a_stored_truth_only_the_solution_is_shown(results):
    result = read_result(results["no-truth"])
    assert result.vector("truth") is None
    axes = [axis for axis in solution_figure(result).axes if axis.images]
    assert [axis.get_title() for axis in axes] == ["solution"]
    np.testing.assert_array_equal(axes[0].images[0].get_array(),
                                  result.vector("solution").reshape(64, 64))


def test_a_one_dimensional_solution_is_a_line_against_the_truth(results):
    result = read_result(results["gravity"])
    axis = solution_figure(result).axes[0]
    lines = _lines(axis)
    np.testing.assert_array_equal(lines["solution"].get_ydata(), result.vector("solution"))
    np.testing.assert_array_equal(lines["truth"].get_ydata(), result.vector("truth"))
    assert axis.get_xlabel() == "unknown index" and axis.get_ylabel() == "value"


def test_plot_writes_every_file(results, tmp_path):
    written = plot_result(results["deconvolution"], str(tmp_path / "a"))
    assert sorted(p.name for p in written) == ["deconvolution-convergence.png",
                                               "deconvolution-solution.png"]
    written = plot_result(results["mock"], str(tmp_path / "b"))
    # The galaxy's 5-D solution has no image of its own: the maps show it.
    assert sorted(p.name for p in written) == ["mock-convergence.png", "mock-losvd.png",
                                               "mock-maps.fits", "mock-maps.png"]
    for path in written:
        assert path.is_file() and path.stat().st_size > 0
    assert not list((tmp_path / "b").glob("*.partial"))


def test_mock_maps_show_spaxels_units_and_the_mass(results):
    result = read_result(results["mock"])
    figure = maps_figure(result.derived, sky_axes(result))
    panels = {axis.get_title(): axis for axis in figure.axes if axis.images}
    assert len(panels) == 3 * len(MAPS)           # truth, recovery, recovery - truth
    labels = {title: _colorbar_label(axis.images[0]) for title, axis in panels.items()}
    assert labels["mu_v: recovery"] == "mu_v [km/s]"
    assert labels["sigma_v: recovery - truth"] == "sigma_v difference [km/s]"
    assert labels["mean age: truth"] == "mean age [Gyr]"
    assert labels["mean [M/H]: recovery"] == "mean [M/H] [dex]"
    assert labels["h4: recovery"] == "h4 (dimensionless)"
    mass = panels["mass: recovery"]
    assert mass.get_xlabel() == "spaxel x" and mass.get_ylabel() == "spaxel y"
    # Drawn with x across: the stored [x, y] map transposed.
    np.testing.assert_array_equal(mass.images[0].get_array(), result.derived["mass"].T)
    np.testing.assert_array_equal(panels["mass: recovery - truth"].images[0].get_array(),
                                  (result.derived["mass"] - result.derived["truth_mass"]).T)
    losvd = losvd_figure(result.derived)
    assert all(axis.get_xlabel() == "v [km/s]" for axis in losvd.axes[6:])
    assert "LOSVD" in losvd.axes[0].get_ylabel()


def test_mock_fits_maps_have_linear_offset_axes(results, tmp_path):
    result = read_result(results["mock"])
    plot_result(results["mock"], str(tmp_path))
    with fits.open(tmp_path / "mock-maps.fits") as hdus:
        header = hdus["MU_V"].header
        assert (header["CTYPE1"], header["CTYPE2"]) == ("XOFFSET", "YOFFSET")
        assert header["CRVAL1"] == result.derived["sky_x"][0]
        np.testing.assert_allclose(WCS(header).pixel_to_world_values(4, 3),
                                   (result.derived["sky_x"][4], result.derived["sky_y"][3]))
        assert header["BUNIT"] == "km/s" and hdus["TRUTH_MEAN_AGE"].header["BUNIT"] == "Gyr"
        np.testing.assert_array_equal(hdus["TRUTH_MASS"].data, result.derived["truth_mass"].T)


def test_cube_maps_keep_the_cubes_celestial_wcs_and_provenance(results, tmp_path):
    result = read_result(results["cube"])
    sky = sky_axes(result)
    assert sky.spaxel_arcsec == pytest.approx((SPAXEL_ARCSEC, SPAXEL_ARCSEC))
    panel = next(axis for axis in maps_figure(result.derived, sky).axes
                 if axis.get_title() == "mu_v: recovery")
    assert panel.get_xlabel() == "x offset [arcsec]"
    assert panel.get_ylabel() == "y offset [arcsec]"
    # 5 x 4 spaxels of 0.2" about the centre.
    np.testing.assert_allclose(panel.images[0].get_extent(), [-0.5, 0.5, -0.4, 0.4])

    plot_result(results["cube"], str(tmp_path))
    with fits.open(results["cube_file"]) as cube, \
            fits.open(tmp_path / "cube-maps.fits") as hdus:
        cube_header, flux = cube["DATA"].header, cube["DATA"].data
        assert "TRUTH_MU_V" not in hdus
        for name in ("MASS", "MU_V", "SIGMA_V", "MEAN_AGE", "H3"):
            header = hdus[name].header
            assert (header["CTYPE1"], header["CTYPE2"]) == ("RA---TAN", "DEC--TAN")
            assert (header["CRVAL1"], header["CRVAL2"]) == (SKY["CRVAL1"], SKY["CRVAL2"])
            assert "BUNIT" in header
            # The map's pixels are the cube's spaxels: FITS order (ny, nx), the same sky.
            assert hdus[name].data.shape == flux.shape[1:]
            np.testing.assert_array_equal(hdus[name].data,
                                          result.derived[name.lower()].T)
            maps_wcs, cube_wcs = WCS(header), WCS(cube_header).celestial
            corner = maps_wcs.pixel_to_world(4, 3)
            assert corner.separation(cube_wcs.pixel_to_world(4, 3)).arcsec < 1e-9
        assert hdus["MU_V"].header["BUNIT"] == "km/s"
        assert hdus["MEAN_METALLICITY"].header["BUNIT"] == "dex"
        assert hdus["MASS"].header["BUNIT"] == ""
        # Oriented as the cube: the faint spaxel has little mass, its mirror images plenty.
        mass, (x, y) = hdus["MASS"].data, FAINT
        assert mass[y, x] < 0.1 * min(mass[y, -1 - x], mass[-1 - y, x])

        primary = hdus[0].header
        attributes = result.attributes
        assert primary["FINGERPR"] == attributes["fingerprint"]
        assert primary["RESULT"] == "cube.h5"
        assert (primary["PROBLEM"], primary["SOLVER"]) == ("galaxy", "pnkr")
        assert primary["HPCINV"] == attributes["versions"]["hpcinv"]
        history = [str(card) for card in primary["HISTORY"]]
        assert f"version petsc: {attributes['versions']['petsc']}" in history
        assert {'kind = "pnkr"', "max_iterations = 4"} <= set(history)   # the job spec
        assert any(results["cube_file"] in card for card in history)      # the data
