"""Parallel-beam X-ray tomography of the modified Shepp-Logan phantom, after IR Tools' PRtomo
and AIR Tools II's ``paralleltomo`` (the thesis' chapter 6 example): an n x n grid on
[-1, 1]^2 (axis 0: y upwards, axis 1: x), ``detectors`` parallel rays per angle, one pixel
(2/n) apart and centred, so they span the diagonal less one pixel (paralleltomo's default
d = p - 1).  The ray of offset s at angle theta passes through s (cos theta, sin theta) in
(x, y) along (-sin theta, cos theta); row a * detectors + j is ray j of angle a.  Entries are
lengths in domain units, so they are 2/n times AIR Tools' pixel-unit lengths.

The truth is the phantom at the cell centres.  The thesis' setup is n = 128 with 18 angles in
[0, 180), hence the defaults: A is 3258 x 16384.
"""
from __future__ import annotations

import numpy as np

from ...core.jobspec import Field
from ...operators.rays import ray_operator
from ...core.problem import Problem
from .grid import Grid
from .phantoms import shepp_logan
from ..synthetic.problems import SYNTHETIC_PARAMETERS, check_arguments, synthetic_problem

DEFAULT_ANGLES = [float(angle) for angle in range(0, 180, 10)]

PARAMETERS = {
    "n": Field(int, 128, "pixels per side of the square [-1, 1]^2", minimum=1),
    "angles": Field(list, DEFAULT_ANGLES, "projection angles in degrees", items=float,
                    check=lambda angles: None if angles else "needs at least one angle"),
    "detectors": Field(int, None, "rays per angle, one pixel apart (default round(sqrt(2) n))",
                       minimum=1),
    **SYNTHETIC_PARAMETERS,
}


def default_detectors(n: int) -> int:
    return int(round(np.sqrt(2) * n))


def parallel_beam_segments(n: int, angles, detectors: int) -> np.ndarray:
    """(len(angles) * detectors, 2, 2) end points, each (y, x), of rays long enough to cross
    the whole square."""
    theta = np.radians(np.asarray(angles, dtype=float))
    cos, sin = np.cos(theta), np.sin(theta)
    # Exact zeros at multiples of 90 degrees (MATLAB's cosd and sind): cos(pi/2) = 6e-17
    # would tilt a ray that runs along a grid line or the box's edge across it.
    cos[np.abs(cos) < 1e-15], sin[np.abs(sin) < 1e-15] = 0.0, 0.0
    offsets = (np.arange(detectors) - (detectors - 1) / 2) * (2.0 / n)
    through_x, through_y = np.outer(cos, offsets).ravel(), np.outer(sin, offsets).ravel()
    along_x, along_y = np.repeat(-sin, detectors), np.repeat(cos, detectors)
    half = 2.0      # > sqrt(2), the half-diagonal of the square
    segments = np.empty((len(through_x), 2, 2))
    segments[:, 0] = np.column_stack([through_y - half * along_y, through_x - half * along_x])
    segments[:, 1] = np.column_stack([through_y + half * along_y, through_x + half * along_x])
    return segments


def grid_shape(values: dict) -> tuple:
    return (values["n"], values["n"])


def parallel_beam(comm, n: int = 128, angles=tuple(DEFAULT_ANGLES), detectors: int | None = None,
                  noise_level: float = 0.01, seed: int = 0,
                  regularization: str = "identity") -> Problem:
    """The parallel-beam problem on an n x n grid on ``comm``."""
    angles = [float(angle) for angle in angles]
    check_arguments("parallel_beam", PARAMETERS,
                    dict(n=n, angles=angles, detectors=detectors, noise_level=noise_level,
                         seed=seed, regularization=regularization), grid_shape)
    detectors = default_detectors(n) if detectors is None else detectors
    grid = Grid((n, n), (-1.0, -1.0), (1.0, 1.0))
    operator = ray_operator(comm, parallel_beam_segments(n, angles, detectors), grid.shape,
                            grid.lower, grid.upper)

    def truth(start, stop):
        y, x = grid.centers(start, stop)
        return shepp_logan(x, y)

    return synthetic_problem(comm, operator, truth, grid.shape, noise_level=noise_level,
                             seed=seed, regularization=regularization,
                             attributes={"n": n, "angles": angles, "detectors": detectors})
