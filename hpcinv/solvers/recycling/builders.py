"""Vectors spanning a recycle space, built the three ways of Ramlau, Soodhalter and Hutterer.

(a) ``sd_iterates``: a few steepest-descent iterates of cheaper, related problems (blurs of
smaller width) on the same data (their §7.1); (b) ``SlidingWindow``: the last few solutions of
a closed-loop sequence (§7.2); (c) the dominant eigenvectors of a reference operator (§7.3), by SLEPc
for any square operator (``eigenvectors``, from ``linalg.decompositions.eigen``, repeated
eigenvalues counted) or exactly by Fourier modes for a periodic convolution
(``fourier_eigenvectors``).

Each builder returns a list of domain Vecs that only *spans* the space: making T U orthonormal
(T U = C R, U <- U R^-1) is the recycle space's job, not the builders'.  Only
``fourier_eigenvectors`` returns an orthonormal set, because the modes are orthonormal by
construction.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from ...linalg.decompositions.eigen import eigenvectors

__all__ = ["SlidingWindow", "eigenvectors", "fourier_eigenvectors", "fourier_mode_frequencies",
           "sd_iterates"]




def sd_iterates(auxiliary_operators, data, iterations: int = 2, all_iterates: bool = False):
    """Steepest-descent iterates of A x = data for each auxiliary operator A, from x = 0.

    Each step is x += alpha g with g = A^T (data - A x) and alpha = ||g||^2 / ||A g||^2 (the
    exact line search on the residual norm), so the iterates lie in the Krylov space of
    A^T A started from A^T data: smooth, data-adapted vectors at two products per step.
    Returns the last iterate of every operator, in the operators' order, or with
    ``all_iterates`` every iterate (operator-major, oldest first).  A zero gradient means x
    already solves the normal equations; its iterations stop there (repeating that x).
    """
    operators = list(auxiliary_operators)
    if not operators:
        raise ValueError("auxiliary_operators must hold at least one operator")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    n = operators[0].shape[1]
    for index, operator in enumerate(operators):
        if operator.shape[1] != n:
            raise ValueError(f"auxiliary_operators[{index}] has {operator.shape[1]} columns, "
                             f"auxiliary_operators[0] has {n}: they must share a domain")
        if operator.shape[0] != data.getSize():
            raise ValueError(f"data has length {data.getSize()} but auxiliary_operators"
                             f"[{index}] has {operator.shape[0]} rows")
    out = []
    for operator in operators:
        x, residual = operator.create_vecs()
        gradient, product = x.duplicate(), residual.duplicate()
        data.copy(residual)
        for _ in range(iterations):
            operator.mult_transpose(residual, gradient)
            gradient_norm2 = gradient.dot(gradient)
            if gradient_norm2 > 0:
                operator.mult(gradient, product)
                alpha = gradient_norm2 / product.dot(product)
                x.axpy(alpha, gradient)
                residual.axpy(-alpha, product)
            if all_iterates:
                out.append(x.copy())
        if not all_iterates:
            out.append(x)
    return out


class SlidingWindow:
    """The last ``size`` solutions of a sequence of related problems, oldest first.

    ``push`` stores a copy, so the caller may overwrite its Vec for the next frame; the oldest
    copy falls out once ``size`` are held.
    """

    def __init__(self, size: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        self.size = size
        self._vecs = deque(maxlen=size)

    def push(self, vec) -> None:
        self._vecs.append(vec.copy())

    def vectors(self) -> list:
        """The held copies, oldest first (the window's own Vecs: copy before modifying)."""
        return list(self._vecs)

    def clear(self) -> None:
        self._vecs.clear()

    def __len__(self) -> int:
        return len(self._vecs)


def fourier_eigenvectors(grid_shape, k: int, psf_spectrum=None, comm=None,
                         template=None) -> list:
    """``k`` real orthonormal Fourier modes: eigenvectors of every periodic convolution.

    On a 1-D or 2-D periodic grid (C order) circular convolution
    with a PSF has the eigenvectors exp(2 pi i f.j / n) with eigenvalues the DFT of the PSF,
    ``psf_spectrum = numpy.fft.fftn(psf)`` with the PSF's centre moved to index 0 (e.g.
    ``fftn(ifftshift(psf))``), an array of ``grid_shape`` identical on every rank.  Modes are
    ranked by |spectrum| (largest first; ties broken by frequency index), or, with
    ``psf_spectrum=None``, by the smallest |wavenumber| first, which is the same order for a
    smooth blur like a Gaussian.

    Frequencies f and -f give the real pair cos(2 pi f.j/n) and sin(2 pi f.j/n), each scaled
    to unit norm; f = -f (every component 0 or n/2) gives one cosine.  For a real symmetric
    PSF (real spectrum) every mode is an eigenvector; otherwise a pair spans the real
    invariant plane of lambda, conj(lambda).  If k splits a pair, the last vector is its
    cosine alone.  Each rank evaluates the modes at its own rows only, from the global row
    index r = j0 * n1 + j1; no FFT of a distributed vector is taken.  The Vecs have the
    layout of ``template`` when given (an operator's domain Vec), else PETSc's default.
    The paper's size, 257 x 257 with k = 198, takes 0.29 s on one rank (measured).
    """
    from ...core.petsc_env import initialize

    PETSc = initialize()
    shape = tuple(int(n) for n in np.atleast_1d(grid_shape))
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise ValueError(f"grid_shape must be 1-D or 2-D with positive sizes, got {grid_shape!r}")
    size = int(np.prod(shape))
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= size:
        raise ValueError(f"k must be an integer in [1, {size}], got {k!r}")
    if psf_spectrum is not None:
        psf_spectrum = np.asarray(psf_spectrum)
        if psf_spectrum.shape != shape:
            raise ValueError(f"psf_spectrum has shape {psf_spectrum.shape}, grid_shape is {shape}")
    modes = _ranked_modes(shape, k, psf_spectrum)
    if template is None:
        comm = comm if comm is not None else PETSc.COMM_WORLD
        template = PETSc.Vec().createMPI((PETSc.DECIDE, size), comm=comm)
    elif template.getSize() != size:
        raise ValueError(f"template has {template.getSize()} entries, the grid {size}")
    start, stop = template.getOwnershipRange()
    coordinates = np.unravel_index(np.arange(start, stop), shape)
    out = []
    for frequency, kind in modes:
        phase = 2 * np.pi * sum(f * j / n for f, j, n in zip(frequency, coordinates, shape))
        self_conjugate = all((2 * f) % n == 0 for f, n in zip(frequency, shape))
        scale = np.sqrt((1.0 if self_conjugate else 2.0) / size)
        vec = template.duplicate()
        vec.getArray()[:] = scale * (np.cos(phase) if kind == "cos" else np.sin(phase))
        out.append(vec)
    return out


def fourier_mode_frequencies(grid_shape, k: int, psf_spectrum=None):
    """The full-grid frequencies of ``fourier_eigenvectors(grid_shape, k, psf_spectrum)``:
    each mode's f and -f, a set closed under conjugation; None when the k-th vector is a
    cosine whose sine partner is left out (the modes then span no such set)."""
    shape = tuple(int(n) for n in np.atleast_1d(grid_shape))
    modes = _ranked_modes(shape, k, None if psf_spectrum is None else np.asarray(psf_spectrum))
    frequencies = set()
    for frequency, _ in modes:
        conjugate = tuple((-f) % n for f, n in zip(frequency, shape))
        frequencies.update({frequency, conjugate})
    return sorted(frequencies) if len(frequencies) == len(modes) else None


def _ranked_modes(shape, k: int, spectrum) -> list:
    """The first k (frequency, "cos" | "sin") modes, one representative per pair {f, -f}."""
    frequencies = np.array(np.unravel_index(np.arange(int(np.prod(shape))), shape)).T
    if spectrum is None:
        signed = [np.where(frequencies[:, axis] <= n // 2, frequencies[:, axis],
                           frequencies[:, axis] - n) for axis, n in enumerate(shape)]
        key = -sum(s.astype(float) ** 2 for s in signed)
    else:
        key = np.abs(spectrum).ravel()
    # Stable sort: equal keys keep the frequency (index) order, the same on every rank.
    order = np.argsort(-key, kind="stable")
    modes, taken = [], set()
    for index in order:
        frequency = tuple(int(f) for f in frequencies[index])
        conjugate = tuple((-f) % n for f, n in zip(frequency, shape))
        if frequency in taken or conjugate in taken:
            continue
        taken.add(frequency)
        modes.append((frequency, "cos"))
        if conjugate != frequency:
            modes.append((frequency, "sin"))
        if len(modes) >= k:
            break
    return modes[:k]
