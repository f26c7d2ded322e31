"""How a reconstruction's maps and LOSVDs compare with a mock's truth (``hpcinv reproduce
pnkr-vs-ppxf``): map RMS errors over the sky with mass, LOSVD L1 errors, and whether a
bimodal truth LOSVD is recovered as bimodal with its peaks where the truth has them.

All LOSVDs here are light-weighted densities on the mesh's velocity basis points
(``derived.py``), the truth's, hpcinv's and pPXF's alike (pPXF's Gauss-Hermite fits
averaged over the same basis functions).
"""
from __future__ import annotations

import numpy as np

from .derived import MAP_NAMES

# Where the truth mass is below this fraction of its peak, every map is a ratio of two
# near-zero numbers: those sky positions are left out, for every method alike.
MASS_FLOOR = 0.01
# A peak: a local maximum of at least this fraction of the LOSVD's highest value, parted
# from its neighbour peak by a dip to at most DIP of the lower one (else they are one peak).
PEAK_HEIGHT = 0.05
DIP = 0.8
# A recovered peak lies within this many velocity node spacings of the truth's.
PEAK_TOLERANCE_NODES = 2.0
# The LOSVD's core: within this many truth dispersions of the truth's mean velocity.  Mass
# beyond it (a low pedestal over the velocity range) dominates a moment sigma_v's error.
CORE_SIGMAS = 3.0


def sky_mask(truth_mass: np.ndarray) -> np.ndarray:
    return truth_mass >= MASS_FLOOR * np.nanmax(truth_mass)


def map_error(name: str, estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """RMS of estimate - truth over ``mask``; for the mass relative to the truth's RMS."""
    error = np.sqrt(np.mean((estimate[mask] - truth[mask]) ** 2))
    if name == "mass":
        error /= np.sqrt(np.mean(truth[mask] ** 2))
    return float(error)


def losvd_error(losvd: np.ndarray, truth: np.ndarray, velocity_weights: np.ndarray):
    """int |p - p_true| dv / int |p_true| dv along the last axis: the L1 distance of
    unit-integral LOSVDs (0: identical, 2: disjoint)."""
    return np.abs(losvd - truth) @ velocity_weights / (np.abs(truth) @ velocity_weights)


def losvd_peaks(losvd: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """The velocities of a LOSVD's separate peaks, highest first: interior maxima (a rise at
    the end of the velocity range is a component cut off by it, not a peak); none for a
    LOSVD without data (NaN) or mass."""
    values = np.asarray(losvd, dtype=float)
    if not np.all(np.isfinite(values)) or not values.max() > 0:
        return np.empty(0)
    top = values.max()
    maxima = [k for k in range(1, values.size - 1) if values[k] > values[k - 1]
              and values[k] >= values[k + 1] and values[k] >= PEAK_HEIGHT * top]
    kept = maxima[:1]
    for k in maxima[1:]:
        previous = kept[-1]
        dip = values[previous:k + 1].min()
        if dip <= DIP * min(values[previous], values[k]):
            kept.append(k)
        elif values[k] > values[previous]:   # one peak: the higher maximum stands for it
            kept[-1] = k
    kept.sort(key=lambda k: -values[k])
    return velocity[kept]


def bimodal_recovered(estimate_peaks: np.ndarray, truth_peaks: np.ndarray,
                      tolerance: float) -> bool:
    """Both of the truth's two highest peaks have a peak of the estimate within
    ``tolerance`` km/s, and two different ones: a Gauss-Hermite wing or ringing elsewhere
    does not count."""
    if estimate_peaks.size < 2 or truth_peaks.size < 2:
        return False
    near = np.abs(estimate_peaks[None, :] - truth_peaks[:2, None]) <= tolerance
    return any(near[0, i] and near[1, j] for i in range(estimate_peaks.size)
               for j in range(estimate_peaks.size) if i != j)


def bimodality(estimate: np.ndarray, truth: np.ndarray, velocity: np.ndarray,
               mask: np.ndarray) -> dict:
    """Over the sky positions of ``mask``: how many truth LOSVDs are bimodal, how many of
    those the estimate recovers as bimodal (``bimodal_recovered``), and at how many
    unimodal truths the estimate shows a second peak (``false_bimodal``)."""
    tolerance = PEAK_TOLERANCE_NODES * float(np.median(np.diff(velocity)))
    counts = {"bimodal_truth": 0, "bimodal_recovered": 0, "false_bimodal": 0}
    for position in zip(*np.nonzero(mask)):
        truth_peaks = losvd_peaks(truth[position], velocity)
        estimate_peaks = losvd_peaks(estimate[position], velocity)
        if truth_peaks.size >= 2:
            counts["bimodal_truth"] += 1
            counts["bimodal_recovered"] += bimodal_recovered(estimate_peaks, truth_peaks,
                                                             tolerance)
        elif estimate_peaks.size >= 2:
            counts["false_bimodal"] += 1
    return counts


def core_and_wings(losvds: np.ndarray, mean: np.ndarray, sigma: np.ndarray,
                   velocity: np.ndarray, velocity_weights: np.ndarray):
    """Per LOSVD (rows): the fraction of its mass farther than CORE_SIGMAS x ``sigma`` from
    ``mean`` (the truth's moments), and its dispersion within that window (NaN without
    mass there)."""
    losvds = np.nan_to_num(losvds)
    far = np.abs(velocity[None] - mean[:, None]) > CORE_SIGMAS * sigma[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        wings = (losvds * far) @ velocity_weights / (losvds @ velocity_weights)
        core = np.where(far, 0.0, losvds)
        mass = core @ velocity_weights
        centre = (core * velocity) @ velocity_weights / mass
        spread = (core * (velocity[None] - centre[:, None]) ** 2) @ velocity_weights / mass
    return wings, np.sqrt(spread)


def compare(products: dict, truth: dict, velocity_weights: np.ndarray) -> dict:
    """One method's errors against the truth (``truth``: derived products with truth_*
    entries): {"maps": {name: RMS}, "losvd_nine": [L1 at the nine positions],
    "losvd_all": mean L1 over the sky with mass, "wing_mass" (and the truth's): the mean
    mass fraction beyond the truth's core, "sigma_v_core": RMS error of the dispersion
    within the core (``core_and_wings``), and the ``bimodality`` counts}."""
    mask = sky_mask(truth["truth_mass"])
    truth_cube, cube = truth["truth_losvd_cube"], products["losvd_cube"]
    # A LOSVD without mass is NaN (0 / 0): as far from the truth as an empty one, L1 = 1.
    all_errors = losvd_error(np.nan_to_num(cube[mask]), truth_cube[mask], velocity_weights)
    moments = (truth["truth_mu_v"][mask], truth["truth_sigma_v"][mask], truth["velocity"],
               velocity_weights)
    wings, core_sigma = core_and_wings(cube[mask], *moments)
    truth_wings, truth_core_sigma = core_and_wings(truth_cube[mask], *moments)
    return {"maps": {name: map_error(name, products[name], truth[f"truth_{name}"], mask)
                     for name in MAP_NAMES},
            "wing_mass": float(np.nanmean(wings)), "wing_mass_truth": float(np.mean(truth_wings)),
            "sigma_v_core": float(np.sqrt(np.nanmean((core_sigma - truth_core_sigma) ** 2))),
            "losvd_nine": [float(e) for e in losvd_error(products["losvd"], truth["truth_losvd"],
                                                         velocity_weights)],
            "losvd_all": float(np.mean(all_errors)),
            **bimodality(cube, truth_cube, truth["velocity"], mask),
            "sky_positions": int(mask.sum()), "sky_positions_total": int(mask.size)}
