"""The recycle space of augmented regularization (Ramlau, Soodhalter & Hutterer, Sec. 5).

Given domain vectors U = [u_1 ... u_k], the pair of projectors with T P = Q T is
Q = C C^T (orthogonal onto C = T U) and P = U C^T T (T*T-orthogonal onto U), once U is
rescaled so that T U = C with C orthonormal (Algorithm 2, lines 3-4; Remark 5.7).  Every
later use then costs k dot products and k axpys, never a k x k solve.

The thin QR T U = C R is Gram-Schmidt with one reorthogonalisation pass ("twice is enough"),
and each step applied to c = T u is applied to u too, so T u = c holds throughout and
U R^-1 is never formed by a triangular solve.  A column whose norm after orthogonalisation
is at most ``drop_tolerance`` times its norm before (T u almost in the span of the columns
kept so far, or T u = 0) is dropped: keeping it would divide by a number made of rounding
errors.
"""
from __future__ import annotations

import numpy as np

from ..operators.vectors import dots


class RecycleSpace:
    def __init__(self, operator, vectors, drop_tolerance: float = 1e-10):
        if not 0.0 <= drop_tolerance < 1.0:
            raise ValueError(f"drop_tolerance must be in [0, 1), got {drop_tolerance}")
        self.operator = operator
        self.U: list = []
        self.C: list = []
        self.dropped = 0
        for vector in vectors:
            u = vector.copy()
            _, c = operator.create_vecs()
            operator.mult(u, c)
            before = c.norm()
            for _ in range(2):
                coefficients = self.coefficients(c)
                self._subtract(c, coefficients, self.C)
                self._subtract(u, coefficients, self.U)
            after = c.norm()
            if before == 0.0 or after <= drop_tolerance * before:
                self.dropped += 1
                continue
            c.scale(1.0 / after)
            u.scale(1.0 / after)
            self.C.append(c)
            self.U.append(u)

    @property
    def k(self) -> int:
        return len(self.C)

    @staticmethod
    def _subtract(vec, coefficients, basis) -> None:
        """vec -= basis @ coefficients (nothing for an empty basis)."""
        if basis:
            vec.maxpy(-np.asarray(coefficients), basis)

    def coefficients(self, w) -> np.ndarray:
        """C^T w, in one reduction."""
        return dots(w, self.C) if self.C else np.zeros(0)

    def project_range(self, w):
        """Q w = C C^T w, a new range Vec."""
        out = w.duplicate()
        if self.C:
            out.maxpy(self.coefficients(w), self.C)
        return out

    def complement_range(self, w):
        """(I - Q) w, a new range Vec."""
        out = w.copy()
        self._subtract(out, self.coefficients(w), self.C)
        return out

    def project_domain(self, v):
        """P v = U C^T T v, a new domain Vec (one product with T)."""
        _, tv = self.operator.create_vecs()
        self.operator.mult(v, tv)
        out = v.duplicate()
        if self.U:
            out.maxpy(self.coefficients(tv), self.U)
        return out

    def initial(self, x0, r0):
        """Algorithm 2, lines 5-7: (x0 + U C^T r0, r0 - C C^T r0) as new Vecs; the residual
        of the returned x is the returned r when r0 = y - T x0, and it is orthogonal to C."""
        coefficients = self.coefficients(r0)
        x, r = x0.copy(), r0.copy()
        if self.C:
            x.maxpy(coefficients, self.U)
            r.maxpy(-coefficients, self.C)
        return x, r
