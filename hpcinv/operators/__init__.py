"""Reusable forward operators: 2-D convolution in row slabs (periodic FFT, reflective DCT), the
separable Gaussian blur, straight-ray tomography matrices, the regularization operators L
of general-form penalties and the multidimensional convolution of seismic MDD in frequency
blocks.  The Operator base and its algebra are in ``hpcinv.linalg``."""
from .frequency_blocks import MultiDimensionalConvolution, TimeFrequencyTransform

__all__ = ["MultiDimensionalConvolution", "TimeFrequencyTransform"]
