"""pPXF (Cappellari 2017) for the pPXF baseline: installed from PyPI on first use (its
licence forbids shipping it), the mesh's templates in pPXF's form, the fits, and the fits
turned into coefficient rows on the galaxy mesh so that derived.py maps them like PNKR's."""
from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np

from .templates import SPEED_OF_LIGHT

# Pure Python; --no-deps because numpy/scipy/matplotlib/astropy come from Debian and pip
# must not replace the numpy petsc4py was built against.  ppxf 9.5.2 needs capfit.
PPXF_REQUIREMENTS = ("ppxf==9.5.2", "capfit==2.7.1")
MOMENTS = 6                 # V, sigma, h3, h4, h5, h6 (the paper's order)
VELSCALE_RATIO = 2          # templates at half the data's velocity scale, as in the kernel
# pPXF checks that the templates cover the data shifted by the velocity bounds +- 900 km/s.
TEMPLATE_MARGIN = 1000.0    # km/s


# --- pPXF on demand -------------------------------------------------------------------------

def ensure_ppxf():
    """pPXF's fitting class; installed with pip into this interpreter's environment first
    when it is missing."""
    try:
        from ppxf.ppxf import ppxf
    except ImportError:
        _install_ppxf()
        from ppxf.ppxf import ppxf
    return ppxf


