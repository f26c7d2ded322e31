"""``hpcinv mesh from-cube``: a mesh on a datacube's own pixels, so that reading the cube
moves no flux between pixels; linear cubes get a mesh of as many ln(lambda) pixels."""
import numpy as np
import pytest
from astropy.io import fits

from hpcinv.apps.galaxy.datacube import (fits_to_rows, onto_problem_grid, read_cube_fits,
                                         read_cube_grid, write_cube_fits)
from hpcinv.apps.galaxy.kernel import observed_wavelengths
from hpcinv.apps.galaxy.mesh import base_mesh, load_galaxy_mesh
from hpcinv.apps.galaxy.mesh_from_cube import mesh_for_cube, write_mesh_for_cube
from hpcinv.apps.galaxy.templates import SPEED_OF_LIGHT, log_grid, synthetic_library
from hpcinv.core.errors import InputError
from helpers import hpcinv

BASE = dict(velocity_nodes=11, velocity_range=(-500.0, 500.0), library="synthetic",
            metallicity_stride=1, age_stride=1)


def _log_cube(path, start, stop, velscale, shape=(4, 5), seed=0):
    wavelengths = log_grid(start, stop, velscale)
    rng = np.random.default_rng(seed)
    flux = rng.random((wavelengths.size, *shape))
    variance = rng.random(flux.shape) + 0.5
    write_cube_fits(path, flux, variance, wavelengths, np.arange(shape[1], dtype=float),
                    np.arange(shape[0], dtype=float))
    return wavelengths, flux, variance


def test_a_log_cube_is_read_on_its_own_pixels_without_rebinning(tmp_path):
    # An odd start and step, and more wavelengths than the synthetic templates reach.
    wavelengths, flux, variance = _log_cube(tmp_path / "cube.fits", 4503.7, 6012.0, 57.3)
    out = tmp_path / "mesh.toml"
    mesh, aligned = write_mesh_for_cube(str(tmp_path / "cube.fits"), str(out), base_mesh(**BASE))
    assert aligned and not (tmp_path / "mesh.toml.partial").exists()
    read = load_galaxy_mesh(str(out))
    assert read.omega_nodes == (5, 4) and read.velocity_nodes == 11
    assert read.velscale == pytest.approx(57.3, rel=1e-9)
    centres = observed_wavelengths(read)
    first = int(np.argmin(np.abs(wavelengths - centres[0])))
    np.testing.assert_allclose(centres, wavelengths[first:first + centres.size], rtol=1e-12)
    # Trimmed to where the templates cover every Doppler shift of the velocity range.
    library = synthetic_library()
    assert centres[0] > library.wavelength[0] * (1 + 500.0 / SPEED_OF_LIGHT)
    assert centres[-1] < library.wavelength[-1] * (1 - 500.0 / SPEED_OF_LIGHT)
    assert 0 < first and first + centres.size < wavelengths.size
    observed = onto_problem_grid(read_cube_fits(str(tmp_path / "cube.fits")), centres,
                                 read.omega_nodes, 1)
    used = slice(first, first + centres.size)
    assert np.array_equal(observed.flux, fits_to_rows(flux[used]))
    assert np.array_equal(observed.variance, fits_to_rows(variance[used]))


def test_a_mesh_off_the_cubes_pixels_rebins(tmp_path):
    """The same cube on a mesh a third of a pixel off: every pixel mixes two."""
    wavelengths, flux, _ = _log_cube(tmp_path / "cube.fits", 4800.0, 5600.0, 60.0)
    step = 60.0 / SPEED_OF_LIGHT
    shifted = log_grid(4800.0 * np.exp(10.33 * step), 4800.0 * np.exp(200.33 * step), 60.0)
    observed = onto_problem_grid(read_cube_fits(str(tmp_path / "cube.fits")), shifted, (5, 4), 1)
    mixed = fits_to_rows(0.67 * flux[10:200] + 0.33 * flux[11:201])
    # (the fractions are of each pixel's width in lambda, 0.67 and 0.33 to ~1e-4)
    np.testing.assert_allclose(observed.flux, mixed, rtol=1e-3)


