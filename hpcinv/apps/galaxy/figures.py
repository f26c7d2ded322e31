"""Figures and FITS maps of galaxy results (``hpcinv plot``), like the paper's Figures 5.1 and
5.4-5.6:

* ``<stem>-maps.png``: one column per map (mass, mean age, mean [M/H], mu_v, sigma_v,
  h3-h5), rows truth / recovery / recovery - truth when the truth is known;
* ``<stem>-losvd.png``: light-weighted LOSVDs at nine positions, truth against recovery;
* ``<stem>-maps.fits``: every map as an image extension (recovery, and TRUTH_* when known)
  with the sky WCS, BUNIT, and the result's provenance in the primary header.

Maps are stored [x, y] in /derived; images are drawn and written with x along the first
FITS axis (NAXIS1), as the datacube's spaxels are (``datacube.py``).  A result of an observed
cube keeps the cube's sky WCS (its problem attribute ``cube_wcs``), so the map pixels are the
cube's spaxels on the sky; a mock galaxy's sky is the mesh's [omega] square, which has no
angular scale, so its maps get linear offsets in those units.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.io.results import ResultProducts
from ...core.plotting import image_panel, pyplot, save, symmetric_limits


@dataclass(frozen=True)
class MapQuantity:
    name: str            # the /derived key (the truth's: "truth_" + name)
    title: str
    unit: str            # FITS BUNIT; "" for dimensionless and relative quantities
    description: str     # the BUNIT card's comment
    scale: str = ""      # what the colour bar says instead of a unit when there is none

    def colorbar_label(self, what: str = "") -> str:
        quantity = f"{self.title}{what}"
        return f"{quantity} [{self.unit}]" if self.unit else f"{quantity} ({self.scale})"


MAPS = (
    # Mass per unit sky area with the coefficients' scale: a total of 1 for the mock galaxy,
    # the cube's flux over the template flux unit for an observed cube.
    MapQuantity("mass", "mass", "", "relative surface mass density", "relative"),
    MapQuantity("mean_age", "mean age", "Gyr", "mass-weighted mean age"),
    MapQuantity("mean_metallicity", "mean [M/H]", "dex", "mass-weighted mean metallicity"),
    MapQuantity("mu_v", "mu_v", "km/s", "mean line-of-sight velocity"),
    MapQuantity("sigma_v", "sigma_v", "km/s", "line-of-sight velocity dispersion"),
    MapQuantity("h3", "h3", "", "Gauss-Hermite moment", "dimensionless"),
    MapQuantity("h4", "h4", "", "Gauss-Hermite moment", "dimensionless"),
    MapQuantity("h5", "h5", "", "Gauss-Hermite moment", "dimensionless"),
)
LOSVD_LABEL = "light-weighted LOSVD [1/(km/s)]"


@dataclass(frozen=True)
class SkyAxes:
    """Where map pixel (i, j) lies: the WCS (FITS pixel order x, y) and, when it is celestial,
    the spaxel size in arcsec along x and y."""
    wcs: object                   # astropy.wcs.WCS (imported when plotting, not with the app)
    spaxel_arcsec: tuple | None

    def extent(self, nx: int, ny: int) -> list:
        """imshow's extent: arcsec offsets from the map centre, else spaxel indices."""
        if self.spaxel_arcsec is None:
            return [-0.5, nx - 0.5, -0.5, ny - 0.5]
        (sx, sy), half_x, half_y = self.spaxel_arcsec, nx / 2, ny / 2
        return [-half_x * sx, half_x * sx, -half_y * sy, half_y * sy]

    def labels(self) -> tuple[str, str]:
        if self.spaxel_arcsec is None:
            return "spaxel x", "spaxel y"
        return "x offset [arcsec]", "y offset [arcsec]"


