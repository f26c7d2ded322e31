"""Imaging problems of subspace-recycling regularization: Gaussian deblurring
(``gaussian-blur``) and adaptive-optics deconvolution of a star field
(``ao-deconvolution``, with its closed-loop frame sequence), as problem kinds and as
functions for driver scripts."""
from .adaptive_optics import ao_problem
from .blur import gaussian_blur_problem

__all__ = ["ao_problem", "gaussian_blur_problem"]
