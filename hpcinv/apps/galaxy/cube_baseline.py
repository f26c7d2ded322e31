"""pPXF's baseline for a galaxy run on an observed datacube (``hpcinv reproduce pnkr-vs-ppxf
--result CUBE_RUN.h5``): there is no truth, so the two methods are compared with each other.

pPXF fits the spectra the run fitted (its /data: the cube on the mesh's pixels, in the
rest frame), with the cube's noise (the square root of its variance), the run's wavelength
mask as goodpixels, the run's templates at the run's instrumental resolution, and only the
spaxels the run fitted (left-out ones are NaN in both).  Printed: per map the RMS difference
hpcinv - pPXF over the spaxels where pPXF finds at least 1% of its peak mass, the mean L1
distance between their LOSVDs, how many LOSVDs of each have two separate peaks, and the
seconds; pPXF's maps and LOSVD cube are written as FITS beside the result, in the same
layout as ``hpcinv plot``'s.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .comparison_metrics import losvd_peaks
from .derived import MAP_NAMES


def observed_noise(prepared, layout) -> np.ndarray:
    """This rank's rows of the cube's noise sigma on the run's pixels."""
    return np.sqrt(layout.local_part(prepared.cube.variance))


def _as_truth(products: dict) -> dict:
    """pPXF's products under the truth_* names ``comparison_metrics.compare`` reads."""
    return {"velocity": products["velocity"],
            **{f"truth_{name}": value for name, value in products.items()}}


def _two_peaks(cube: np.ndarray, velocity: np.ndarray, mask: np.ndarray) -> int:
    return sum(losvd_peaks(cube[position], velocity).size >= 2
               for position in zip(*np.nonzero(mask)))


def cube_summary(solver: str, path: str, ppxf: dict, products: dict,
                 velocity_weights: np.ndarray) -> dict:
    """hpcinv's maps and LOSVDs against pPXF's on the same cube (``ppxf``: pPXF's derived
    products with the velocity)."""
    from ...core.errors import InputError
    from .comparison_metrics import compare, sky_mask

    # Compared where both methods have every map: pPXF's mass is NaN elsewhere, which
    # takes those spaxels out of the mask (a spaxel one method left unfitted, or 0 / 0).
    both = np.logical_and.reduce([np.isfinite(products[name]) & np.isfinite(ppxf[name])
                                  for name in MAP_NAMES])
    ppxf = dict(ppxf, velocity=products["velocity"], mass=np.where(both, ppxf["mass"], np.nan))
    mask = sky_mask(ppxf["mass"]) if both.any() else both
    if not mask.any():
        raise InputError(("--result", f"no spaxel of {path} has maps from both hpcinv and "
                                      f"pPXF"))
    differences = compare(products, _as_truth(ppxf), velocity_weights)
    return {"cube": path, "solver": solver, "maps": differences["maps"],
            "losvd_distance": differences["losvd_all"],
            "two_peaks_hpcinv": _two_peaks(products["losvd_cube"], products["velocity"], mask),
            "two_peaks_ppxf": differences["bimodal_truth"],   # pPXF's stand for the truth
            "spaxels": differences["sky_positions"],
            "spaxels_total": differences["sky_positions_total"]}


def format_cube_table(report: dict) -> str:
    lines = [f"pnkr-vs-ppxf on an observed cube (no truth: hpcinv - pPXF): pPXF "
             f"{report['ppxf_version']}, regul {report['regul']:g}; RMS differences over the "
             f"spaxels with at least 1% of pPXF's peak mass (mass: relative to pPXF's RMS)"]
    for summary, fit, run in zip(report["cube_summaries"], report["ppxf"], report["runs"]):
        lines += ["", f"cube {summary['cube']} ({summary['solver']}): {summary['spaxels']} of "
                      f"{summary['spaxels_total']} spaxels with mass; pPXF's maps: "
                      f"{fit['maps_fits']}",
                  f"{'':28s} {'hpcinv - pPXF':>16s}"]
        lines += [f"{name:28s} {summary['maps'][name]:16.4g}" for name in MAP_NAMES]
        lines += [f"{'LOSVD L1 distance (mean)':28s} {summary['losvd_distance']:16.4g}",
                  f"{'LOSVDs with two peaks':28s} {summary['two_peaks_hpcinv']:9d} hpcinv, "
                  f"{summary['two_peaks_ppxf']} pPXF",
                  f"{'seconds (ranks)':28s} {run['seconds']:9.1f} hpcinv ({run['ranks']}), "
                  f"{fit['seconds']:.1f} pPXF ({fit['ranks']})"]
    return "\n".join(lines)


def write_ppxf_maps(result_path: str, ppxf: dict, ppxf_version: str) -> str:
    """pPXF's maps and LOSVD cube as FITS beside the result (RESULT-ppxf-maps.fits), in the
    layout and with the sky WCS of the run's own maps, the run's job spec in the header;
    returns the path."""
    from ...core.io.results import read_result
    from .figures import maps_fits, sky_axes

    result = read_result(result_path)
    derived = {name: value for name, value in ppxf.items()
               if name in MAP_NAMES or name == "losvd_cube"}
    derived.update({name: result.derived[name] for name in ("sky_x", "sky_y", "velocity")})
    versions = dict(result.attributes.get("versions") or {}, ppxf=ppxf_version)
    attributes = dict(result.attributes, solver_kind="ppxf", stop_reason="",
                      iterations=-1, versions=versions)
    ppxf_result = type(result)(result.path, derived, {}, attributes, result.grid_shape)
    target = Path(result_path).with_name(Path(result_path).stem + "-ppxf-maps.fits")
    return str(maps_fits(ppxf_result, sky_axes(result), target, origin="pnkr-vs-ppxf"))
