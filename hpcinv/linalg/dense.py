"""Distributed matrices assembled from the rows each rank owns: dense or sparse (AIJ).

Every rank computes only its own block of rows, so no rank ever holds the whole matrix.
"""
from __future__ import annotations

import numpy as np

from .layout import Layout
from .operator import MatOperator

# Dense rows are computed this many entries at a time (32 MiB), so a rank's peak memory is
# its share of the matrix plus one such block.
_BLOCK_ENTRIES = 1 << 22


def _sizes(comm, shape) -> tuple:
    """(local rows, rows), (local columns, columns): rows and columns split like PETSc Vecs."""
    rows, columns = (Layout.default(comm, size) for size in shape)
    return (rows.local_size, rows.size), (columns.local_size, columns.size)


def dense_operator(comm, shape, rows_fn) -> MatOperator:
    """A dense m x n matrix whose rows [start, stop) are ``rows_fn(start, stop)``, an array
    of shape (stop - start, n), each rank asking only for the rows it owns."""
    from petsc4py import PETSc

    m, n = (int(s) for s in shape)
    if m < 1 or n < 1:
        raise ValueError(f"shape: needs positive sizes, got {tuple(shape)}")
    rows_layout = Layout.default(comm, m)
    start, stop = rows_layout.start, rows_layout.stop
    # PETSc stores a dense block column by column; a Fortran-ordered array is used in place,
    # while a C-ordered one would be copied (twice this rank's memory at the peak).
    local = np.empty((stop - start, n), order="F")
    block = max(1, _BLOCK_ENTRIES // n)
    for first in range(start, stop, block):
        last = min(stop, first + block)
        rows = np.asarray(rows_fn(first, last), dtype=float)
        if rows.shape != (last - first, n):
            raise ValueError(f"rows_fn: rows [{first}, {last}) came back with shape "
                             f"{rows.shape}, expected {(last - first, n)}")
        local[first - start:last - start] = rows
    mat = PETSc.Mat().createDense(size=_sizes(comm, (m, n)), array=local, comm=comm)
    mat.assemble()
    return MatOperator(mat)


def aij_matrix(comm, shape, rows, *, node_kernels: bool = True):
    """An assembled AIJ Mat from this rank's rows (scipy CSR with global column indices);
    the ranks own as many rows as they pass, and the columns split like PETSc Vecs.

    ``node_kernels=False`` turns off PETSc's "inode" kernels, which multiply runs of rows
    with one column pattern together (the dofs of one mesh node).  Ray and difference
    matrices have no such nodes, but a rank's diagonal block has runs of rows sharing a few
    columns, and there the inode kernel made the 2-rank products of the 128^2 tomography
    ~1.4x and of the 256^2 one ~2.4x slower (benchmarks/sr3.py --products, PETSc 3.18)."""
    from petsc4py import PETSc

    rows = rows.tocsr()
    rows.sum_duplicates()
    rows.sort_indices()
    columns = Layout.default(comm, shape[1])
    mat = PETSc.Mat().createAIJ(size=((rows.shape[0], shape[0]),
                                      (columns.local_size, columns.size)),
                                csr=(rows.indptr.astype(PETSc.IntType),
                                     rows.indices.astype(PETSc.IntType), rows.data),
                                comm=comm)
    if not node_kernels:
        # Set after the CSR is in place (an MPIAIJ without its blocks crashes on it);
        # assembling again drops the inode tables.
        mat.setOption(PETSc.Mat.Option.USE_INODES, False)
    mat.assemble()
    return mat


def dense_matrix(operator) -> np.ndarray:
    """The operator as a dense array on every rank, from products with unit vectors on the
    smaller side (exact references for small problems only)."""
    rows, columns = operator.shape
    domain, range_ = operator.create_vecs()
    transpose = rows <= columns
    unit, image = (range_, domain) if transpose else (domain, range_)
    start, stop = unit.getOwnershipRange()
    lines = []
    for index in range(min(rows, columns)):
        unit.zeroEntries()
        if start <= index < stop:
            unit.getArray()[index - start] = 1.0
        (operator.mult_transpose if transpose else operator.mult)(unit, image)
        lines.append(image.getArray().copy())
    local = np.array(lines).T   # this rank's rows of the image side
    whole = Layout.of_vec(image).gather(local)
    return whole.T if transpose else whole
