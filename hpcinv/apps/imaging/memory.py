"""Memory estimates of the imaging problem kinds (``core.memory``), in units of one n x n
float64 image.

Measured for ``operators.convolution`` on one rank (n = 2048): mpi4py-fft's PFFT holds about
3 images of work arrays, a convolution with its slab, spectrum and eigenvalues 7 (split over
the ranks, like the images), and a periodic one also keeps the PSF's first column (1 image
on every rank); a product needs about 2 images of temporaries.  Building a PSF takes a few
whole images on every rank.
"""
from __future__ import annotations

import math

from ...core.memory import DOUBLE, MemoryEstimate

CONVOLUTION_IMAGES = 7          # per operator, distributed
PRODUCT_IMAGES = 2              # temporaries of a product, distributed
PSF_IMAGES = 4                  # building a PSF, on every rank
# Rank 0 draws the AO phase screens and their PSFs (complex FFTs of the whole pupil plane):
# about this many images at the peak; every rank then receives both PSFs (with their
# pickled copies) and keeps them until the problem is built.
AO_SCREEN_IMAGES = 15
AO_BROADCAST_IMAGES = 4


def _image(n: int) -> int:
    return DOUBLE * n * n


def blur_memory(values: dict) -> MemoryEstimate:
    """The blur, its auxiliary blurs and, for data without the inverse crime, the blur of
    the padded scene; the truth, data, noise-free data and noise images."""
    n, operators = values["n"], 1 + len(values["auxiliary_sigmas"])
    distributed = (CONVOLUTION_IMAGES * operators + PRODUCT_IMAGES + 4) * _image(n)
    # the periodic operators' first columns, and one PSF being built at a time
    replicated = (operators if values["boundary"] == "periodic" else 0) * _image(n)
    largest = n
    if not values["inverse_crime"]:
        largest = n + 2 * (values["pad"] or math.ceil(4 * values["sigma"]))
        # the periodic blur of the padded scene with its column, its two images and the
        # scatter's indices
        distributed += (CONVOLUTION_IMAGES + 2) * _image(largest) + 3 * _image(n)
        replicated += _image(largest)
    replicated += PSF_IMAGES * _image(largest)
    return MemoryEstimate(distributed, replicated, keys=("problem.n", "problem.auxiliary_sigmas"),
                          rows=n * n, columns=n * n,
                          facts={"auxiliary_operators": operators - 1, "grid_shape": (n, n)})


def ao_memory(values: dict) -> MemoryEstimate:
    """The AO-corrected and the reference convolutions (both periodic), the PSFs, and the
    truth, data, noise-free data and noise images."""
    n = values["n"]
    distributed = (2 * CONVOLUTION_IMAGES + PRODUCT_IMAGES + 4) * _image(n)
    replicated = (AO_SCREEN_IMAGES + AO_BROADCAST_IMAGES + 2) * _image(n)
    return MemoryEstimate(distributed, replicated, keys=("problem.n",), rows=n * n,
                          columns=n * n, facts={"periodic_reference": True, "grid_shape": (n, n)})
