"""Regularization operators L of general-form Tikhonov, min ||A x - b||^2 + lambda ||L x||^2,
on the C-ordered grid of the unknown, as distributed AIJ matrices that know their null space.

* ``identity``: L = I (standard form), on any grid;
* ``derivative``: the 1-D first difference, (n-1) x n, rows [-1, 1];
* ``laplacian``: the 1-D second difference, (n-2) x n, rows [1, -2, 1];
* ``laplacian2d``: the 5-point Laplacian on an (n0, n1) grid with zero Dirichlet boundary,
  T_0 (x) I + I (x) T_1 with T = tridiag(1, -2, 1) square.  It is invertible, so the standard
  form of the thesis' cross-well tomography is simply A L^-1 ("G L^-1");
* ``gradient2d``: [I (x) D_1; D_0 (x) I] with D the 1-D first difference, rows
  n0 (n1-1) + (n0-1) n1: the discrete gradient of total variation, whose null space is the
  constants.

No operator carries the grid spacing: a scale of L only rescales lambda.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..linalg.operator import MatOperator
from ..linalg.dense import aij_matrix
from ..linalg.layout import Layout
from .gaussian import kron_rows

NAMES = ("identity", "derivative", "laplacian", "laplacian2d", "gradient2d")
_DIMENSIONS = {"derivative": 1, "laplacian": 1, "laplacian2d": 2, "gradient2d": 2}
_MINIMUM_SIZE = {"derivative": 2, "laplacian": 3, "gradient2d": 2}


class RegularizationOperator(MatOperator):
    """An assembled L with its name, grid and null space N(L).

    ``full_row_rank``: whether L has independent rows (then L L^T is invertible).
    """

    def __init__(self, mat, name: str, grid_shape: tuple, full_row_rank: bool, null_space_fn):
        super().__init__(mat)
        self.name = name
        self.grid_shape = grid_shape
        self.full_row_rank = full_row_rank
        self._null_space_fn = null_space_fn

    def null_space_basis(self) -> list:
        """Orthonormal Vecs (domain layout) spanning N(L); empty when L is injective."""
        x = self.mat.createVecRight()
        start, stop = x.getOwnershipRange()
        columns = self._null_space_fn(start, stop)
        basis = []
        for column in columns.T:
            vec = x.duplicate()
            vec.getArray()[:] = column
            basis.append(vec)
        x.destroy()
        return basis


def difference(n: int, order: int) -> sp.csr_matrix:
    """The (n - order) x n forward difference of ``order`` 1 ([-1, 1]) or 2 ([1, -2, 1])."""
    stencil = {1: [-1.0, 1.0], 2: [1.0, -2.0, 1.0]}[order]
    return sp.diags(stencil, range(order + 1), shape=(n - order, n), format="csr")


def dirichlet_second_difference(n: int) -> sp.csr_matrix:
    """tridiag(1, -2, 1), n x n: the second difference with zero values beyond both ends."""
    return sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n, n), format="csr")


def grid_problem(name: str, grid_shape) -> str | None:
    """Why L named ``name`` cannot act on ``grid_shape``, or None when it can."""
    if name not in NAMES:
        return f"unknown regularization operator {name!r} (known: {', '.join(NAMES)})"
    if len(grid_shape) == 0 or any(int(n) != n or n < 1 for n in grid_shape):
        return f"grid_shape must hold positive sizes, got {tuple(grid_shape)}"
    dims = _DIMENSIONS.get(name)
    if dims is not None and len(grid_shape) != dims:
        return (f"{name!r} acts on {dims}-D grids, got a {len(grid_shape)}-D grid "
                f"{tuple(grid_shape)}")
    least = _MINIMUM_SIZE.get(name, 1)
    if min(grid_shape) < least:
        return f"{name!r} needs at least {least} points per axis, got {tuple(grid_shape)}"
    return None


def _stacked_sums(name: str, shape: tuple) -> list:
    """L as blocks stacked vertically, each a sum of Kronecker products of 1-D factors."""
    eye = [sp.identity(n, format="csr") for n in shape]
    if name == "identity":
        return [[eye]]
    if name == "derivative":
        return [[[difference(shape[0], 1)]]]
    if name == "laplacian":
        return [[[difference(shape[0], 2)]]]
    if name == "laplacian2d":
        return [[[dirichlet_second_difference(shape[0]), eye[1]],
                 [eye[0], dirichlet_second_difference(shape[1])]]]
    return [[[eye[0], difference(shape[1], 1)]], [[difference(shape[0], 1), eye[1]]]]


def _block_rows(terms: list) -> int:
    return int(np.prod([factor.shape[0] for factor in terms[0]]))


def _rows_of(blocks: list, size: int, start: int, stop: int) -> sp.csr_matrix:
    """Rows [start, stop) of the stacked sums, built from the 1-D factors only."""
    pieces, offset = [], 0
    for terms in blocks:
        rows = _block_rows(terms)
        first, last = max(start - offset, 0), min(stop - offset, rows)
        if first < last:
            pieces.append(sum(kron_rows(term, first, last) for term in terms))
        offset += rows
    return sp.vstack(pieces, format="csr") if pieces else sp.csr_matrix((0, size))


def _null_space(name: str, size: int):
    """(start, stop) -> entries [start, stop) of an orthonormal basis of N(L), as columns."""
    def none(start, stop):
        return np.zeros((stop - start, 0))

    def constants(start, stop):
        return np.full((stop - start, 1), 1 / np.sqrt(size))

    def affine(start, stop):
        centred = np.arange(start, stop) - (size - 1) / 2
        # sum over i of (i - (n-1)/2)^2 = n (n^2 - 1) / 12
        return np.column_stack([constants(start, stop)[:, 0],
                                centred / np.sqrt(size * (size ** 2 - 1) / 12)])

    return {"identity": none, "laplacian2d": none, "laplacian": affine}.get(name, constants)


def regularization_operator(comm, name: str, grid_shape) -> RegularizationOperator:
    """The operator ``name`` (one of NAMES) on the C-ordered grid ``grid_shape``, rows and
    columns split across ranks like PETSc Vecs."""
    message = grid_problem(name, grid_shape)
    if message:
        raise ValueError(f"regularization_operator: {message}")
    shape = tuple(int(n) for n in grid_shape)
    size = int(np.prod(shape))
    blocks = _stacked_sums(name, shape)
    rows = sum(_block_rows(terms) for terms in blocks)
    layout = Layout.default(comm, rows)
    mat = aij_matrix(comm, (rows, size), _rows_of(blocks, size, layout.start, layout.stop))
    return RegularizationOperator(mat, name, shape, full_row_rank=name != "gradient2d",
                                  null_space_fn=_null_space(name, size))
