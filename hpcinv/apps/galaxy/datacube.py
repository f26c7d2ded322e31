"""IFU datacubes in FITS: reading an observed cube (flux, variance, wavelength WCS) onto the
galaxy problem's grids, keeping its sky WCS for the result's maps, and writing a cube in the
MUSE layout.

The layout: an empty primary HDU, then image extensions ``DATA`` (flux), ``STAT``
(variance) and, for mocks, ``NOISEFREE``, each (n_lambda, ny, nx) in numpy order, i.e.
NAXIS1 = x, NAXIS2 = y, NAXIS3 = wavelength.  Arrays in this module keep that order; the
problem stores rows instead: one per sky basis point, C order over (x, y) with y fastest
(``fits_to_rows`` / ``rows_to_fits`` convert).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.io.inputs import check_real, first_line, reading_fits

VARIANCE_EXTENSIONS = ("STAT", "VARIANCE", "VAR")
_WAVELENGTH_TYPES = ("WAVE", "AWAV")   # vacuum or air; with -LOG, -TAB, ... algorithms
# Without CUNIT3 a wavelength is in metres; a CRVAL3 above a millimetre was meant in another
# unit (Angstrom, most often), not metres.
_LONGEST_WAVELENGTH_IN_METRES = 1e-3


@dataclass
class SpectralCube:
    """A datacube as read, on its own pixels."""
    flux: np.ndarray            # (n_lambda, ny, nx)
    variance: np.ndarray        # (n_lambda, ny, nx)
    wavelengths: np.ndarray     # (n_lambda,) pixel centres, Angstrom
    edges: np.ndarray           # (n_lambda + 1,) pixel edges, Angstrom, increasing
    flux_origin: tuple          # (job key, "file[EXTENSION]"): where messages point
    variance_origin: tuple
    sky_wcs: str                # the sky axes' WCS (``sky_wcs_header``)
    # True: a masked pixel, (n_lambda,) per wavelength or (n_lambda, ny, nx) per pixel
    bad: np.ndarray | None = None


@dataclass
class ObservedCube:
    """A datacube on the problem's grids: rows are the sky basis points in the problem's
    order, columns the observed wavelengths."""
    flux: np.ndarray            # (N, R)
    variance: np.ndarray        # (N, R)
    source: str
    sky_wcs: str                # the cube's sky axes (``sky_wcs_header``): the maps' WCS
    bad: np.ndarray             # (R,) True: an observed wavelength not fitted (not wanted,
                                # or a masked pixel of a fitted spaxel falls in it)
    bad_spaxels: np.ndarray     # (N,) True: a spaxel left out (masked, or no finite flux)

    def equation_noise(self, data_gram) -> np.ndarray:
        """delta_r = sqrt(sum_i N_ii sigma_ir^2) for every wavelength r.

        PNKR skips equation r while ||residual_r||_N <= tau delta_r, so delta_r must bound
        the noise's N-norm.  A real cube's noise is unknown; with independent pixels (which
        is all a variance cube describes) E ||e_r||_N^2 = sum_ij N_ij E[e_i e_j] =
        sum_i N_ii sigma_ir^2, and tau > 1 leaves room for the realised norm's spread.
        """
        return np.sqrt(data_gram.diagonal() @ self.variance)


def fits_to_rows(cube: np.ndarray) -> np.ndarray:
    """(n_lambda, ny, nx) -> (nx * ny, n_lambda), C order over (x, y)."""
    return cube.transpose(2, 1, 0).reshape(-1, cube.shape[0])


def rows_to_fits(rows: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Inverse of ``fits_to_rows``."""
    return rows.reshape(nx, ny, -1).transpose(2, 1, 0)


def _sky_cards(header, axis: int, points: np.ndarray) -> None:
    header[f"CTYPE{axis}"] = "LINEAR"
    header[f"CRPIX{axis}"] = 1.0
    header[f"CRVAL{axis}"] = float(points[0])
    header[f"CDELT{axis}"] = float(points[1] - points[0]) if points.size > 1 else 1.0


