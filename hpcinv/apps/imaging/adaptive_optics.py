"""Adaptive-optics image deconvolution (Ramlau, Soodhalter & Hutterer §7.3) and its
closed-loop frame sequence.

A star field (``images.star_field``) seen through an annular telescope aperture: the
operator is periodic convolution with the AO-corrected long-exposure PSF_phi (``psf.py``:
averaged residual Kolmogorov phase screens, a documented substitute for the paper's OCTOPUS
PSFs), the data carry uniform noise of relative norm ``noise_level`` (the paper's 10%
``rand`` noise), and the problem's reference operator is the convolution with the
diffraction-limited PSF_0 = |FFT(P)|^2, whose leading eigenvectors the paper recycles.

``frame = -1`` (default) averages ``exposures`` independent residual screens.  ``frame = f
>= 0`` is frame f of a closed loop under frozen flow: one residual screen moving by
``wind_pixels`` per sub-exposure, frame f averaging sub-exposures f E .. (f + 1) E - 1 with
E = ``exposures``, so consecutive frames see slowly changing PSFs; each frame draws its own
noise (sequence ``noise_seed(seed, frame)``) of the same static star field.

The PSFs are computed on rank 0 and broadcast (their cost is O(exposures n^2 log n), the
same on every rank count).
"""
from __future__ import annotations

import numpy as np

from ...core.jobspec import Field
from ...operators.convolution import PeriodicConvolution
from ...core.problem import Problem
from ...solvers.recycling.capabilities import ReferenceOperator
from ..synthetic.noise import DISTRIBUTIONS, add_relative_noise
from ..synthetic.problems import check_arguments
from .images import star_field
from .psf import annular_aperture, ao_residual_screen, aperture_psf, long_exposure_psf, strehl_ratio

PARAMETERS = {
    "n": Field(int, 257, "image side in pixels (n x n unknowns)", minimum=16),
    "stars": Field(int, 200, "number of point sources in the star field", minimum=1),
    "pupil_pixels": Field(int, 64, "aperture diameter in pupil samples (sets the PSF core "
                          "width, n / pupil_pixels pixels per lambda / D)", minimum=4),
    "obstruction": Field(float, 0.3, "central obstruction, as a fraction of the diameter",
                         minimum=0, maximum=0.95),
    "d_over_r0": Field(float, 20.0, "turbulence strength D / r0", minimum=0),
    "actuators": Field(int, 20, "deformable-mirror actuators across the diameter", minimum=1),
    "low_order_residual": Field(float, 0.05, "amplitude fraction of the turbulence the AO "
                                "loop leaves below its cut-off frequency", minimum=0, maximum=1),
    "exposures": Field(int, 50, "phase screens averaged into the PSF (per frame)", minimum=1),
    "frame": Field(int, -1, "-1: independent screens; f >= 0: frame f of the frozen-flow "
                   "sequence", minimum=-1),
    "wind_pixels": Field(int, 1, "frozen flow: screen shift per sub-exposure, in pupil "
                         "samples", minimum=0),
    "noise_level": Field(float, 0.1, "relative noise ||e|| / ||b||", minimum=0, maximum=1),
    "noise": Field(str, "uniform", "noise distribution", choices=tuple(DISTRIBUTIONS)),
    "seed": Field(int, 0, "seed of the stars, screens and noise", minimum=0),
}


FRAME_SEEDS = 1 << 40       # frames draw from sequences no single-problem seed reaches
FRAMES_PER_SEED = 1 << 20


def noise_seed(seed: int, frame: int) -> int:
    """The noise sequence of a frame: ``seed`` for the single problem (frame -1), and for
    the frames of a sequence sequences of their own, distinct for every (seed, frame)."""
    return seed if frame < 0 else FRAME_SEEDS + seed * FRAMES_PER_SEED + frame


def check_sizes(values: dict) -> list:
    # The transfer function is the pupil's autocorrelation, twice its width: beyond n / 2
    # it wraps around the grid and the PSF is aliased.
    if values["pupil_pixels"] > values["n"] // 2:
        return [("problem.pupil_pixels", f"{values['pupil_pixels']} exceeds n // 2 = "
                                         f"{values['n'] // 2} (the PSF would be aliased)")]
    if values["frame"] >= FRAMES_PER_SEED:
        return [("problem.frame", f"must be < {FRAMES_PER_SEED}")]
    return []


def ao_psfs(n: int, pupil_pixels: int, obstruction: float, d_over_r0: float, actuators: int,
            low_order_residual: float, exposures: int, frame: int, wind_pixels: int,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(PSF_0, PSF_phi) on the n x n grid, centred at (n // 2, n // 2)."""
    pupil = annular_aperture(n, pupil_pixels, obstruction)
    if frame < 0:
        rng = np.random.default_rng([seed, 1])
        screens = (ao_residual_screen(n, pupil_pixels, d_over_r0, actuators,
                                      low_order_residual, rng) for _ in range(exposures))
    else:
        screen = ao_residual_screen(n, pupil_pixels, d_over_r0, actuators, low_order_residual,
                                    np.random.default_rng([seed, 2]))
        first = frame * exposures
        screens = (np.roll(screen, (first + s) * wind_pixels, axis=1) for s in range(exposures))
    return aperture_psf(pupil), long_exposure_psf(pupil, screens)


def ao_problem(comm, n: int = 257, stars: int = 200, pupil_pixels: int = 64,
               obstruction: float = 0.3, d_over_r0: float = 20.0, actuators: int = 20,
               low_order_residual: float = 0.05, exposures: int = 50, frame: int = -1,
               wind_pixels: int = 1, noise_level: float = 0.1, noise: str = "uniform",
               seed: int = 0) -> Problem:
    """The §7.3 problem (or one frame of the sequence) on ``comm``; see the module docstring."""
    arguments = dict(n=n, stars=stars, pupil_pixels=pupil_pixels, obstruction=obstruction,
                     d_over_r0=d_over_r0, actuators=actuators,
                     low_order_residual=low_order_residual, exposures=exposures, frame=frame,
                     wind_pixels=wind_pixels, noise_level=noise_level, noise=noise, seed=seed)
    check_arguments("ao_problem", PARAMETERS, arguments)
    problems = check_sizes(arguments)
    if problems:
        raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))
    mpi = comm.tompi4py()
    psfs = None
    if mpi.rank == 0:
        psfs = ao_psfs(n, pupil_pixels, obstruction, d_over_r0, actuators, low_order_residual,
                       exposures, frame, wind_pixels, seed)
    psf_0, psf_phi = mpi.bcast(psfs, root=0)
    center = (n // 2, n // 2)
    operator = PeriodicConvolution(comm, psf_phi, center)
    reference = PeriodicConvolution(comm, psf_0, center)
    truth, data = operator.create_vecs()
    rows = operator.rows
    truth.getArray()[:] = star_field(rows.start, rows.stop, n, stars, seed).ravel()
    operator.mult(truth, data)
    noise_free = data.copy()
    noise_norm = add_relative_noise(data, noise_level, noise_seed(seed, frame), noise)
    return Problem(operator=operator, data=data, noise_norm=noise_norm, truth=truth,
                   grid_shape=(n, n), noise_free_data=noise_free,
                   capabilities=[ReferenceOperator(reference)],
                   attributes={**arguments, "strehl": strehl_ratio(psf_phi, psf_0)})
