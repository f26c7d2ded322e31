"""Cross-well straight-ray travel-time tomography, after AIR Tools II's ``seismictomo``: an
n x n grid on the unit square (axis 0: depth z, axis 1: horizontal x), ``sources`` sources in
the left well (x = 0) and ``receivers`` receivers in the right well (x = 1), one ray for every
source-receiver pair (row i * receivers + j for source i, receiver j).  Entry (ray, cell) is
the length of the ray in the cell, so A x is the travel time through slowness x.

Placement: like seismictomo, k sources on an edge of length 1 sit at the centres of k equal
pieces, (i + 1/2)/k.  Unlike seismictomo, whose sources are on the right edge and receivers on
the left edge and the surface, the receivers are all in the opposite well: the thesis' test
problem is cross-well (400 rays on a 50 x 50 grid, hence the defaults 20 x 20).

The truth is a sum of three Gaussian blobs (smooth and nearly zero on the boundary, which
suits the Dirichlet Laplacian of the thesis), not seismictomo's piecewise-constant
"tectonic" phantom.
"""
from __future__ import annotations

import numpy as np

from ...core.jobspec import Field
from ...operators.rays import ray_operator
from ...core.problem import Problem
from .grid import Grid
from .phantoms import gaussian_blobs
from ..synthetic.problems import SYNTHETIC_PARAMETERS, check_arguments, synthetic_problem

PARAMETERS = {
    "n": Field(int, 50, "cells per side of the unit square", minimum=1),
    "sources": Field(int, 20, "sources in the left well", minimum=1),
    "receivers": Field(int, 20, "receivers in the right well", minimum=1),
    **SYNTHETIC_PARAMETERS,
}


def _well_depths(count: int) -> np.ndarray:
    return (np.arange(count) + 0.5) / count


def crosswell_segments(sources: int, receivers: int) -> np.ndarray:
    """(sources * receivers, 2, 2): ray i * receivers + j from source i at (z_i, 0) to
    receiver j at (z_j, 1)."""
    z_source = np.repeat(_well_depths(sources), receivers)
    z_receiver = np.tile(_well_depths(receivers), sources)
    segments = np.zeros((sources * receivers, 2, 2))
    segments[:, 0, 0], segments[:, 1, 0], segments[:, 1, 1] = z_source, z_receiver, 1.0
    return segments


def grid_shape(values: dict) -> tuple:
    return (values["n"], values["n"])


def crosswell(comm, n: int = 50, sources: int = 20, receivers: int = 20,
              noise_level: float = 0.01, seed: int = 0,
              regularization: str = "identity") -> Problem:
    """The cross-well problem on an n x n grid on ``comm``."""
    check_arguments("crosswell", PARAMETERS,
                    dict(n=n, sources=sources, receivers=receivers, noise_level=noise_level,
                         seed=seed, regularization=regularization), grid_shape)
    grid = Grid((n, n), (0.0, 0.0), (1.0, 1.0))
    operator = ray_operator(comm, crosswell_segments(sources, receivers), grid.shape,
                            grid.lower, grid.upper)
    return synthetic_problem(comm, operator,
                             lambda start, stop: gaussian_blobs(*grid.centers(start, stop)),
                             grid.shape, noise_level=noise_level, seed=seed,
                             regularization=regularization,
                             attributes={"n": n, "sources": sources, "receivers": receivers})
