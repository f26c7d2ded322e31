"""Figures and FITS maps of galaxy results (``hpcinv plot``), like the paper's Figures 5.1 and
5.4-5.6:

* ``<stem>-maps.png``: one column per map (mean age, mean [M/H], mu_v, sigma_v, h3, h4, h5),
  rows truth / recovery / recovery - truth when the truth is known;
* ``<stem>-losvd.png``: light-weighted LOSVDs at nine positions, truth against recovery;
* ``<stem>-maps.fits``: every map as an image extension (recovery, and TRUTH_* when known).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.plotting import pyplot, save

MAPS = (("mean_age", "mean age [Gyr]"), ("mean_metallicity", "mean [M/H]"),
        ("mu_v", "mu_v [km/s]"), ("sigma_v", "sigma_v [km/s]"), ("h3", "h3"), ("h4", "h4"),
        ("h5", "h5"))


def maps_figure(derived: dict, target: Path) -> Path:
    plt = pyplot()
    rows = [("recovery", "")]
    if "truth_mu_v" in derived:
        rows = [("truth", "truth_"), ("recovery", ""), ("recovery - truth", None)]
    extent = [derived["sky_x"][0], derived["sky_x"][-1], derived["sky_y"][0], derived["sky_y"][-1]]
    figure, axes = plt.subplots(len(rows), len(MAPS), figsize=(2.4 * len(MAPS), 2.3 * len(rows)),
                                squeeze=False)
    for column, (name, label) in enumerate(MAPS):
        shown = [derived[name] - derived["truth_" + name] if prefix is None
                 else derived[prefix + name] for _, prefix in rows]
        # truth and recovery share one colour scale; the difference gets its own
        finite = np.concatenate([m[np.isfinite(m)] for m, (_, p) in zip(shown, rows)
                                 if p is not None])
        low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
        for row, ((title, prefix), values) in enumerate(zip(rows, shown)):
            difference = prefix is None
            spread = np.nanmax(np.abs(values)) if difference and np.isfinite(values).any() else 1
            image = axes[row, column].imshow(
                values.T, origin="lower", extent=extent,
                cmap="RdBu_r" if difference else "viridis",
                vmin=-spread if difference else low, vmax=spread if difference else high)
            figure.colorbar(image, ax=axes[row, column], shrink=0.8)
            axes[row, column].set_title(f"{label}\n{title}" if row == 0 else title, fontsize=8)
            axes[row, column].tick_params(labelsize=6)
    return save(plt, figure, target)


def losvd_figure(derived: dict, target: Path) -> Path:
    plt = pyplot()
    figure, axes = plt.subplots(3, 3, figsize=(9, 7), sharex=True)
    for index, axis in enumerate(axes.ravel()):
        x, y = derived["losvd_positions"][index]
        if "truth_losvd" in derived:
            axis.plot(derived["velocity"], derived["truth_losvd"][index], "k-", label="truth")
        axis.plot(derived["velocity"], derived["losvd"][index], "C1--", label="recovery")
        axis.set_title(f"x = {x:.2f}, y = {y:.2f}", fontsize=9)
        axis.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=8)
    for axis in axes[-1]:
        axis.set_xlabel("v [km/s]")
    return save(plt, figure, target)


def maps_fits(derived: dict, target: Path) -> Path:
    """One image extension per map; the sky axes go into a linear WCS."""
    from astropy.io import fits

    x, y = derived["sky_x"], derived["sky_y"]
    hdus = [fits.PrimaryHDU()]
    for prefix in ("", "truth_"):
        for name, label in MAPS:
            if prefix + name not in derived:
                continue
            header = fits.Header()
            for axis, values in ((1, x), (2, y)):
                header[f"CTYPE{axis}"] = "LINEAR"
                header[f"CRPIX{axis}"] = 1.0
                header[f"CRVAL{axis}"] = float(values[0])
                header[f"CDELT{axis}"] = float(values[1] - values[0]) if values.size > 1 else 1.0
            header["BUNIT"] = label.partition("[")[2].rstrip("]") or ""
            # FITS images are stored (y, x): the first FITS axis varies fastest.
            hdus.append(fits.ImageHDU(np.asarray(derived[prefix + name]).T, header=header,
                                      name=(prefix + name).upper()))
    partial = target.with_name(target.name + ".partial")
    fits.HDUList(hdus).writeto(partial, overwrite=True)
    partial.replace(target)
    return target


def galaxy_figures(derived: dict, directory: Path, stem: str) -> list[Path]:
    """The maps and LOSVD figures and the FITS maps, when the result has derived maps."""
    if "mu_v" not in derived:
        return []
    return [maps_figure(derived, directory / f"{stem}-maps.png"),
            losvd_figure(derived, directory / f"{stem}-losvd.png"),
            maps_fits(derived, directory / f"{stem}-maps.fits")]
