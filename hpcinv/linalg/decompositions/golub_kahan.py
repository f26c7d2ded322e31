"""Golub-Kahan (lower) bidiagonalisation A V_k = U_{k+1} B_{k+1,k} on distributed Vecs, and
the hybrid (projected) Tikhonov solution it gives for any lambda (Luiken thesis (2.11)-(2.13)).

u_1 = b / ||b||; then alpha_j v_j = A^T u_j - beta_j v_{j-1} and
beta_{j+1} u_{j+1} = A v_j - alpha_j u_j.  Without reorthogonalisation the bases lose
orthogonality in floating point (converged Ritz values reappear as spurious copies, so B
describes A only approximately); full reorthogonalisation (SLEPc's Gram-Schmidt with refinement,
selectable with -bv_orthog_*) keeps them orthonormal at the cost of O(k) inner products a
step.  The scalars come from global norms, so they are identical on every rank.
"""
from __future__ import annotations

import numpy as np

from ..vectors import column_basis, combine_columns

# A new alpha or beta this small relative to the largest so far (an estimate of ||A||) is
# rounding noise: the Krylov space is invariant and the bidiagonal is final.
BREAKDOWN_TOLERANCE = 1e-13

_INITIAL_COLUMNS = 16


class GolubKahan:
    """The bidiagonalisation of ``operator`` started at the range Vec ``start`` (b).

    ``invariant`` becomes True at a breakdown (a zero alpha or beta: the Krylov space is
    invariant); ``step`` then adds nothing and the quadrature rules on the final bidiagonal
    are exact.
    """

    def __init__(self, operator, start, reorthogonalize: bool = True):
        m = operator.shape[0]
        if start.getSize() != m:
            raise ValueError(f"start: needs {m} entries (the operator's rows), "
                             f"got {start.getSize()}")
        self.operator = operator
        self.reorthogonalize = reorthogonalize
        self._v, self._u = operator.create_vecs()
        self._domain_work, self._range_work = self._v.duplicate(), self._u.duplicate()
        start.copy(self._u)
        self.start_norm = self._u.norm()
        if self.start_norm == 0:
            raise ValueError("start: the starting vector b is zero")
        self._u.scale(1.0 / self.start_norm)
        self._left = column_basis(self._u, _INITIAL_COLUMNS)
        self._right = column_basis(self._v, _INITIAL_COLUMNS)
        self._left.insertVec(0, self._u)
        self._left_columns = 1
        self._alphas: list[float] = []
        self._betas: list[float] = []
        self.matvecs = 0
        self.invariant = False

    @property
    def k(self) -> int:
        return len(self._alphas)

    @property
    def alphas(self) -> np.ndarray:
        """alpha_1..alpha_k, the diagonal of B."""
        return np.array(self._alphas)

    @property
    def betas(self) -> np.ndarray:
        """beta_2..beta_{k+1}, the subdiagonal of B (beta_1 is ``start_norm``)."""
        return np.array(self._betas)

    def bidiagonal(self) -> np.ndarray:
        """B_{k+1,k}, lower bidiagonal."""
        k = self.k
        matrix = np.zeros((k + 1, k))
        matrix[np.arange(k), np.arange(k)] = self._alphas
        matrix[np.arange(1, k + 1), np.arange(k)] = self._betas
        return matrix

    @property
    def left_basis(self):
        """U_{k+1} (BV; U_k after a breakdown at beta), columns active."""
        self._left.setActiveColumns(0, self._left_columns)
        return self._left

    @property
    def right_basis(self):
        """V_k (BV), columns active."""
        self._right.setActiveColumns(0, self.k)
        return self._right

    def step(self) -> bool:
        """Add column k + 1 to B; False (and ``invariant`` set) when the space is invariant.
        A breakdown at beta still adds the column, with beta_{k+1} = 0."""
        if self.invariant:
            return False
        k = self.k
        # alpha_{k+1} v_{k+1} = A^T u_{k+1} - beta_{k+1} v_k
        self.operator.mult_transpose(self._u, self._domain_work)
        self.matvecs += 1
        if k > 0:
            self._domain_work.axpy(-self._betas[-1], self._v)
        alpha = self._orthogonalise(self._right, k, self._domain_work)
        if self._negligible(alpha):
            self.invariant = True
            return False
        self._domain_work.copy(self._v)
        self._v.scale(1.0 / alpha)
        self._insert(self._right, k, self._v)
        # beta_{k+2} u_{k+2} = A v_{k+1} - alpha_{k+1} u_{k+1}
        self.operator.mult(self._v, self._range_work)
        self.matvecs += 1
        self._range_work.axpy(-alpha, self._u)
        beta = self._orthogonalise(self._left, k + 1, self._range_work)
        self._alphas.append(alpha)
        if self._negligible(beta):
            self._betas.append(0.0)
            self.invariant = True
            return True
        self._betas.append(beta)
        self._range_work.copy(self._u)
        self._u.scale(1.0 / beta)
        self._insert(self._left, k + 1, self._u)
        self._left_columns += 1
        return True

    def combine_v(self, y, out=None):
        """V_k y as a domain Vec (``out`` if given)."""
        return combine_columns(self.right_basis, y, out, name="y")

    def _orthogonalise(self, basis, columns: int, vec) -> float:
        """Project ``vec`` off the first ``columns`` columns (if reorthogonalising); its norm."""
        if not self.reorthogonalize or columns == 0:
            return vec.norm()
        basis.setActiveColumns(0, columns)
        norm, _ = basis.orthogonalizeVec(vec)
        return norm

    def _negligible(self, value: float) -> bool:
        scale = max(self._alphas + self._betas, default=0.0)
        return value <= BREAKDOWN_TOLERANCE * scale

    @staticmethod
    def _insert(basis, column: int, vec) -> None:
        allocated = basis.getSizes()[1]
        if column >= allocated:
            basis.resize(2 * allocated, copy=True)
        basis.insertVec(column, vec)


def projected_tikhonov(bidiagonal: np.ndarray, start_norm: float, lam: float) -> np.ndarray:
    """y = argmin ||B y - ||b|| e1||^2 + lam ||y||^2, as the least-squares problem
    [B; sqrt(lam) I] y = [||b|| e1; 0], which avoids squaring B's condition number."""
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    rows, k = bidiagonal.shape
    stacked = np.vstack([bidiagonal, np.sqrt(lam) * np.eye(k)])
    rhs = np.zeros(rows + k)
    rhs[0] = start_norm
    return np.linalg.lstsq(stacked, rhs, rcond=None)[0]


def hybrid_tikhonov(gk: GolubKahan, lam: float):
    """x = V_k y with y the projected Tikhonov solution: the Galerkin approximation of
    (A^T A + lam I) x = A^T b on the Krylov space, whose norms Theorem 1 gives
    (``quadrature.TikhonovBounds.galerkin_norms``)."""
    return gk.combine_v(projected_tikhonov(gk.bidiagonal(), gk.start_norm, lam))