def _log_wavelength_cards(header, wavelengths: np.ndarray) -> None:
    """WAVE-LOG (Greisen et al. 2006, A&A 446, 747): lambda = CRVAL3 exp(w / CRVAL3) with
    w = CDELT3 (p - CRPIX3), so pixels uniform in ln(lambda) need CDELT3 = CRVAL3 x step."""
    step = np.log(wavelengths[-1] / wavelengths[0]) / (wavelengths.size - 1)
    uniform = wavelengths[0] * np.exp(step * np.arange(wavelengths.size))
    if not np.allclose(uniform, wavelengths, rtol=1e-12, atol=0):
        raise ValueError("the wavelengths are not uniform in ln(lambda)")
    header["CTYPE3"] = "WAVE-LOG"
    header["CUNIT3"] = "Angstrom"
    header["CRPIX3"] = 1.0
    header["CRVAL3"] = float(wavelengths[0])
    header["CDELT3"] = float(wavelengths[0] * step)


def write_cube_fits(path, cube: np.ndarray, variance: np.ndarray, wavelengths: np.ndarray,
                    sky_x: np.ndarray, sky_y: np.ndarray, noise_free: np.ndarray | None = None,
                    cards: dict | None = None) -> Path:
    """Write a cube (n_lambda, ny, nx) with its variance (and noise-free cube) in the MUSE
    layout, wavelengths uniform in ln(lambda), the sky axes linear in the mesh's units;
    ``cards`` (keyword: value or (value, comment)) go into the primary header."""
    from astropy.io import fits

    target = Path(path)
    header = fits.Header()
    _sky_cards(header, 1, np.asarray(sky_x))
    _sky_cards(header, 2, np.asarray(sky_y))
    _log_wavelength_cards(header, np.asarray(wavelengths))
    primary = fits.PrimaryHDU()
    for keyword, value in (cards or {}).items():
        primary.header[keyword] = value
    hdus = [primary, fits.ImageHDU(cube, header=header, name="DATA"),
            fits.ImageHDU(variance, header=header, name="STAT")]
    if noise_free is not None:
        hdus.append(fits.ImageHDU(noise_free, header=header, name="NOISEFREE"))
    partial = target.with_name(target.name + ".partial")
    try:
        fits.HDUList(hdus).writeto(partial, overwrite=True)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)    # no half-written cube is left behind
        raise
    return target


def _where(path: str, hdus, hdu) -> str:
    return f"{path}[{hdu.name or hdus.index_of(hdu)}]"


def _is_image(hdu) -> bool:
    return hdu.is_image and hdu.header.get("NAXIS", 0) > 0


def _fits_shape(array: np.ndarray) -> str:
    return " x ".join(map(str, array.shape[::-1])) + " (NAXIS1 x NAXIS2 x NAXIS3)"


def _cube_values(hdus, hdu, path: str, key: str) -> tuple[np.ndarray, tuple]:
    """The values of a 3-D image HDU as float64 (within ``reading_fits``: reading them may
    find the file truncated)."""
    origin = (key, _where(path, hdus, hdu))
    if not hdu.is_image:
        raise InputError((key, f"{origin[1]}: not an image but a {type(hdu).__name__}"))
    _check_three_axes(hdu.header, origin)
    if hdu.data is None:
        raise InputError((key, f"{origin[1]}: no pixels (an axis of length 0)"))
    return check_real(hdu.data, origin[1], key), origin


def _check_three_axes(header, origin: tuple) -> None:
    key, where = origin
    if header.get("NAXIS") != 3:
        raise InputError((key, f"{where}: not a 3-D cube (NAXIS = {header.get('NAXIS')})"))


def _flux_hdu(hdus, path: str, key: str):
    if _is_image(hdus[0]):
        return hdus[0]
    if "DATA" in hdus:
        return hdus["DATA"]
    raise InputError((key, f"{path}: no image in the primary HDU and no DATA extension"))


def _variance_hdu(hdus, path: str, key: str, separate: bool):
    """STAT, VARIANCE or VAR; in a variance file of its own also the primary or the first
    3-D extension."""
    for name in VARIANCE_EXTENSIONS:
        if name in hdus:
            return hdus[name]
    if separate:
        for hdu in hdus:
            if _is_image(hdu) and hdu.header.get("NAXIS") == 3:
                return hdu
        raise InputError((key, f"{path}: no 3-D image"))
    raise InputError((key, f"{path}: no {', '.join(VARIANCE_EXTENSIONS[:-1])} or "
                           f"{VARIANCE_EXTENSIONS[-1]} extension; give the variance cube with "
                           f"problem.variance"))