def _mesh_offsets_wcs(sky_x: np.ndarray, sky_y: np.ndarray):
    """Linear axes in the mesh's sky coordinates (offsets from the galaxy's centre at 0)."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["XOFFSET", "YOFFSET"]
    wcs.wcs.cname = ["sky x (mesh [omega] units)", "sky y (mesh [omega] units)"]
    wcs.wcs.crpix = [1.0, 1.0]
    wcs.wcs.crval = [float(sky_x[0]), float(sky_y[0])]
    wcs.wcs.cdelt = [float(points[1] - points[0]) if points.size > 1 else 1.0
                     for points in (sky_x, sky_y)]
    return wcs


def sky_axes(result: ResultProducts) -> SkyAxes:
    """The cube's sky WCS for a result of an observed cube (when the cube had one), else
    linear offsets in the mesh's sky coordinates."""
    import astropy.units as u
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    text = (result.attributes.get("problem_attributes") or {}).get("cube_wcs", "")
    if not text:
        return SkyAxes(_mesh_offsets_wcs(result.derived["sky_x"], result.derived["sky_y"]),
                       None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(fits.Header.fromstring(text))
    if not wcs.has_celestial:
        return SkyAxes(wcs, None)
    scales = wcs.proj_plane_pixel_scales()        # along FITS axes 1 (x) and 2 (y)
    return SkyAxes(wcs, tuple(float(scale.to_value(u.arcsec)) for scale in scales))


def _rows(derived: dict) -> list[tuple[str, str | None]]:
    """(row title, /derived prefix; None: recovery - truth) of the maps figure."""
    if "truth_mu_v" in derived:
        return [("truth", "truth_"), ("recovery", ""), ("recovery - truth", None)]
    return [("recovery", "")]


def maps_figure(derived: dict, sky: SkyAxes):
    """The figure (not saved): one column per map, one row per truth / recovery / error."""
    rows = _rows(derived)
    quantities = [q for q in MAPS if q.name in derived]
    nx, ny = derived[quantities[0].name].shape
    extent, (xlabel, ylabel) = sky.extent(nx, ny), sky.labels()
    figure, axes = pyplot().subplots(len(rows), len(quantities),
                                     figsize=(3.0 * len(quantities), 2.7 * len(rows)),
                                     squeeze=False)
    for column, quantity in enumerate(quantities):
        shown = [derived[quantity.name] - derived["truth_" + quantity.name] if prefix is None
                 else derived[prefix + quantity.name] for _, prefix in rows]
        # truth and recovery share one colour scale; the difference gets its own
        finite = np.concatenate([m[np.isfinite(m)] for m, (_, p) in zip(shown, rows)
                                 if p is not None])
        low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
        for row, ((title, prefix), values) in enumerate(zip(rows, shown)):
            difference = prefix is None
            scale = symmetric_limits(values) if difference else {"vmin": low, "vmax": high}
            axis = axes[row, column]
            image = image_panel(axis, values.T, title=f"{quantity.title}: {title}",
                        colorbar_label=quantity.colorbar_label(" difference" if difference
                                                               else ""),
                        xlabel=xlabel, ylabel=ylabel, origin="lower", extent=extent,
                        cmap="RdBu_r" if difference else "viridis", **scale)
            axis.title.set_fontsize(8)
            image.colorbar.ax.yaxis.label.set_fontsize(7)
            image.colorbar.ax.tick_params(labelsize=6)
            axis.xaxis.label.set_fontsize(7)
            axis.yaxis.label.set_fontsize(7)
            axis.tick_params(labelsize=6)
    return figure


def _nearest_spaxel(derived: dict, position) -> tuple[int, int]:
    x, y = position
    return (int(np.abs(derived["sky_x"] - x).argmin()),
            int(np.abs(derived["sky_y"] - y).argmin()))


def losvd_figure(derived: dict):
    """The figure (not saved): the LOSVDs at the nine positions, truth against recovery."""
    figure, axes = pyplot().subplots(3, 3, figsize=(9, 7), sharex=True)
    for index, axis in enumerate(axes.ravel()):
        i, j = _nearest_spaxel(derived, derived["losvd_positions"][index])
        if "truth_losvd" in derived:
            axis.plot(derived["velocity"], derived["truth_losvd"][index], "k-", label="truth")
        axis.plot(derived["velocity"], derived["losvd"][index], "C1--", label="recovery")
        axis.set_title(f"spaxel x = {i}, y = {j}", fontsize=9)
        axis.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=8)
    for axis in axes[-1]:
        axis.set_xlabel("v [km/s]")
    for axis in axes[:, 0]:
        axis.set_ylabel(LOSVD_LABEL, fontsize=8)
    return figure


