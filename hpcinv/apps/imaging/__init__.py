"""Imaging problems of subspace-recycling regularization: Gaussian deblurring
(``gaussian-blur``) and adaptive-optics deconvolution of a star field
(``ao-deconvolution``, with its closed-loop frame sequence), as problem kinds and as
functions for driver scripts."""
from ...core.lazy import lazy_exports

_EXPORTS = {"ao_problem": ".adaptive_optics", "gaussian_blur_problem": ".blur"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
