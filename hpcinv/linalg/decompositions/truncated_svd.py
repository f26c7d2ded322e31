"""A distributed truncated SVD A ~ U diag(s) V^T and the filtered solutions built from it.

Whatever produced it (randomized SVD, a SLEPc solver), the TSVD and Tikhonov solutions and the
parameter-choice model (``SpectralModel.of_svd``) need only U^T b, s and V: the k x k part lives replicated on every
rank, U and V stay distributed in SLEPc BVs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vectors import combine_columns


@dataclass
class TruncatedSVD:
    """``U`` (BV in the range layout) and ``V`` (BV in the domain layout) with k orthonormal
    columns each, ``s`` descending; ``matvecs`` products with A or A^T were spent on it."""
    U: object
    s: np.ndarray
    V: object
    matvecs: int
    method: str
    compressed: bool = True   # False: a range finder hit its rank cap before its tolerance

    @property
    def rank(self) -> int:
        return len(self.s)

    def project(self, b) -> np.ndarray:
        """U^T b, the same array on every rank."""
        return np.asarray(self.U.dotVec(b), dtype=float)

    def combine(self, coefficients, out=None):
        """V c as a domain Vec (into ``out`` when given)."""
        return combine_columns(self.V, coefficients, out)

    def tikhonov(self, b, lam: float, out=None):
        """x_lambda = sum_i s_i / (s_i^2 + lambda) (u_i^T b) v_i; a zero singular value
        contributes nothing (also at lambda = 0, where this is the pseudo-inverse)."""
        if not lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        filtered = np.zeros(self.rank)
        np.divide(self.s, self.s ** 2 + lam, out=filtered, where=self.s > 0)
        return self.combine(filtered * self.project(b), out)

    def tsvd(self, b, k: int, out=None):
        """x_k = sum_{i<k} (u_i^T b) / s_i v_i."""
        if not 0 <= k <= self.rank:
            raise ValueError(f"k must lie in [0, rank={self.rank}], got {k}")
        if k and self.s[k - 1] <= 0:
            raise ValueError(f"k={k} includes a zero singular value")
        coefficients = np.zeros(self.rank)
        coefficients[:k] = self.project(b)[:k] / self.s[:k]
        return self.combine(coefficients, out)