def _ascii(text: str) -> str:
    """FITS headers hold printable ASCII only; a job spec may not be."""
    return text.replace("\t", "    ").encode("ascii", "backslashreplace").decode("ascii")


def provenance_header(result: ResultProducts, origin: str = "hpcinv plot"):
    """The primary header: what made these maps, enough to find and rerun the job."""
    from astropy.io import fits

    attributes = result.attributes
    versions = attributes.get("versions") or {}
    header = fits.Header()
    header["ORIGIN"] = (origin, "program that wrote this file")
    header["HPCINV"] = (str(versions.get("hpcinv", "unknown")), "hpcinv version of the run")
    header["RESULT"] = (_ascii(result.path.name), "hpcinv result file of these maps")
    # The job spec's fingerprint (64 hex digits) leaves no room on its card for a comment.
    header["FINGERPR"] = str(attributes.get("fingerprint", ""))
    header["PROBLEM"] = (str(attributes.get("problem_kind", "")), "hpcinv problem kind")
    header["SOLVER"] = (str(attributes.get("solver_kind", "")), "hpcinv solver kind")
    header["STOPREAS"] = (str(attributes.get("stop_reason", "")), "why the solver stopped")
    header["ITERS"] = (int(attributes.get("iterations", -1)), "iterations (PNKR: loops)")
    cube = (attributes.get("problem_attributes") or {}).get("cube")
    if cube:
        header.add_history(_ascii(f"data: {cube}"))
    for name, version in versions.items():
        header.add_history(_ascii(f"version {name}: {version}"))
    header.add_history("job spec (TOML) follows; a long line continues on the next card")
    for line in str(attributes.get("job_spec", "")).splitlines():
        header.add_history(_ascii(line))
    return header


def _losvd_hdu(derived: dict, prefix: str, sky: SkyAxes):
    """Every spaxel's light-weighted LOSVD as a cube (Lv, ny, nx): the maps' sky WCS on
    axes 1 and 2, the velocity (km/s, linear: the basis points are uniform) on axis 3."""
    from astropy.io import fits

    velocity = np.asarray(derived["velocity"])
    header = sky.wcs.to_header()
    header["WCSAXES"] = 3
    header["CTYPE3"] = ("VLOS", "line-of-sight velocity")
    header["CUNIT3"] = "km/s"
    header["CRPIX3"] = 1.0
    header["CRVAL3"] = float(velocity[0])
    header["CDELT3"] = float(velocity[1] - velocity[0]) if velocity.size > 1 else 1.0
    header["BUNIT"] = ("s/km", "light-weighted LOSVD, unit integral")
    cube = np.asarray(derived[prefix + "losvd_cube"]).transpose(2, 1, 0)
    return fits.ImageHDU(cube, header=header, name=(prefix + "losvd").upper())


def maps_fits(result: ResultProducts, sky: SkyAxes, target: Path,
              origin: str = "hpcinv plot") -> Path:
    """One image extension per map, (ny, nx) as the cube's spaxels, with the sky WCS and
    BUNIT, and a LOSVD cube (Lv, ny, nx); written to a partial file and renamed."""
    from astropy.io import fits

    hdus = [fits.PrimaryHDU(header=provenance_header(result, origin))]
    for prefix in ("", "truth_"):
        for quantity in MAPS:
            name = prefix + quantity.name
            if name not in result.derived:
                continue
            header = sky.wcs.to_header()
            header["BUNIT"] = (quantity.unit, quantity.description)
            hdus.append(fits.ImageHDU(np.asarray(result.derived[name]).T, header=header,
                                      name=name.upper()))
        if prefix + "losvd_cube" in result.derived:
            hdus.append(_losvd_hdu(result.derived, prefix, sky))
    partial = target.with_name(target.name + ".partial")
    try:
        fits.HDUList(hdus).writeto(partial, overwrite=True)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def galaxy_figures(result: ResultProducts, directory: Path, stem: str) -> list[Path]:
    """The maps and LOSVD figures and the FITS maps, when the result has derived maps."""
    derived = result.derived
    if "mu_v" not in derived:
        return []
    sky = sky_axes(result)
    return [save(maps_figure(derived, sky), directory / f"{stem}-maps.png"),
            save(losvd_figure(derived), directory / f"{stem}-losvd.png"),
            maps_fits(result, sky, directory / f"{stem}-maps.fits")]
