"""Block conjugate gradients on the normal equations of one frequency of an MDD problem.

Multidimensional deconvolution in the frequency domain solves, for every frequency f,
G_f Q_f = P_f for the impulse response G_f.  In the form of Luiken's thesis (ch. 4) that is
min_X ||A X - D||_F with A = Q_f^H (n_s x n_v), X = G_f^H (n_v x n_r) and D = P_f^H
(n_s x n_r): one linear system with n_r right-hand sides.  ``FrequencyBlockCG`` solves it
with all right-hand sides in one block; ``ColumnwiseCG`` solves them one at a time through
the same code with blocks of one column (the thesis' column-by-column baseline).

The algorithm (one frequency, from a start X0, usually 0):

1. Initial deflation of the right-hand sides: a QR factorisation with column pivoting of
   the residual R0 = D - A X0, R0 Pi = [Q1 Q2] [[R11, R12], [0, R22]], keeps the r columns
   with |R_ii| > tolerance * |R_00|; the block B = Q1 R11 is R0's r pivot columns.
2. One block step k = 1, 2, ... adds a block to an orthonormal basis V of the block Krylov
   space K_k(A^H A, A^H B): the first block is A^H B, each later one A^H A times the newest
   block, orthogonalised against all earlier blocks (block Arnoldi, thesis Algorithm 7,
   which is block Lanczos since A^H A is Hermitian; classical Gram-Schmidt twice so that V
   stays orthonormal in floating point).
3. A rank-revealing QR of each new block keeps only directions whose norm after the
   orthogonalisation exceeds tolerance times the scale of what A can produce: ||A_max||
   ||B|| for the first block (A^H B) and ||A_max||^2 for later ones (A^H A v, v of unit
   norm), where ||A_max|| is ``matrix_scale``, the largest norm of the matrices of all
   frequencies (by default this one's).  A direction already (numerically) in the space, or
   one A maps to (relatively) nothing, is dropped rather than normalised: a rank-deficient
   A, a converged direction or a frequency where the model holds no energy (the zero
   frequency of a Ricker wavelet) never divides by zero or amplifies noise by 1/||A||.  A block with nothing
   left means the space is invariant under A^H A: the iterate is the least-squares
   solution of the deflated system and the solver is ``exhausted`` (as it is once the basis
   spans all of C^n).
4. The iterate Z1 = V Y with Y = argmin ||A V Y - B||_F: the Galerkin (CG) solution of the
   normal equations A^H A Z = A^H B over the space, which minimises the data residual of
   every column over it.  (Block GMRES on the normal equations, the thesis' wording,
   minimises ||A^H (B - A Z)||_F instead: the same space, slightly different iterates; CG
   minimises the residual that a discrepancy rule measures.)
5. X = X0 + [Z1, Z1 R11^-1 R12], the column permutation Pi undone: the deflated columns'
   data are Q1 R12 = B R11^-1 R12, and the method is linear in the right-hand sides.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ...core.errors import ArgumentError


def check_tolerance(tolerance: float) -> float:
    if not 0.0 <= tolerance < 1.0:
        raise ArgumentError("deflation_tolerance", f"must be in [0, 1), got {tolerance}")
    return float(tolerance)


@dataclass(frozen=True)
class Deflation:
    """The rank-revealing QR of a block of right-hand sides D (m x s): D[:, order] =
    [Q1 Q2] [[R11, R12], [0, R22]] with the ``rank`` r columns whose |R_ii| exceed
    tolerance * |R_00| kept.  ``order`` is the pivot order of D's columns."""
    order: np.ndarray
    q1: np.ndarray          # m x r
    r11: np.ndarray         # r x r, upper triangular, invertible
    r12: np.ndarray         # r x (s - r)
    block: np.ndarray       # m x r: D's pivot columns, = Q1 R11 (the Krylov starting block)

    @classmethod
    def of(cls, data: np.ndarray, tolerance: float) -> "Deflation":
        q, r, order = scipy.linalg.qr(data, mode="economic", pivoting=True,
                                          check_finite=False)
        diagonal = np.abs(np.diag(r))
        # Pivoting makes |R_ii| non-increasing, so the kept columns are a prefix.
        rank = int(np.count_nonzero(diagonal > tolerance * diagonal[0])) if diagonal.size \
            and diagonal[0] > 0 else 0
        # The pivot columns themselves rather than the product Q1 R11: a column orthogonal
        # to A's range then stays exactly so, not up to rounding.
        return cls(order, q[:, :rank], r[:rank, :rank], r[:rank, rank:], data[:, order[:rank]])

    @property
    def rank(self) -> int:
        return self.r11.shape[0]

    @functools.cached_property
    def coupling(self) -> np.ndarray:
        """R11^-1 R12: the deflated columns as combinations of the pivot columns."""
        return scipy.linalg.solve_triangular(self.r11, self.r12)

    def expand(self, solved: np.ndarray) -> np.ndarray:
        """[Z1, Z1 R11^-1 R12] in D's column order, from the solution Z1 (or any linear
        image of it) for the block Q1 R11; zero columns when nothing was kept."""
        columns = np.zeros((solved.shape[0], self.order.size),
                           dtype=np.result_type(solved, self.r12))
        columns[:, self.order[:self.rank]] = solved
        if self.rank:
            columns[:, self.order[self.rank:]] = solved @ self.coupling
        return columns

    def reconstruction(self) -> np.ndarray:
        """Q1 [R11, R12] in D's column order: D up to the dropped Q2 R22."""
        return self.expand(self.q1 @ self.r11)