def _install_ppxf() -> None:
    from ...core.errors import RuntimeFailure

    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", *PPXF_REQUIREMENTS]
    print(f"hpcinv: installing {' '.join(PPXF_REQUIREMENTS)} from PyPI for the pPXF baseline "
          f"(its licence forbids shipping it)", file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeFailure(f"pip could not install {' '.join(PPXF_REQUIREMENTS)} "
                             f"({' '.join(command)}): {result.stderr.strip()[-500:]}")
    importlib.invalidate_caches()   # the new site-packages entries must be seen by import


def ppxf_on_every_rank(mpi):
    """Rank 0 installs pPXF if needed, then every rank imports it."""
    from ...core.mpi import agree

    agree(mpi, lambda: ensure_ppxf() if mpi.rank == 0 else None)
    return agree(mpi, ensure_ppxf)


# --- pPXF fits ------------------------------------------------------------------------------

def ppxf_templates(library, mesh, wavelengths: np.ndarray, flux_scale: float):
    """(wavelengths, spectra (pixels, n_metal, n_age)): the library log-rebinned at the
    data's velocity scale / VELSCALE_RATIO, divided by the kernel's one flux scale, so the
    pPXF weights are masses in f's units (the kernel's columns are the same spectra)."""
    from .templates import log_grid, log_rebin

    v_low, v_high = mesh.velocity_range
    grid = log_grid(wavelengths[0] * np.exp(-(v_high + TEMPLATE_MARGIN) / SPEED_OF_LIGHT),
                    wavelengths[-1] * np.exp((TEMPLATE_MARGIN - v_low) / SPEED_OF_LIGHT),
                    mesh.velscale / VELSCALE_RATIO)
    spectra = log_rebin(library.wavelength, library.spectra, grid) / flux_scale
    return grid, np.moveaxis(spectra, -1, 0)


def fit_options(mesh, wavelengths, template_wavelengths, regul: float) -> dict:
    v_low, v_high = mesh.velocity_range
    # pPXF's default bounds, except V: kept within the mesh's velocity range, the support
    # PNKR's f has too.  The start is mid-range, with a tenth of the range as sigma.
    bounds = [[v_low, v_high], [0.01 * mesh.velscale, 1000.0]] + [[-0.3, 0.3]] * (MOMENTS - 2)
    return {"velscale": mesh.velscale, "start": [(v_low + v_high) / 2, (v_high - v_low) / 10],
            "moments": MOMENTS, "degree": -1, "mdegree": 0, "lam": wavelengths,
            "lam_temp": template_wavelengths, "velscale_ratio": VELSCALE_RATIO,
            "bounds": bounds, "regul": regul, "quiet": True}


def on_every_pixel(spectra: np.ndarray, noise: np.ndarray, fitted: np.ndarray,
                   options: dict) -> tuple:
    """(spectra, noise) of the fitted pixels spread over all the mesh's observed pixels, and
    ``options`` with pPXF's goodpixels: pPXF convolves a contiguous ln-lambda spectrum, and
    fits only the pixels a wavelength mask left, as hpcinv does.  The left-out pixels hold
    each spectrum's median (so its scale for the fit stays) and unit noise; pPXF never
    looks at them."""
    if fitted.all():
        return spectra, noise, options
    full = np.repeat(np.median(spectra, axis=1, keepdims=True), fitted.size, axis=1)
    full[:, fitted] = spectra
    full_noise = np.ones_like(full)
    full_noise[:, fitted] = noise
    return full, full_noise, {**options, "goodpixels": np.flatnonzero(fitted)}


def fit_spectra(ppxf, templates, spectra, noise, options: dict, progress) -> tuple:
    """Fit each row of ``spectra``; return (kinematics (n, MOMENTS), weights (n, n_metal,
    n_age)).  Each spectrum is scaled to median 1 for the fit, as pPXF's regularisation
    expects, and its weights scaled back.  A spectrum whose median is not positive (a faint
    spaxel of a real cube; pPXF refuses the noise scaled by it) is not fitted: its weights
    are zero, so its maps are NaN (``fittable``)."""
    kinematics = np.zeros((spectra.shape[0], MOMENTS))
    kinematics[:, 1] = 1.0               # an unfitted row's placeholder: a valid sigma
    weights = np.zeros((spectra.shape[0], *templates.shape[1:]))
    for index, (spectrum, sigma, usable) in enumerate(zip(spectra, noise, fittable(spectra))):
        if not usable:
            progress(index + 1)
            continue
        scale = np.median(spectrum)
        fit = ppxf(templates, spectrum / scale, sigma / scale, **options)
        kinematics[index] = fit.sol
        weights[index] = fit.weights.reshape(templates.shape[1:]) * scale
        progress(index + 1)
    return kinematics, weights


def fittable(spectra: np.ndarray) -> np.ndarray:
    """Which rows ``fit_spectra`` fits: those with a positive median."""
    return np.median(spectra, axis=1) > 0


# --- maps from pPXF fits --------------------------------------------------------------------

def gauss_hermite_losvd(velocity: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """pPXF's LOSVD (V, sigma, h3, ...) at ``velocity`` (km/s, pPXF's ln-lambda velocity),
    one row per parameter set, with derived.py's (van der Marel & Franx) Hermite
    polynomials, which pPXF uses too."""
    from .derived import hermite

    parameters = np.atleast_2d(parameters)
    mean, sigma = parameters[:, :1], parameters[:, 1:2]
    w = (velocity[None] - mean) / sigma
    series = 1 + sum(parameters[:, order - 1:order] * hermite(order, w)
                     for order in range(3, parameters.shape[1] + 1))
    return np.exp(-0.5 * w ** 2) / (np.sqrt(2 * np.pi) * sigma) * series


def gauss_hermite_integral(parameters: np.ndarray) -> np.ndarray:
    """int LOSVD dV for each parameter set: 1 + sum over even m >= 4 of h_m times
    int alpha H_m = sqrt(m!) / (2^(m/2) (m/2)!).  pPXF's weights multiply this, not 1."""
    from math import factorial

    parameters = np.atleast_2d(parameters)
    total = np.ones(parameters.shape[0])
    for order in range(4, parameters.shape[1] + 1, 2):
        total += parameters[:, order - 1] * np.sqrt(factorial(order)) / (
            2 ** (order // 2) * factorial(order // 2))
    return total


def ppxf_rows(kinematics: np.ndarray, weights: np.ndarray, grid,
              velocity_averaging) -> np.ndarray:
    """pPXF's fits as coefficient rows on the mesh, so derived.py makes their maps exactly as
    it makes PNKR's: f(v, z, t) = LOSVD(v) mass(z, t), with the LOSVD averaged over each
    velocity basis function like the truth (``velocity_averaging``: km/s points and the
    averaging weights, from Theta.averaging) and the template masses at the (z, t) basis
    points (s = 1: the templates).

    The kernel's Doppler factor 1 + v/c divides the template, which is exactly the Jacobian
    of pPXF's ln-lambda velocity V = c ln(1 + v/c), so f(v) = LOSVD(V(v)) with no factor.
    Negative Gauss-Hermite wings count as zero density, as negative coefficients do.
    """
    points, averaging = velocity_averaging
    w_v, w_z, w_t = grid.theta_weights
    ln_velocity = SPEED_OF_LIGHT * np.log1p(points / SPEED_OF_LIGHT)
    losvd = np.clip(gauss_hermite_losvd(ln_velocity, kinematics), 0, None) @ averaging.T
    total = losvd @ w_v
    # a LOSVD clipped to nothing (all wings negative) stays zero instead of becoming NaN
    losvd = np.divide(losvd, total[:, None], out=np.zeros_like(losvd), where=total[:, None] > 0)
    mass = weights * gauss_hermite_integral(kinematics)[:, None, None] / np.outer(w_z, w_t)
    return (losvd[:, :, None, None] * mass[:, None]).reshape(kinematics.shape[0], -1)