def test_a_linear_cube_gets_as_many_log_pixels_and_is_rebinned(tmp_path):
    header = fits.Header({"CTYPE3": "AWAV", "CUNIT3": "Angstrom", "CRVAL3": 4750.0,
                          "CRPIX3": 1.0, "CD3_3": 1.25})
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((800, 3, 4)), header, name="DATA"),
                  fits.ImageHDU(np.ones((800, 3, 4)), header, name="STAT")]
                 ).writeto(tmp_path / "linear.fits")
    grid = read_cube_grid(str(tmp_path / "linear.fits"), "cube")
    mesh, aligned = mesh_for_cube(grid, base_mesh(**BASE))
    assert not aligned and mesh.omega_nodes == (4, 3)
    low, high = mesh.wavelength_range
    inside = np.count_nonzero((grid.edges >= low) & (grid.edges <= high)) - 1
    assert observed_wavelengths(mesh).size == inside
    assert low in grid.edges and high in grid.edges


def test_the_command_writes_the_mesh_and_refuses_bad_input(tmp_path):
    _log_cube(tmp_path / "cube.fits", 4800.0, 5600.0, 60.0)
    out = tmp_path / "mesh.toml"
    result = hpcinv(["mesh", "from-cube", str(tmp_path / "cube.fits"), "--out", str(out),
                     "--library", "synthetic", "--velocity-range=-400,400"])
    assert result.returncode == 0, result.stderr
    assert "5 x 4 spaxels" in result.stdout and "its own wavelength pixels" in result.stdout
    assert load_galaxy_mesh(str(out)).velocity_range == (-400.0, 400.0)
    bad = hpcinv(["mesh", "from-cube", str(tmp_path / "cube.fits"), "--out", str(out),
                  "--library", "synthetic", "--velocity-range=400,-400"])
    assert bad.returncode == 2 and "--velocity-range" in bad.stderr
    with fits.open(tmp_path / "cube.fits") as hdus:
        del hdus["DATA"].header["CUNIT3"]
        hdus.writeto(tmp_path / "nounit.fits")
    with pytest.raises(InputError, match="CUNIT3 is missing"):
        read_cube_grid(str(tmp_path / "nounit.fits"), "cube")
    missing = hpcinv(["mesh", "from-cube", str(tmp_path / "nounit.fits"), "--out", str(out),
                      "--library", "synthetic"])
    assert missing.returncode == 2 and "CUNIT3 is missing" in missing.stderr


def test_review_cases_metres_one_spaxel_rows_quotes_and_wide_linear_cubes(tmp_path):
    from dataclasses import replace
    import tomllib

    from hpcinv.apps.galaxy.kernel import template_margin
    from hpcinv.apps.galaxy.mesh_from_cube import mesh_toml

    # Metres without CUNIT3, as the FITS standard has it, are read.
    metres = fits.Header({"CTYPE3": "AWAV", "CRVAL3": 4.75e-7, "CRPIX3": 1.0,
                          "CDELT3": 1.25e-10})
    fits.PrimaryHDU(np.ones((800, 3, 4)), metres).writeto(tmp_path / "metres.fits")
    grid = read_cube_grid(str(tmp_path / "metres.fits"), "cube")
    assert grid.wavelengths[0] == pytest.approx(4750.0, rel=1e-9)
    # One spaxel along an axis has no s = 1 mesh: refused, nothing written.
    _log_cube(tmp_path / "slit.fits", 4800.0, 5600.0, 60.0, shape=(7, 1))
    out = tmp_path / "slit.toml"
    with pytest.raises(InputError, match="must be >= 2"):
        write_mesh_for_cube(str(tmp_path / "slit.fits"), str(out), base_mesh(**BASE))
    assert list(tmp_path.glob("slit.toml*")) == []
    # A library path with quotes survives the TOML.
    mesh, _ = mesh_for_cube(read_cube_grid(str(tmp_path / "metres.fits"), "cube"),
                            base_mesh(**BASE))
    odd = '/data/o\'brien "lib"'
    text = mesh_toml(replace(mesh, library=odd), False, "c.fits")
    assert tomllib.loads(text)["populations"]["library"] == odd
    # A linear cube reaching far past the templates: the kernel's template grid, padded
    # by the mesh's own velscale, stays inside the library.
    wide = fits.Header({"CTYPE3": "AWAV", "CUNIT3": "Angstrom", "CRVAL3": 4601.0,
                        "CRPIX3": 1.0, "CD3_3": 3.0})
    fits.PrimaryHDU(np.ones((5000, 2, 2)), wide).writeto(tmp_path / "wide.fits")
    mesh, aligned = mesh_for_cube(read_cube_grid(str(tmp_path / "wide.fits"), "cube"),
                                  base_mesh(**BASE))
    centres = observed_wavelengths(mesh)
    library = synthetic_library().wavelength
    margin = template_margin(mesh.velscale)
    assert not aligned
    assert centres[0] / (1 + 500.0 / SPEED_OF_LIGHT) / margin >= library[0]
    assert centres[-1] / (1 - 500.0 / SPEED_OF_LIGHT) * margin <= library[-1]


