"""Point-spread functions of the imaging problems: IR Tools' Gaussian, and telescope PSFs from
an annular aperture with and without adaptive-optics-corrected Kolmogorov turbulence.

Every PSF here is a 2-D array normalised to unit sum with its centre (the pixel holding
PSF(0, 0)) at (n0 // 2, n1 // 2), the convention of ``numpy.fft.fftshift`` and of IR Tools'
``psfGauss`` (MATLAB's fix(n/2) + 1, one-based).

The turbulent PSFs substitute for the ESO OCTOPUS PSFs of Ramlau, Soodhalter & Hutterer
(§7.3), which are not public: phase screens with the von Karman-free Kolmogorov spectrum
0.023 r0^(-5/3) f^(-11/3) (FFT method, Schmidt, "Numerical Simulation of Optical Wave
Propagation", 2010, listing 9.2), corrected by an ideal deformable mirror that removes all
but ``low_order_residual`` of the amplitude below its cut-off frequency 1 / (2 d_act) (the
fitting-error model), then PSF_phi = |FFT(P exp(i phi))|^2 averaged over the exposure.
"""
from __future__ import annotations

import numpy as np


def gaussian_psf(shape, sigma: float) -> tuple[np.ndarray, tuple[int, int]]:
    """IR Tools' ``psfGauss(shape, sigma)``: exp(-(x^2 + y^2) / (2 sigma^2)) on integer
    offsets from the centre, normalised to sum 1; returns (psf, centre)."""
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    n0, n1 = shape
    center = (n0 // 2, n1 // 2)
    y = np.arange(n0) - center[0]
    x = np.arange(n1) - center[1]
    psf = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2) / sigma ** 2)
    return psf / psf.sum(), center


def annular_aperture(n: int, pupil_pixels: int, obstruction: float) -> np.ndarray:
    """P: 1 inside the annulus of outer diameter ``pupil_pixels`` and inner diameter
    ``obstruction`` times that, centred at (n // 2, n // 2) of an n x n array, else 0."""
    if not 0 < pupil_pixels <= n:
        raise ValueError(f"pupil_pixels must be in (0, n={n}], got {pupil_pixels}")
    if not 0 <= obstruction < 1:
        raise ValueError(f"obstruction must be in [0, 1), got {obstruction}")
    offsets = np.arange(n) - n // 2
    radius = np.hypot(offsets[:, None], offsets[None, :]) / (pupil_pixels / 2)
    return ((radius <= 1.0) & (radius >= obstruction)).astype(float)


def aperture_psf(pupil: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
    """|FFT(P exp(i phase))|^2, centred and normalised to unit sum (PSF_0 without phase)."""
    field = pupil if phase is None else pupil * np.exp(1j * phase)
    psf = np.abs(np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(field)))) ** 2
    return psf / psf.sum()


def _frequencies(n: int, spacing: float) -> np.ndarray:
    f = np.fft.fftfreq(n, d=spacing)
    return np.hypot(f[:, None], f[None, :])


def ao_residual_screen(n: int, pupil_pixels: int, d_over_r0: float, actuators: int,
                       low_order_residual: float, rng) -> np.ndarray:
    """One n x n residual phase screen (radians) of the pupil sampling: Kolmogorov turbulence
    with strength D / r0, after an ideal DM with ``actuators`` across the pupil diameter
    leaves ``low_order_residual`` of the amplitude at frequencies below 1 / (2 d_act)."""
    spacing = 1.0 / pupil_pixels                # pupil diameter D = 1
    r0 = 1.0 / d_over_r0
    frequency = _frequencies(n, spacing)
    psd = np.zeros_like(frequency)
    nonzero = frequency > 0
    psd[nonzero] = 0.023 * r0 ** (-5.0 / 3.0) * frequency[nonzero] ** (-11.0 / 3.0)
    cutoff = actuators / 2.0                    # 1 / (2 d_act) with d_act = D / actuators
    psd[frequency <= cutoff] *= low_order_residual ** 2
    df = 1.0 / (n * spacing)
    coefficients = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
    return np.real(np.fft.ifft2(coefficients * np.sqrt(psd) * df)) * n * n


def long_exposure_psf(pupil: np.ndarray, screens) -> np.ndarray:
    """The average of the short-exposure PSFs |FFT(P exp(i phi))|^2 over ``screens``,
    normalised to unit sum."""
    total = np.zeros(pupil.shape)
    count = 0
    for phase in screens:
        total += aperture_psf(pupil, phase)
        count += 1
    if count == 0:
        raise ValueError("long_exposure_psf needs at least one phase screen")
    return total / total.sum()


def strehl_ratio(psf: np.ndarray, reference: np.ndarray) -> float:
    """Peak of ``psf`` over the peak of the diffraction-limited ``reference`` (both unit-sum)."""
    return float(psf.max() / reference.max())