class FrequencyBlockCG:
    """Block CG on the normal equations of min ||A X - D||_F with every right-hand side in
    one deflated block (the module's algorithm); ``step()`` is one block step."""

    def __init__(self, matrix: np.ndarray, data: np.ndarray, *, start: np.ndarray | None = None,
                 tolerance: float = 1e-6, matrix_scale: float | None = None):
        self.matrix = matrix
        self.tolerance = check_tolerance(tolerance)
        self.matrix_scale = float(np.linalg.norm(matrix)) if matrix_scale is None \
            else float(matrix_scale)
        self.start = np.zeros((matrix.shape[1], data.shape[1]), dtype=np.result_type(
            matrix, data)) if start is None else np.array(start)
        self.start_residual = data - matrix @ self.start
        self.deflation = Deflation.of(self.start_residual, self.tolerance)
        self.block = self.deflation.block
        self.basis = np.empty((matrix.shape[1], 0), dtype=self.start.dtype)    # V
        self.image = np.empty((matrix.shape[0], 0), dtype=self.start.dtype)    # A V
        self._newest = slice(0, 0)
        self.solution = self.start.copy()
        self.residual_norm = float(np.linalg.norm(self.start_residual))
        self.iterations = 0
        self.exhausted = self.deflation.rank == 0

    @property
    def rank(self) -> int:
        """The rank of the right-hand sides after the initial deflation."""
        return self.deflation.rank

    def step(self) -> bool:
        """One block step; False (and nothing changed) when the space is exhausted."""
        if self.exhausted:
            return False
        if self.basis.shape[1] == 0:
            candidate = self.matrix.conj().T @ self.block
            scale = self.matrix_scale * float(np.max(np.linalg.norm(self.block, axis=0)))
        else:
            candidate = self.matrix.conj().T @ self.image[:, self._newest]
            scale = self.matrix_scale ** 2
        directions = self._new_directions(candidate, scale)
        if directions.shape[1] == 0:
            self.exhausted = True
            return False
        width = self.basis.shape[1]
        self.basis = np.concatenate([self.basis, directions], axis=1)
        self.image = np.concatenate([self.image, self.matrix @ directions], axis=1)
        self._newest = slice(width, self.basis.shape[1])
        coefficients = scipy.linalg.lstsq(self.image, self.block, lapack_driver="gelsy",
                                          check_finite=False)[0]
        self.solution = self.start + self.deflation.expand(self.basis @ coefficients)
        # A X - D = A Z - R0 with A Z = expand(A V Y): no product with A at full width.
        residual = self.deflation.expand(self.image @ coefficients) - self.start_residual
        self.residual_norm = float(np.linalg.norm(residual))
        self.iterations += 1
        # A basis of the whole space: the iterate is the least-squares solution already.
        self.exhausted = self.basis.shape[1] == self.matrix.shape[1]
        return True

    def _new_directions(self, candidate: np.ndarray, scale: float) -> np.ndarray:
        """An orthonormal basis of what ``candidate`` adds to the basis above tolerance times
        ``scale`` (block deflation)."""
        if scale == 0.0 or not np.any(candidate):
            return candidate[:, :0]
        for _ in range(2):
            candidate = candidate - self.basis @ (self.basis.conj().T @ candidate)
        q, r, _ = scipy.linalg.qr(candidate, mode="economic", pivoting=True,
                                 overwrite_a=True, check_finite=False)
        kept = int(np.count_nonzero(np.abs(np.diag(r)) > self.tolerance * scale))
        return q[:, :kept]


class ColumnwiseCG:
    """The column-by-column baseline: every right-hand side solved on its own by CG on the
    normal equations, i.e. ``FrequencyBlockCG`` with blocks of one column."""

    def __init__(self, matrix: np.ndarray, data: np.ndarray, *, start: np.ndarray | None = None,
                 tolerance: float = 1e-6, matrix_scale: float | None = None):
        if matrix_scale is None:
            matrix_scale = float(np.linalg.norm(matrix))
        self.columns = [FrequencyBlockCG(matrix, data[:, [j]], tolerance=tolerance,
                                         start=None if start is None else start[:, [j]],
                                         matrix_scale=matrix_scale)
                        for j in range(data.shape[1])]

    @property
    def rank(self) -> int:
        """The number of non-zero right-hand sides (each deflated on its own)."""
        return sum(column.rank for column in self.columns)

    @property
    def exhausted(self) -> bool:
        return all(column.exhausted for column in self.columns)

    @property
    def iterations(self) -> int:
        return max(column.iterations for column in self.columns)

    @property
    def solution(self) -> np.ndarray:
        return np.concatenate([column.solution for column in self.columns], axis=1)

    @property
    def residual_norm(self) -> float:
        return float(np.linalg.norm([column.residual_norm for column in self.columns]))

    def step(self) -> bool:
        advanced = [column.step() for column in self.columns]
        return any(advanced)


METHODS = {"block": FrequencyBlockCG, "column": ColumnwiseCG}


def frequency_solver(method: str, matrix: np.ndarray, data: np.ndarray, *,
                     start: np.ndarray | None = None, tolerance: float = 1e-6,
                     matrix_scale: float | None = None):
    """The per-frequency solver of ``method`` ("block" or "column") for min ||A X - D||_F;
    ``matrix_scale`` the largest norm of the matrices of all frequencies (default: this
    one's)."""
    if method not in METHODS:
        raise ArgumentError("method", f"must be one of {sorted(METHODS)}, got {method!r}")
    return METHODS[method](matrix, data, start=start, tolerance=tolerance,
                           matrix_scale=matrix_scale)
