"""Augmentation by whole Fourier modes of a periodic convolution, applied in its spectrum.

When T is a periodic (BCCB) convolution and U spans complete Fourier modes (each frequency
with its conjugate), C = T U spans the same modes, so Q = P = the projector onto them: the
augmented steepest-descent / Landweber step of Algorithm 2 is a plain step with T replaced by
(I - Q) T = T (I - P), which is T with its eigenvalues on those modes set to 0, and
x_p = U C^T y = T^+ Q y.  Both are applied inside T's FFTs, so such a space costs nothing
per iteration, where the generic ``RecycleSpace`` adds two passes over its k vectors (the
paper's AO case: the modes are the exact eigenvectors of its PSF_0 operator).  The mask is
applied at every product, so rounding in the recycled modes is removed each step rather
than left to grow.
"""
from __future__ import annotations

from .recycle_space import RecycleSpace


class FourierRecycleSpace:
    """The recycle space of the full-grid ``frequencies`` (closed under conjugation) of the
    PeriodicConvolution ``operator``; frequencies where T's eigenvalue is 0 are dropped (the
    generic space drops exactly those modes too: T u = 0)."""

    def __init__(self, operator, frequencies):
        spectrum = operator.full_spectrum()
        kept = [f for f in frequencies if spectrum[f] != 0]
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
    return hasattr(operator, "mode_mask") and hasattr(operator, "without_modes")

