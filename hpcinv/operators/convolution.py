"""2-D image convolution with a point-spread function, distributed in row slabs by mpi4py-fft.

Both operators hold an n0 x n1 image as a C-ordered Vec whose rows are split across ranks
the way mpi4py-fft's slab decomposition splits axis 0, so a rank's Vec entries are exactly
its slab and no data moves except inside the parallel transforms.  The PSF is an array with
its centre (the pixel holding PSF(0, 0)) at ``center``; y = PSF * x means
y[i] = sum_p PSF[center + i - p] x[p].

* ``PeriodicConvolution``: periodic boundaries, diagonalised by the 2-D DFT (a BCCB matrix);
  its adjoint multiplies by the conjugate spectrum.
* ``ReflectiveConvolution``: reflective (half-sample symmetric) boundaries for a PSF that is
  symmetric about its centre in both axes; such a matrix is diagonalised by the 2-D DCT-II
  (Ng, Chan & Tang 1999; Hansen, Nagy & O'Leary, "Deblurring Images", 2006, Sec. 4.3), is
  symmetric, and its eigenvalues are DCT(A e_1) / DCT(e_1).

PETSc 3.18's petsc4py has no binding for MatCreateFFT, and mpi4py-fft (a Debian package)
gives the distributed real FFT and DCT with FFTW underneath; only the diagonal scaling in
between is written here.
"""
from __future__ import annotations

import copy

import numpy as np

from ..linalg.layout import Layout
from ..linalg.operator import Operator


def _check_psf(psf, center, image_shape) -> tuple[np.ndarray, tuple[int, int]]:
    psf = np.asarray(psf, dtype=float)
    if psf.ndim != 2:
        raise ValueError(f"psf must be a 2-D array, got shape {psf.shape}")
    if not np.all(np.isfinite(psf)):
        raise ValueError("psf has non-finite values")
    center = tuple(int(c) for c in center)
    if len(center) != 2 or not all(0 <= c < n for c, n in zip(center, psf.shape)):
        raise ValueError(f"center {center} lies outside the psf of shape {psf.shape}")
    if len(image_shape) != 2 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be 2-D with positive sizes, got {image_shape}")
    return psf, center


class _SlabConvolution(Operator):
    """Shared slab layout, Vec <-> slab views and the spectrum multiply."""

    symmetric = False

    def __init__(self, comm, image_shape, transforms=None):
        from mpi4py_fft import PFFT

        self.image_shape = tuple(int(n) for n in image_shape)
        self.transform = PFFT(comm.tompi4py(), self.image_shape, axes=(0, 1), dtype=float,
                              grid=(-1,), transforms=transforms)
        self.rows = self.transform.local_slice(False)[0]
        # mpi4py-fft chooses the slabs; the Vec layout follows them.
        layout = Layout.from_local(comm, (self.rows.stop - self.rows.start) * self.image_shape[1])
        super().__init__(layout, layout)
        self._slab = np.zeros(self.transform.shape(False))
        self._spectrum = np.zeros(self.transform.shape(True),
                                  dtype=self.transform.forward.output_array.dtype)

    def _forward(self, vec) -> np.ndarray:
        self._slab[...] = vec.getArray(readonly=True).reshape(self._slab.shape)
        return self.transform.forward(self._slab, self._spectrum, normalize=False)

    def _backward(self, spectrum, vec, scale: float | None = None) -> None:
        """vec = the inverse transform of ``spectrum``: mpi4py-fft's normalised inverse, or
        (for the DCT pair, which it does not normalise) the raw one times ``scale``."""
        out = vec.getArray()
        self.transform.backward(spectrum, self._slab, normalize=scale is None)
        out[:] = self._slab.ravel()
        if scale is not None:
            out *= scale


