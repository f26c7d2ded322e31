"""Augmentation by whole Fourier modes of a periodic convolution, applied in its spectrum.

When T is a periodic (BCCB) convolution and U spans complete Fourier modes (each frequency
with its conjugate), C = T U spans the same modes, so Q = P = the projector onto them: the
augmented steepest-descent / Landweber step of Algorithm 2 is a plain step with T replaced by
(I - Q) T = T (I - P), which is T with its eigenvalues on those modes set to 0, and
x_p = U C^T y = T^+ Q y.  Both are applied inside T's FFTs, so such a space costs nothing
per iteration, where the generic ``RecycleSpace`` adds two passes over its k vectors (the
paper's AO case: the modes are the exact eigenvectors of its PSF_0 operator).  The masked
operator has zero gain on the recycled modes, so the rounding each FFT leaves there is never
amplified (skipping the vector projections of the generic form instead lets it grow by
|1 - alpha lambda| per step).
"""
from __future__ import annotations

from ...operators.convolution import PeriodicConvolution
from .space import RecycleSpace


def _closed_set(frequencies, shape) -> list:
    """The frequencies as sorted unique tuples reduced modulo the grid; ValueError unless
    the set holds -f with every f (a real space of whole modes)."""
    reduced = {tuple(int(f) % n for f, n in zip(frequency, shape)) for frequency in frequencies}
    for frequency in reduced:
        if len(frequency) != len(shape):
            raise ValueError(f"frequency {frequency} does not match the grid {shape}")
        conjugate = tuple((-f) % n for f, n in zip(frequency, shape))
        if conjugate not in reduced:
            raise ValueError(f"frequency {frequency} comes without its conjugate {conjugate}: "
                             f"the modes must be whole (each cosine with its sine)")
    return sorted(reduced)


class FourierRecycleSpace:
    """The recycle space of the full-grid ``frequencies`` (a set closed under f -> -f) of the
    PeriodicConvolution ``operator``.  A frequency whose eigenvalue is at most
    ``drop_tolerance`` times the largest is dropped: T u is rounding there (the same
    decision on every rank, from the whole spectrum)."""

    def __init__(self, operator, frequencies, drop_tolerance: float = 1e-10):
        if not 0.0 <= drop_tolerance < 1.0:
            raise ValueError(f"drop_tolerance must be in [0, 1), got {drop_tolerance}")
        frequencies = _closed_set(frequencies, operator.image_shape)
        magnitude = abs(operator.full_spectrum())
        floor = drop_tolerance * magnitude.max()
        kept = [f for f in frequencies if magnitude[f] > floor]
        self.operator = operator
        self.k = len(kept)
        self.dropped = len(frequencies) - len(kept)
        self._mask = operator.mode_mask(kept)
        self._step_operator = operator.without_modes(self._mask)
        self._no_projections = RecycleSpace(operator, [])

    def step_parts(self):
        """(the operator of the steps, the space whose projections they apply): here the
        masked T and no vector projections."""
        return self._step_operator, self._no_projections

    def range_norm(self, r) -> float:
        """||Q r||: 0 for a residual orthogonal to C."""
        projected = r.duplicate()
        self.operator.project_modes(r, projected, self._mask)
        norm = projected.norm()
        projected.destroy()
        return norm

    def initial(self, x0, r0):
        """(x0 + T^+ Q r0, r0 - Q r0), as ``RecycleSpace.initial``."""
        x, r = x0.copy(), r0.copy()
        correction = x0.duplicate()
        self.operator.project_modes(r0, correction, self._mask, inverse=True)
        x.axpy(1.0, correction)
        self.operator.project_modes(r0, correction, self._mask)
        r.axpy(-1.0, correction)
        correction.destroy()
        return x, r


def is_spectral_candidate(operator) -> bool:
    """True for an (unmasked) periodic convolution."""
    return isinstance(operator, PeriodicConvolution) and not operator.masked

