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

    def __init__(self, mat, name: str, grid_shape: tuple, full_row_rank: bool, null_space_fn,
                 natural_rows: list | None = None):
        super().__init__(mat)
        self.name = name
        self.grid_shape = grid_shape
        self.full_row_rank = full_row_rank
        self._null_space_fn = null_space_fn
        self._natural_rows = natural_rows

    def natural_row_ranges(self) -> list:
        """This rank's rows as ranges of the stacked blocks' own order ([L_1; L_2; ...]),
        which differs from the Vec's order when the blocks are split by pixels."""
        return self._natural_rows or super().natural_row_ranges()

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


def _first_columns(terms: list, shape: tuple):
    """row -> the first column of the block's first Kronecker term in that row, for a block
    whose 1-D factors have increasing first columns (the last factor: non-decreasing), as
    differences and identities do: then it is non-decreasing along the block's rows."""
    factors = terms[0]
    firsts = []
    for axis, factor in enumerate(factors):
        factor = factor.tocsr()
        if np.any(np.diff(factor.indptr) == 0):   # an empty row has no first column
            return None
        factor.sort_indices()
        first = factor.indices[factor.indptr[:-1]]
        steps = np.diff(first)
        if np.any(steps < 0) or (axis < len(factors) - 1 and np.any(steps == 0)):
            return None
        firsts.append(first)
    row_counts = [factor.shape[0] for factor in factors]
    strides = [int(np.prod(shape[axis + 1:])) for axis in range(len(shape))]

    def first_column(row: int) -> int:
        column = 0
        for first, count, stride in zip(reversed(firsts), reversed(row_counts),
                                        reversed(strides)):
            row, index = divmod(row, count)
            column += int(first[index]) * stride
        return column

    return first_column


def _rows_before(first_column, rows: int, column: int) -> int:
    """How many of the block's rows start before ``column`` (bisection on the monotone
    first column)."""
    low, high = 0, rows
    while low < high:
        middle = (low + high) // 2
        if first_column(middle) < column:
            low = middle + 1
        else:
            high = middle
    return low


def _pixel_aligned_rows(blocks: list, shape: tuple, columns: Layout):
    """For L made of several stacked blocks (the gradient's [I (x) D; D (x) I]): each rank's
    rows of every block, those starting in its own columns: this rank's ranges, numbered in
    block order.  None when a block's rows cannot be ordered so.

    With PETSc's contiguous split of the stacked rows one rank would own the first block
    and need all of x for each L x; split this way L x exchanges only a halo."""
    mine, offset = [], 0
    for terms in blocks:
        first_column = _first_columns(terms, shape)
        if first_column is None:
            return None
        rows = _block_rows(terms)
        stop = (rows if columns.stop == columns.size
                else _rows_before(first_column, rows, columns.stop))
        mine.append((offset + _rows_before(first_column, rows, columns.start), offset + stop))
        offset += rows
    return mine


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
    """The operator ``name`` (one of NAMES) on the C-ordered grid ``grid_shape``, columns
    split across ranks like PETSc Vecs.  A single block's rows split like PETSc Vecs too;
    the gradient's two blocks split by the columns each row starts in, so a rank's rows are
    its share of each block (``natural_row_ranges`` numbers them in block order)."""
    message = grid_problem(name, grid_shape)
    if message:
        raise ValueError(f"regularization_operator: {message}")
    shape = tuple(int(n) for n in grid_shape)
    size = int(np.prod(shape))
    blocks = _stacked_sums(name, shape)
    rows = sum(_block_rows(terms) for terms in blocks)
    natural = (_pixel_aligned_rows(blocks, shape, Layout.default(comm, size))
               if len(blocks) > 1 else None)
    if natural is None:
        layout = Layout.default(comm, rows)
        natural = [(layout.start, layout.stop)]
    local = sp.vstack([_rows_of(blocks, size, start, stop) for start, stop in natural],
                      format="csr")
    mat = aij_matrix(comm, (rows, size), local, node_kernels=False)
    return RegularizationOperator(mat, name, shape, full_row_rank=name != "gradient2d",
                                  null_space_fn=_null_space(name, size), natural_rows=natural)