class PeriodicConvolution(_SlabConvolution):
    """y = PSF * x with periodic boundaries on an n0 x n1 image (a BCCB matrix)."""

    masked = False      # True for the copies ``without_modes`` makes

    def __init__(self, comm, psf, center, image_shape=None):
        image_shape = tuple(image_shape or np.shape(psf))
        psf, center = _check_psf(psf, center, image_shape)
        if psf.shape != image_shape:
            raise ValueError(f"a periodic PSF must have the image shape {image_shape}, "
                             f"got {psf.shape}")
        super().__init__(comm, image_shape)
        # PSF(0, 0) moved to pixel (0, 0): the first column of the BCCB matrix.
        column = np.roll(psf, (-center[0], -center[1]), axis=(0, 1))
        self._column = column
        self._slab[...] = column[self.rows]
        self._eigenvalues = self.transform.forward(self._slab, normalize=False).copy()

    def full_spectrum(self) -> np.ndarray:
        """All n0 x n1 eigenvalues (the DFT of the PSF's first column), on every rank, in
        the order of ``numpy.fft.fft2``: the exact eigenbasis is the Fourier modes."""
        if self.masked:
            raise ValueError("full_spectrum of a masked operator: ask the operator it was "
                             "made from")
        return np.fft.fft2(self._column)

    def mode_mask(self, frequencies) -> np.ndarray:
        """True at this rank's coefficients of the real FFT that belong to the full-grid
        frequencies (f0, f1) listed, a set closed under f -> -f (the real FFT keeps only
        f1 <= n1 // 2; the others are the conjugates of kept ones)."""
        n0, n1 = self.image_shape
        rows, cols = self.transform.local_slice(True)
        mask = np.zeros(self.transform.shape(True), dtype=bool)
        for f0, f1 in frequencies:
            if f1 > n1 // 2:
                f0, f1 = (-f0) % n0, (-f1) % n1
            if rows.start <= f0 < rows.stop and cols.start <= f1 < cols.stop:
                mask[f0 - rows.start, f1 - cols.start] = True
        return mask

    def without_modes(self, mask: np.ndarray) -> "PeriodicConvolution":
        """(I - Q) T = T (I - P) for Q = P the projector onto the masked Fourier modes: this
        operator with its eigenvalues there set to 0 (sharing the transform)."""
        masked = copy.copy(self)
        masked._shell = None
        masked.masked = True
        masked._eigenvalues = np.where(mask, 0.0, self._eigenvalues)
        return masked

    def project_modes(self, vec, out, mask: np.ndarray, inverse: bool = False) -> None:
        """out = Q vec, the masked Fourier modes of vec, or with ``inverse`` T^+ Q vec (the
        masked modes divided by their eigenvalues, which must not be 0 there: the caller
        leaves such modes out of the mask)."""
        spectrum = self._forward(vec)
        if inverse:
            spectrum[mask] /= self._eigenvalues[mask]
        spectrum[~mask] = 0.0
        self._backward(spectrum, out)

    def mult(self, x, y) -> None:
        spectrum = self._forward(x)
        spectrum *= self._eigenvalues
        self._backward(spectrum, y)

    def mult_transpose(self, y, x) -> None:
        spectrum = self._forward(y)
        spectrum *= np.conj(self._eigenvalues)
        self._backward(spectrum, x)


def reflective_first_column(psf: np.ndarray, center, image_shape) -> np.ndarray:
    """A e_1 for reflective boundaries: the image of a unit impulse at pixel (0, 0), whose
    mirror images at -1 in each axis add PSF[c + i + 1] to PSF[c + i] (Hansen, Nagy &
    O'Leary's ``dctshift``; reflections further out are beyond a PSF narrower than the
    image and are not represented by the DCT model anyway)."""
    n0, n1 = image_shape
    column = np.zeros(image_shape)
    for a in (0, 1):
        for b in (0, 1):
            rows = np.arange(n0) + center[0] + a
            cols = np.arange(n1) + center[1] + b
            ok_rows = rows < psf.shape[0]
            ok_cols = cols < psf.shape[1]
            column[np.ix_(ok_rows, ok_cols)] += psf[np.ix_(rows[ok_rows], cols[ok_cols])]
    return column


def is_doubly_symmetric(psf: np.ndarray, center, tolerance: float = 1e-12) -> bool:
    """True when PSF[c + i, c + j] = PSF[c - i, c + j] = PSF[c + i, c - j] wherever both
    sides lie in the array, and the array holds nothing beyond the mirrored part."""
    c0, c1 = center
    h0 = min(c0, psf.shape[0] - 1 - c0)
    h1 = min(c1, psf.shape[1] - 1 - c1)
    scale = np.abs(psf).max() or 1.0
    inner = psf[c0 - h0:c0 + h0 + 1, c1 - h1:c1 + h1 + 1]
    outside = np.abs(psf).sum() - np.abs(inner).sum()
    return (np.abs(inner - inner[::-1, :]).max() <= tolerance * scale
            and np.abs(inner - inner[:, ::-1]).max() <= tolerance * scale
            and outside <= tolerance * np.abs(psf).sum())


class ReflectiveConvolution(_SlabConvolution):
    """y = PSF * x with reflective boundaries, for a PSF symmetric about its centre in both
    axes; A = D^-1 diag(lambda) D with D the 2-D DCT-II, symmetric (A^T = A)."""

    symmetric = True

    def __init__(self, comm, psf, center, image_shape):
        from mpi4py_fft.fftw import dctn, idctn

        image_shape = tuple(int(n) for n in image_shape)
        psf, center = _check_psf(psf, center, image_shape)
        if not is_doubly_symmetric(psf, center):
            raise ValueError("reflective boundaries need a PSF symmetric about its centre in "
                             "both axes (the DCT diagonalises only those); use periodic "
                             "boundaries for this PSF")
        super().__init__(comm, image_shape, transforms={(0,): (dctn, idctn),
                                                        (1,): (dctn, idctn)})
        # The unnormalised DCT-II / DCT-III pair of FFTW: DCT-III(DCT-II(x)) = 4 n0 n1 x.
        self._inverse_scale = 1.0 / (4 * image_shape[0] * image_shape[1])
        impulse = np.zeros(image_shape)
        impulse[0, 0] = 1.0
        self._slab[...] = reflective_first_column(psf, center, image_shape)[self.rows]
        column = self.transform.forward(self._slab, normalize=False).copy()
        self._slab[...] = impulse[self.rows]
        self._eigenvalues = column / self.transform.forward(self._slab, normalize=False)

    def mult(self, x, y) -> None:
        spectrum = self._forward(x)
        spectrum *= self._eigenvalues
        self._backward(spectrum, y, scale=self._inverse_scale)

    def mult_transpose(self, y, x) -> None:
        self.mult(y, x)