def _wavelength_pixels(header, count: int, origin: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(centres, edges) in Angstrom of the ``count`` pixels along FITS axis 3."""
    import astropy.units as u
    from astropy.wcs import WCS, FITSFixedWarning

    key, where = origin
    _check_spectral_axis(header, origin)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header)
        if wcs.wcs.spec != 2 or not wcs.wcs.ctype[2].startswith(_WAVELENGTH_TYPES):
            raise InputError((key, f"{where}: axis 3 is not a wavelength axis (CTYPE3 = "
                                   f"{header.get('CTYPE3', '')!r}; need WAVE, AWAV, WAVE-LOG "
                                   f"or AWAV-LOG)"))
        # Astropy converts any CUNIT3 (Angstrom, nm, m, ...) to SI; SpectralCoord converts back.
        spectral = wcs.spectral
        edges = spectral.pixel_to_world(np.arange(count + 1) - 0.5).to_value(u.AA)
        centres = spectral.pixel_to_world(np.arange(count)).to_value(u.AA)
    except ValueError as error:   # astropy.wcs errors are ValueErrors
        raise InputError((key, f"{where}: invalid wavelength WCS: {first_line(error)}")) from None
    if not (np.all(np.isfinite(edges)) and edges[0] > 0 and np.all(np.diff(edges) > 0)):
        raise InputError((key, f"{where}: the wavelengths must be positive and increase along "
                               f"axis 3 (got {edges[0]:.6g} to {edges[-1]:.6g} A)"))
    return centres, edges


def _is_wavelength_type(ctype) -> bool:
    return str(ctype).strip().upper().startswith(_WAVELENGTH_TYPES)


def _check_spectral_axis(header, origin: tuple) -> None:
    """The errors a user can act on, before astropy's: the wavelength axis is not axis 3
    (naming every axis), or it has no unit (the FITS standard reads a bare WAVE in metres,
    so 4800 would be 4800 m)."""
    key, where = origin
    ctypes = [str(header.get(f"CTYPE{axis}", "")).strip() for axis in (1, 2, 3)]
    if not _is_wavelength_type(ctypes[2]):
        axes = ", ".join(f"axis {axis}: CTYPE{axis} = {ctype!r}, NAXIS{axis} = "
                         f"{header.get(f'NAXIS{axis}')}"
                         for axis, ctype in enumerate(ctypes, start=1))
        spectral = [axis for axis, ctype in enumerate(ctypes, start=1)
                    if _is_wavelength_type(ctype)]
        if spectral:
            advice = (f"the wavelengths lie along axis {spectral[0]}: hpcinv reads a cube as "
                      f"NAXIS1 = x, NAXIS2 = y, NAXIS3 = wavelength (numpy shape (wavelength, "
                      f"y, x)); move that axis last in FITS order (numpy.moveaxis) and its "
                      f"header keys with it")
        else:
            advice = ("no axis is a wavelength axis: axis 3 needs CTYPE3 = WAVE, AWAV, WAVE-LOG "
                      "or AWAV-LOG with CRVAL3, CRPIX3, CDELT3 (or CD3_3) and CUNIT3")
        raise InputError((key, f"{where}: axis 3 is not a wavelength axis ({axes}); {advice}"))
    reference = header.get("CRVAL3", 0.0)
    if not str(header.get("CUNIT3", "")).strip() and isinstance(reference, (int, float)) \
            and abs(reference) > _LONGEST_WAVELENGTH_IN_METRES:
        raise InputError((key, f"{where}: CUNIT3 is missing: the FITS standard reads a "
                               f"{ctypes[2]} axis without a unit in metres, and CRVAL3 = "
                               f"{reference} would be {reference:g} m; set CUNIT3 = "
                               f"'Angstrom' (or 'nm', 'um') in the header"))


def sky_wcs_header(header, origin: tuple) -> str:
    """The WCS of the cube's sky axes (FITS axes 1 and 2: x, y) as header text, "" when the
    header has none.  Spaxel (i, j) is sky basis point (i, j), so a result's maps lie on the
    cube's own pixels and take this WCS unchanged: celestial (RA---TAN, ...) for an observed
    cube, linear for a mock written by ``hpcinv mock``."""
    from astropy.wcs import WCS, FITSFixedWarning

    if not (header.get("CTYPE1") and header.get("CTYPE2")):
        return ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            return WCS(header).sub([1, 2]).to_header_string()
    except ValueError as error:   # astropy.wcs errors are ValueErrors
        key, where = origin
        raise InputError((key, f"{where}: invalid sky WCS: {first_line(error)}")) from None


@dataclass
class CubeGrid:
    """A cube's pixels without their values: spaxels (nx, ny) and wavelength pixels."""
    spaxels: tuple              # (nx, ny) = (NAXIS1, NAXIS2)
    wavelengths: np.ndarray     # pixel centres, Angstrom
    edges: np.ndarray           # pixel edges, Angstrom, increasing
    origin: tuple               # (key, "file[EXTENSION]")


def in_rest_frame(cube, redshift: float):
    """A ``SpectralCube`` or ``CubeGrid`` with its wavelengths divided by 1 + ``redshift``
    (the rest frame of the templates and of the mesh's [wavelength] range).  Pixels uniform
    in ln(lambda) stay uniform, with the same step: a cube's own pixels stay its own."""
    if redshift == 0:
        return cube
    factor = 1.0 + redshift
    return replace(cube, wavelengths=cube.wavelengths / factor, edges=cube.edges / factor)


def read_cube_grid(cube_path: str, key: str = "problem.cube") -> CubeGrid:
    """The cube's spaxels and wavelength pixels, from its header alone."""
    with reading_fits(cube_path, key) as hdus:
        hdu = _flux_hdu(hdus, cube_path, key)
        origin = (key, _where(cube_path, hdus, hdu))
        header = hdu.header
        _check_three_axes(header, origin)
        nx, ny, count = (int(header[f"NAXIS{axis}"]) for axis in (1, 2, 3))
        wavelengths, edges = _wavelength_pixels(header, count, origin)
    return CubeGrid((nx, ny), wavelengths, edges, origin)


def _named_extension(hdus, name: str, path: str, key: str):
    if name not in hdus:
        present = ", ".join(hdu.name or str(index) for index, hdu in enumerate(hdus))
        raise InputError((key, f"{path}: no extension {name!r} (it has {present})"))
    return hdus[name]


def spaxel_mask(cube_path: str, name: str, shape: tuple, key: str = "problem.spaxel_mask"
                ) -> np.ndarray:
    """The spaxels flagged (non-zero) by the 2-D image extension ``name`` of the cube's
    file, (ny, nx) as ``shape``."""
    with reading_fits(cube_path, key) as hdus:
        hdu = _named_extension(hdus, name, cube_path, key)
        if not hdu.is_image or hdu.data is None or hdu.data.shape != tuple(shape):
            got = "no image" if not hdu.is_image or hdu.data is None else _fits_shape(hdu.data)
            raise InputError((key, f"{cube_path}[{name}]: {got}, need an image of the cube's "
                                   f"{shape[1]} x {shape[0]} spaxels (NAXIS1 x NAXIS2)"))
        return np.asarray(hdu.data) != 0


def _pixel_mask(hdus, name: str, path: str, shape: tuple, key: str) -> np.ndarray:
    """The bad pixels of mask extension ``name`` (non-zero = bad): (n_lambda,) for a 1-D
    mask over the wavelengths, (n_lambda, ny, nx) for one shaped as the cube."""
    hdu = _named_extension(hdus, name, path, key)
    where = f"{path}[{name}]"
    if not hdu.is_image or hdu.data is None:
        raise InputError((key, f"{where}: not an image with pixels"))
    mask = np.asarray(hdu.data)
    if mask.shape in (shape, shape[:1]):
        return mask != 0
    raise InputError((key, f"{where}: {_fits_shape(mask)} pixels, need {shape[0]} (one per "
                           f"wavelength) or the cube's {_fits_shape(np.empty(shape))}"))


def read_cube_fits(cube_path: str, variance_path: str | None = None,
                   key: str = "problem.cube", variance_key: str = "problem.variance",
                   mask_extension: str = "", mask_key: str = "problem.mask_extension"
                   ) -> SpectralCube:
    """Read a cube (the primary 3-D image or the DATA extension) and its variance (the
    STAT/VARIANCE/VAR extension of the same file, or ``variance_path``), with the
    wavelengths of its spectral WCS and the bad wavelengths of ``mask_extension`` (an
    extension of the cube's file).  Values are checked later, where they are used."""
    bad = None
    with reading_fits(cube_path, key) as hdus:
        hdu = _flux_hdu(hdus, cube_path, key)
        flux, flux_origin = _cube_values(hdus, hdu, cube_path, key)
        wavelengths, edges = _wavelength_pixels(hdu.header, flux.shape[0], flux_origin)
        sky_wcs = sky_wcs_header(hdu.header, flux_origin)
        if mask_extension:
            bad = _pixel_mask(hdus, mask_extension, cube_path, flux.shape, mask_key)
        if not variance_path:
            variance_hdu = _variance_hdu(hdus, cube_path, key, separate=False)
            variance, variance_origin = _cube_values(hdus, variance_hdu, cube_path, key)
    if variance_path:
        with reading_fits(variance_path, variance_key) as hdus:
            variance_hdu = _variance_hdu(hdus, variance_path, variance_key, separate=True)
            variance, variance_origin = _cube_values(hdus, variance_hdu, variance_path,
                                                     variance_key)
    if variance.shape != flux.shape:
        raise InputError((variance_origin[0], f"{variance_origin[1]}: {_fits_shape(variance)} "
                                              f"pixels, the cube {flux_origin[1]} has "
                                              f"{_fits_shape(flux)}"))
    return SpectralCube(flux, variance, wavelengths, edges, flux_origin, variance_origin,
                        sky_wcs, bad)


def _log_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of pixels uniform in ln(lambda), as ``templates.log_rebin`` places them."""
    ratio = np.sqrt(centres[1] / centres[0])
    return np.concatenate([centres / ratio, [centres[-1] * ratio]])


def _check_sky(cube: SpectralCube, sky_points: tuple, order: int) -> None:
    ny, nx = cube.flux.shape[1:]
    if (nx, ny) != tuple(sky_points):
        key, where = cube.flux_origin
        raise InputError((key, f"{where}: {nx} x {ny} spaxels (NAXIS1 x NAXIS2), but the "
                               f"mesh's sky basis (order {order}) has {sky_points[0]} x "
                               f"{sky_points[1]} points; spaxels are not interpolated: a mesh "
                               f"with [omega] nodes = [{nx}, {ny}] (order 1) or "
                               f"[{nx + 1}, {ny + 1}] (order 0) fits this cube"))


def _rebinning(edges_in: np.ndarray, edges_out: np.ndarray, origin: tuple
               ) -> tuple[slice, np.ndarray | None]:
    """(used, W): the input pixels that overlap the output pixels, and W[j, i], the fraction
    of output pixel j that used pixel i covers (None: the output pixels are the used input
    pixels themselves).  W @ f is then the mean flux density over each output pixel of a
    density constant in each input pixel: flux-conserving, as ``templates.log_rebin``,
    which takes linear grids only and yields no weights."""
    # Edges that agree to a millionth of a pixel are the same edge: a cube on the problem's
    # own grid must not lose its end pixels, nor gain slivers of their neighbours, to the
    # round-off between its WCS and the mesh's grid.
    tolerance = 1e-6 * np.diff(edges_in).min()
    if edges_out[0] < edges_in[0] - tolerance or edges_out[-1] > edges_in[-1] + tolerance:
        key, where = origin
        raise InputError((key, f"{where}: its wavelengths {edges_in[0]:.2f}-{edges_in[-1]:.2f} A "
                               f"do not cover the mesh's observed pixels "
                               f"{edges_out[0]:.2f}-{edges_out[-1]:.2f} A ([wavelength] range)"))
    edges_out = np.clip(edges_out, edges_in[0], edges_in[-1])
    first = np.searchsorted(edges_in, edges_out[0] + tolerance, side="right") - 1
    stop = np.searchsorted(edges_in, edges_out[-1] - tolerance, side="right")
    inner = edges_in[first:stop + 1]
    if inner.size == edges_out.size and np.all(np.abs(inner - edges_out) <= tolerance):
        # The mesh lies on the cube's own pixels (``hpcinv mesh from-cube``): they are
        # taken as they are, not averaged with round-off slivers of their neighbours.
        return slice(first, stop), None
    low = np.maximum(edges_out[:-1, None], inner[None, :-1])
    high = np.minimum(edges_out[1:, None], inner[None, 1:])
    return slice(first, stop), np.clip(high - low, 0, None) / np.diff(edges_out)[:, None]


def _check_values(values: np.ndarray, bad: np.ndarray, origin: tuple, wavelengths,
                  what: str) -> None:
    if bad.any():
        pixel, y, x = np.unravel_index(np.flatnonzero(bad)[0], bad.shape)
        key, where = origin
        raise InputError((key, f"{where}: {what} in {int(bad.sum())} pixel(s) where the "
                               f"mesh's wavelengths use the cube (first at x = {x + 1}, "
                               f"y = {y + 1}, {wavelengths[pixel]:.2f} A: {values[pixel, y, x]})"))


# A rebinned pixel overlapped by less than this fraction of a bad cube pixel (round-off
# between the grids' edges) is not made bad by it.
_OVERLAP_TOLERANCE = 1e-9


def _contributes(weights: np.ndarray | None, wanted: np.ndarray) -> np.ndarray:
    """The used cube pixels that any ``wanted`` observed pixel takes a part of."""
    return wanted if weights is None else weights[wanted].sum(axis=0) > _OVERLAP_TOLERANCE


def _flagged_by(weights: np.ndarray | None, bad_in: np.ndarray) -> np.ndarray:
    """The observed pixels that a bad used cube pixel falls in."""
    return bad_in if weights is None else weights @ bad_in > _OVERLAP_TOLERANCE


def onto_problem_grid(cube: SpectralCube, wavelengths: np.ndarray, sky_points: tuple,
                      order: int, bad_spaxels: np.ndarray | None = None,
                      wanted: np.ndarray | None = None) -> ObservedCube:
    """The cube at the problem's observed wavelengths (log-rebinned) and sky basis points
    (``sky_points`` = (nx, ny), which the cube's spaxels must match one to one).  Only the
    observed pixels ``wanted`` (default all) are fitted, less those a masked cube pixel
    (``cube.bad``) of a fitted spaxel falls in; the spaxels of ``bad_spaxels`` ((ny, nx),
    True: left out) are not fitted, nor are those masked or without finite flux at every
    cube pixel the fit would use (outside an instrument's field, as MUSE cubes have).
    Values are checked, and must be sound, only where they are fitted."""
    _check_sky(cube, sky_points, order)
    used, weights = _rebinning(cube.edges, _log_edges(wavelengths), cube.flux_origin)
    flux, variance = cube.flux[used], cube.variance[used]
    used_wavelengths = cube.wavelengths[used]
    wanted = np.ones(wavelengths.size, dtype=bool) if wanted is None else wanted
    mask = None if cube.bad is None else cube.bad[used]
    left_out = np.zeros(flux.shape[1:], dtype=bool) if bad_spaxels is None else bad_spaxels
    candidates = _contributes(weights, wanted)
    unusable = ~np.isfinite(flux[candidates])
    if mask is not None:
        unusable |= mask[candidates, None, None] if mask.ndim == 1 else mask[candidates]
    left_out = left_out | unusable.all(axis=0)
    key, where = cube.flux_origin
    if left_out.all():
        raise InputError((key, f"{where}: no spaxel left to fit (every one left out by the "
                               f"spaxel mask, or masked or without finite flux at all the "
                               f"{int(candidates.sum())} cube pixels the fitted wavelengths "
                               f"use)"))
    # hpcinv fits every spaxel at the same wavelengths (one kernel K for the cube): a pixel
    # masked in any fitted spaxel leaves its wavelength out for all of them.
    bad_in = np.zeros(flux.shape[0], dtype=bool) if mask is None else \
        mask if mask.ndim == 1 else mask[:, ~left_out].any(axis=1)
    bad = ~wanted | _flagged_by(weights, bad_in)
    if bad.all():
        raise InputError((key, f"{where}: every wanted wavelength is masked in some fitted "
                               f"spaxel: nothing left to fit"))
    needed = _contributes(weights, ~bad)
    sound = needed[:, None, None] & ~left_out[None]
    _check_values(flux, ~np.isfinite(flux) & sound, cube.flux_origin, used_wavelengths,
                  "non-finite data")
    _check_values(variance, (~np.isfinite(variance) | (variance <= 0)) & sound,
                  cube.variance_origin, used_wavelengths, "non-positive or non-finite variance")
    if not sound.all():   # copies (of a slice of the cube) only when a mask applies
        flux, variance = np.where(sound, flux, 0.0), np.where(sound, variance, 1.0)
    # Pixels are independent, so a rebinned pixel sum_i W_ji f_i has variance
    # sum_i W_ji^2 sigma_i^2.  Neighbouring output pixels that share an input pixel become
    # correlated; delta_r needs only each wavelength's own variance.
    if weights is not None:   # else the mesh's pixels are the cube's own
        flux = np.tensordot(weights, flux, axes=1)
        variance = np.tensordot(weights ** 2, variance, axes=1)
    return ObservedCube(flux=fits_to_rows(flux), variance=fits_to_rows(variance),
                        source=cube.flux_origin[1], sky_wcs=cube.sky_wcs, bad=bad,
                        bad_spaxels=fits_to_rows(left_out[None])[:, 0])
