"""Figures of disk results (``hpcinv plot``), as Pichon & Thiebaut's Figs. 5-7:

* ``<stem>-distribution.png``: f(eta, h) maps (truth, recovery and their difference when the
  truth is stored), h across and eta up, with contours spaced logarithmically so the few
  counter-rotating orbits (h < 0) show beside the peak at (eta, h) = (0, 0);
* ``<stem>-profiles.png``: measured profiles with their standard deviations and the model
  a f, at four radii of the major axis.

``distribution_figure`` also draws the reproduction's mean and standard deviation over
noise realisations.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.plotting import pyplot, save

PROFILE_RADII = 4
# Contours at these fractions of the peak: logarithmic, down to the counter-rotating tail.
CONTOUR_FRACTIONS = np.logspace(-4, -0.1, 12)


def occupied_h_range(values: np.ndarray, h: np.ndarray) -> tuple:
    """The h interval where f reaches above the lowest contour, a node wider each side: the
    inner part of the plane the paper's figures show (counter-rotating orbits hug h = 0-)."""
    peak = float(np.nanmax(values))
    columns = np.flatnonzero(np.nanmax(values, axis=0) > CONTOUR_FRACTIONS[0] * peak) \
        if peak > 0 else np.array([], int)
    if columns.size == 0:
        return h[0], h[-1]
    step = h[1] - h[0]
    return max(h[0], h[columns[0]] - step), min(h[-1] + step, h[columns[-1]] + 2 * step)


def distribution_figure(fields: list, eta: np.ndarray, h: np.ndarray, title: str):
    """One panel per (name, f(eta, h) array); signed fields (differences) get a diverging
    colour map on a symmetric scale, the others logarithmic contours of their peak.  All
    panels show the h range the first field occupies."""
    plt = pyplot()
    h_range = occupied_h_range(fields[0][1], h)
    figure, axes = plt.subplots(1, len(fields), figsize=(4.6 * len(fields), 4.0),
                                squeeze=False)
    for axis, (name, values) in zip(axes[0], fields):
        extent = (h[0], h[-1] + (h[1] - h[0]), eta[0], eta[-1])
        if np.nanmin(values) < 0:
            bound = float(np.nanmax(np.abs(values))) or 1.0
            image = axis.imshow(values, origin="lower", aspect="auto", extent=extent,
                                cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            image = axis.imshow(values, origin="lower", aspect="auto", extent=extent,
                                cmap="viridis")
            peak = float(np.nanmax(values))
            if peak > 0:
                axis.contour(h, eta, values, levels=CONTOUR_FRACTIONS * peak, colors="white",
                             linewidths=0.6)
        figure.colorbar(image, ax=axis, shrink=0.8).set_label("f")
        axis.axvline(0.0, color="grey", linewidth=0.5, linestyle=":")
        axis.set_xlim(*h_range)
        axis.set_title(name)
        axis.set_xlabel("h = R v_phi")
        axis.set_ylabel("eta = 1 - eps / eps_min(h)")
    figure.suptitle(title)
    return figure


def profiles_figure(derived: dict):
    """Data (with 1-sigma bars) and model at a few radii of the major axis."""
    plt = pyplot()
    radii, velocities = derived["slit0_radii"], derived["slit0_velocities"]
    picks = sorted({int(i) for i in np.linspace(0, radii.size - 1,
                                                min(PROFILE_RADII, radii.size))})
    figure, axes = plt.subplots(1, len(picks), figsize=(3.6 * len(picks), 3.2), squeeze=False)
    for axis, index in zip(axes[0], picks):
        axis.errorbar(velocities, derived["slit0_data"][index],
                      yerr=derived["slit0_sigma"][index], fmt=".", markersize=3,
                      color="black", label="data")
        axis.plot(velocities, derived["slit0_model"][index], color="tab:red", label="a f")
        axis.set_title(f"R = {radii[index]:.3g}")
        axis.set_xlabel("v_phi")
    axes[0][0].set_ylabel("F(R, v_phi)")
    axes[0][0].legend()
    return figure


def disk_figures(result, directory, stem: str) -> list:
    derived = result.derived
    if "distribution_function" not in derived:
        return []
    directory = Path(directory)
    estimate = derived["distribution_function"]
    fields = [("recovered f", estimate)]
    truth = result.vector("truth")
    if truth is not None:
        truth = truth.reshape(estimate.shape)
        fields = [("true f", truth), *fields, ("recovered - true", estimate - truth)]
    paths = [save(distribution_figure(fields, derived["eta"], derived["h"], stem),
                  directory / f"{stem}-distribution.png")]
    if "slit0_data" in derived:
        paths.append(save(profiles_figure(derived), directory / f"{stem}-profiles.png"))
    return paths
