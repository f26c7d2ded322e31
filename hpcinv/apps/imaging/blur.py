"""Gaussian image deblurring (Ramlau, Soodhalter & Hutterer §7.1, with IR Tools' ``PRblur``).

The blur is IR Tools' ``psfGauss`` of standard deviation ``sigma`` pixels on an n x n image,
with reflective boundaries (IR Tools' default; the symmetric PSF makes the operator
DCT-diagonal and symmetric) or periodic ones.  The truth is ``geometric_pattern``.  Data:

* ``inverse_crime = true``: b = A x_true, the model that also solves;
* ``inverse_crime = false`` (IR Tools' CommitCrime 'off'): the scene sampled on a grid padded
  by ``pad`` pixels on each side (default: ceil(4 sigma)), blurred there with periodic
  boundaries and cropped to the n x n field, so the data see what lies outside the field and
  the reflective model does not;

then Gaussian noise of relative norm ``noise_level`` (IR Tools' ``PRnoise``).  The problem's
auxiliary operators are the same blur with the ``auxiliary_sigmas`` (the paper's narrower
blurs, from which ``recycle = "sd-iterates"`` builds recycle vectors).
"""
from __future__ import annotations

import math

import numpy as np

from ...core.jobspec import Field
from ...operators.convolution import PeriodicConvolution, ReflectiveConvolution
from ...core.problem import Problem
from ...solvers.recycling.capabilities import AuxiliaryOperators
from ..synthetic.noise import add_relative_noise
from ..synthetic.problems import check_arguments
from .images import geometric_pattern
from .psf import gaussian_psf

BOUNDARIES = ("reflective", "periodic")

PARAMETERS = {
    "n": Field(int, 500, "image side in pixels (n x n unknowns)", minimum=8),
    "sigma": Field(float, 6.0, "standard deviation of the Gaussian PSF in pixels",
                   minimum=0, exclusive_minimum=True),
    "boundary": Field(str, "reflective", "boundary conditions of the model", choices=BOUNDARIES),
    "inverse_crime": Field(bool, False, "true: data from the model itself; false: blur of a "
                           "padded scene, cropped"),
    "pad": Field(int, 0, "inverse_crime = false: padding in pixels (0: ceil(4 sigma))",
                 minimum=0),
    "noise_level": Field(float, 0.01, "relative noise ||e|| / ||b||", minimum=0, maximum=1),
    "seed": Field(int, 0, "seed of the noise", minimum=0),
    "auxiliary_sigmas": Field(list, [0.5, 0.75, 1.0, 1.25, 1.5], "PSF widths of the auxiliary "
                              "blurs for sd-iterate recycle spaces", items=float,
                              minimum=0, exclusive_minimum=True),
}


def blur_operator(comm, n: int, sigma: float, boundary: str):
    """The n x n Gaussian blur with the given boundaries, distributed in row slabs.

    A periodic PSF is psfGauss((n, n), sigma) itself.  The reflective operator needs a PSF
    exactly symmetric about its centre, so it takes psfGauss on the odd square of side
    2 (n // 2) + 1 (for even n one row and column more, holding at most exp(-n^2 / (8
    sigma^2)) of the peak)."""
    if boundary == "periodic":
        psf, center = gaussian_psf((n, n), sigma)
        return PeriodicConvolution(comm, psf, center)
    side = 2 * (n // 2) + 1
    psf, center = gaussian_psf((side, side), sigma)
    return ReflectiveConvolution(comm, psf, center, (n, n))


def _padded_data(comm, n: int, sigma: float, pad: int, operator):
    """The blur of the scene on the (n + 2 pad)^2 grid with periodic boundaries, cropped to
    the field and redistributed to ``operator``'s layout by a PETSc scatter."""
    from petsc4py import PETSc

    size = n + 2 * pad
    padded = blur_operator(comm, size, sigma, "periodic")
    scene, blurred = padded.create_vecs()
    rows = padded.rows
    scene.getArray()[:] = geometric_pattern(np.arange(rows.start, rows.stop) - pad,
                                            np.arange(size) - pad, n).ravel()
    padded.mult(scene, blurred)
    _, data = operator.create_vecs()
    start, stop = data.getOwnershipRange()
    flat = np.arange(start, stop)
    source = (flat // n + pad) * size + flat % n + pad
    index_from = PETSc.IS().createGeneral(source.astype(PETSc.IntType), comm=comm)
    index_to = PETSc.IS().createGeneral(flat.astype(PETSc.IntType), comm=comm)
    scatter = PETSc.Scatter().create(blurred, index_from, data, index_to)
    scatter.scatter(blurred, data, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
    for obj in (scatter, index_from, index_to, scene, blurred):
        obj.destroy()
    return data


def gaussian_blur_problem(comm, n: int = 500, sigma: float = 6.0, boundary: str = "reflective",
                          inverse_crime: bool = False, pad: int = 0, noise_level: float = 0.01,
                          seed: int = 0, auxiliary_sigmas=(0.5, 0.75, 1.0, 1.25, 1.5)) -> Problem:
    """The §7.1 deblurring problem on ``comm`` (see the module docstring)."""
    check_arguments("gaussian_blur_problem", PARAMETERS,
                    dict(n=n, sigma=sigma, boundary=boundary, inverse_crime=inverse_crime,
                         pad=pad, noise_level=noise_level, seed=seed,
                         auxiliary_sigmas=list(auxiliary_sigmas)))
    operator = blur_operator(comm, n, sigma, boundary)
    truth, data = operator.create_vecs()
    rows = operator.rows
    truth.getArray()[:] = geometric_pattern(np.arange(rows.start, rows.stop),
                                            np.arange(n), n).ravel()
    if inverse_crime:
        operator.mult(truth, data)
    else:
        data = _padded_data(comm, n, sigma, pad or math.ceil(4 * sigma), operator)
    noise_free = data.copy()
    noise_norm = add_relative_noise(data, noise_level, seed)
    auxiliary = [blur_operator(comm, n, s, boundary) for s in auxiliary_sigmas]
    return Problem(operator=operator, data=data, noise_norm=noise_norm, truth=truth,
                   grid_shape=(n, n), noise_free_data=noise_free,
                   capabilities=[AuxiliaryOperators(auxiliary)],
                   attributes={"n": n, "sigma": sigma, "boundary": boundary,
                               "inverse_crime": inverse_crime, "noise_level": noise_level,
                               "seed": seed})