def test_a_redshifted_cube_is_read_in_its_rest_frame(tmp_path):
    from hpcinv.apps.galaxy.datacube import in_rest_frame

    z = 0.0123
    rest = log_grid(4650.0, 5750.0, 50.0)
    rng = np.random.default_rng(4)
    flux = rng.random((rest.size, 4, 5))
    write_cube_fits(tmp_path / "z.fits", flux, np.ones_like(flux), rest * (1 + z),
                    np.arange(5.0), np.arange(4.0))
    out = tmp_path / "z.toml"
    result = hpcinv(["mesh", "from-cube", str(tmp_path / "z.fits"), "--out", str(out),
                     "--library", "synthetic", "--redshift", str(z)])
    assert result.returncode == 0, result.stderr
    assert "its own wavelength pixels" in result.stdout
    mesh = load_galaxy_mesh(str(out))
    centres = observed_wavelengths(mesh)
    first = int(np.argmin(np.abs(rest - centres[0])))
    np.testing.assert_allclose(centres, rest[first:first + centres.size], rtol=1e-12)
    cube = read_cube_fits(str(tmp_path / "z.fits"))
    observed = onto_problem_grid(in_rest_frame(cube, z), centres, (5, 4), 1)
    assert np.array_equal(observed.flux, fits_to_rows(flux[first:first + centres.size]))
    # The same cube taken as rest-frame: a mesh inside both frames' ranges reads the pixels
    # ln(1 + z) c / velscale = 73.3 pixels bluer than the redshift's, mixed 0.7 / 0.3.
    inner = centres[100:-100]
    taken = onto_problem_grid(cube, inner, (5, 4), 1).flux
    wanted = onto_problem_grid(in_rest_frame(cube, z), inner, (5, 4), 1).flux
    assert np.array_equal(wanted, fits_to_rows(flux[first + 100:first + centres.size - 100]))
    assert not np.allclose(taken, wanted)
    step = np.log(1 + z) * SPEED_OF_LIGHT / 50.0
    shift = int(np.floor(step))
    low = first + 100 - shift - 1
    mixed = fits_to_rows((step - shift) * flux[low:low + inner.size]
                         + (1 - step + shift) * flux[low + 1:low + 1 + inner.size])
    np.testing.assert_allclose(taken, mixed, rtol=2e-3)


def test_a_redshift_without_a_cube_is_refused():
    from hpcinv.core.jobspec import PROBLEMS, parse_spec

    from pathlib import Path

    tiny = Path(__file__).resolve().parent.parent / "meshes/galaxy/tiny.toml"
    spec = parse_spec(f'[problem]\nkind = "galaxy"\nmesh = "{tiny}"\nredshift = 0.01\n'
                      '[solver]\nkind = "pnkr"\n')
    with pytest.raises(InputError, match="problem.redshift.*needs problem.cube"):
        PROBLEMS.get("galaxy", "problem.kind").prepare(spec.problem)
