"""Reusable forward operators: 2-D convolution in row slabs (periodic FFT, reflective DCT), the
separable Gaussian blur, straight-ray tomography matrices and the regularization operators L
of general-form penalties.  The Operator base and its algebra are in ``hpcinv.linalg``."""
