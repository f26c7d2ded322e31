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

U and C live in SLEPc BVs (contiguous columns), so C^T w is one BLAS gemv and one reduction
(BVDotVec) and C w one gemv (BVMultVec): 0.36 ms each at k = 37 on 257^2 (one rank), where
VecMDot and two VecMAXPYs over separate Vecs took 2.1 ms.  Both stay even for an invariant
U, where C^T T T^T r vanishes in exact arithmetic: skipping them there lets rounding in the
recycled (dominant) modes grow by |1 - alpha lambda| per step (||C^T r|| / ||y|| reached
3.5e-7 after 20 steps on the AO problem with 12 Fourier modes).
"""
from __future__ import annotations

import numpy as np

from ...linalg.operator import Operator
from ...linalg.vectors import column_basis


class RecycleSpace:
    def __init__(self, operator, vectors, drop_tolerance: float = 1e-10):
        if not 0.0 <= drop_tolerance < 1.0:
            raise ValueError(f"drop_tolerance must be in [0, 1), got {drop_tolerance}")
        self.operator = operator
        self.dropped = 0
        self.k = 0
        vectors = list(vectors)
        self._U = self._C = None
        if not vectors:
            return
        domain, range_ = operator.create_vecs()
        self._U, self._C = column_basis(domain, len(vectors)), column_basis(range_, len(vectors))
        for vector in vectors:
            u = vector.copy()
            operator.mult(u, range_)
            c = range_
            before = c.norm()
            for _ in range(2):
                coefficients = self.coefficients(c)
                self.subtract_range(c, coefficients)
                self.add_domain(u, -coefficients)
            after = c.norm()
            if before == 0.0 or after <= drop_tolerance * before:
                self.dropped += 1
                continue
            c.scale(1.0 / after)
            u.scale(1.0 / after)
            self._C.insertVec(self.k, c)
            self._U.insertVec(self.k, u)
            self.k += 1
            for bv in (self._U, self._C):
                bv.setActiveColumns(0, self.k)

    @staticmethod
    def _columns(bv, k: int) -> list:
        out = []
        for j in range(k):
            column = bv.getColumn(j)
            out.append(column.copy())
            bv.restoreColumn(j, column)
        return out

    @property
    def U(self) -> list:
        """Copies of the domain vectors u_1 .. u_k (T u_i = c_i)."""
        return self._columns(self._U, self.k)

    @property
    def C(self) -> list:
        """Copies of the orthonormal range vectors c_1 .. c_k."""
        return self._columns(self._C, self.k)

    def step_parts(self):
        """(the operator of augmented steps, the space whose projections they apply): T and
        this space (``spectral.FourierRecycleSpace`` answers otherwise)."""
        return self.operator, self

    def range_norm(self, r) -> float:
        """||C^T r||: 0 for a residual orthogonal to C."""
        return float(np.linalg.norm(self.coefficients(r)))

    def coefficients(self, w) -> np.ndarray:
        """C^T w, in one reduction."""
        if not self.k:
            return np.zeros(0)
        return np.asarray(self._C.dotVec(w), dtype=float)

    def subtract_range(self, w, coefficients) -> None:
        """w -= C coefficients, in place."""
        if self.k:
            self._C.multVec(-1.0, 1.0, w, coefficients)

    def add_domain(self, v, coefficients) -> None:
        """v += U coefficients, in place."""
        if self.k:
            self._U.multVec(1.0, 1.0, v, coefficients)

    def project_range(self, w):
        """Q w = C C^T w, a new range Vec."""
        out = w.duplicate()
        if self.k:
            self._C.multVec(1.0, 0.0, out, self.coefficients(w))
        return out

    def complement_range(self, w):
        """(I - Q) w, a new range Vec."""
        out = w.copy()
        self.subtract_range(out, self.coefficients(w))
        return out

    def range_complement(self) -> "RangeComplement":
        """I - Q as an operator on the range (symmetric)."""
        return RangeComplement(self)

    def project_domain(self, v):
        """P v = U C^T T v, a new domain Vec (one product with T)."""
        _, tv = self.operator.create_vecs()
        self.operator.mult(v, tv)
        out = v.duplicate()
        self.add_domain(out, self.coefficients(tv))
        return out

    def initial(self, x0, r0):
        """Algorithm 2, lines 5-7: (x0 + U C^T r0, r0 - C C^T r0) as new Vecs; the residual
        of the returned x is the returned r when r0 = y - T x0, and it is orthogonal to C."""
        coefficients = self.coefficients(r0)
        x, r = x0.copy(), r0.copy()
        self.add_domain(x, coefficients)
        self.subtract_range(r, coefficients)
        return x, r


class RangeComplement(Operator):
    """I - Q = I - C C^T, the orthogonal projector onto the complement of C."""

    symmetric = True

    def __init__(self, space: RecycleSpace):
        layout = space.operator.range_layout
        super().__init__(layout, layout)
        self.space = space

    def mult(self, y, out) -> None:
        y.copy(out)
        self.space.subtract_range(out, self.space.coefficients(y))

    def mult_transpose(self, y, out) -> None:
        self.mult(y, out)
