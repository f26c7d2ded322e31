"""Distributed Vecs: reductions over several at once, SLEPc column bases, and moving whole
numpy arrays into and out of Vecs (``vec_from_array``, ``array_from_vec``)."""
from __future__ import annotations

import numpy as np

from .layout import Layout

SIDES = ("domain", "range")


def dots(vec, others) -> np.ndarray:
    """[vec^T w for w in others] in one reduction: PETSc merges split-phase dot products
    (petsc4py 3.18's Vec.mDot is not implemented)."""
    for other in others:
        vec.dotBegin(other)
    return np.array([vec.dotEnd(other) for other in others], dtype=float)


def dot_matrix(left, right) -> np.ndarray:
    """[[u^T v for v in right] for u in left] in one reduction (a subspace method's small
    Gram matrices: one allreduce instead of one per pair)."""
    from mpi4py import MPI

    total = np.array([[np.dot(u.getArray(readonly=True), v.getArray(readonly=True))
                       for v in right] for u in left], dtype=float)
    if total.size:
        (left[0].getComm().tompi4py()).Allreduce(MPI.IN_PLACE, total)
    return total


def gram_matrix(vecs) -> np.ndarray:
    """V^T V of many Vecs in one reduction, each rank's part one GEMM (``dot_matrix``'s
    pairwise dots take minutes for the thousands of columns of a GSVD), symmetrised."""
    from mpi4py import MPI

    if not vecs:
        return np.zeros((0, 0))
    columns = np.column_stack([vec.getArray(readonly=True) for vec in vecs])
    total = np.ascontiguousarray(columns.T @ columns)
    vecs[0].getComm().tompi4py().Allreduce(MPI.IN_PLACE, total)
    return (total + total.T) / 2


def norms(vecs) -> list[float]:
    """2-norms of several Vecs in one reduction."""
    from petsc4py import PETSc

    for vec in vecs:
        vec.normBegin(PETSc.NormType.NORM_2)
    return [vec.normEnd(PETSc.NormType.NORM_2) for vec in vecs]


def column_basis(template, columns: int):
    """A SLEPc BV of ``columns`` columns laid out like the Vec ``template`` (contiguous
    storage unless -bv_type says otherwise)."""
    from ..core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    bv = SLEPc.BV().create(comm=template.getComm())
    bv.setSizesFromVec(template, columns)
    from ..core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        bv.setFromOptions()
    return bv


def combine_columns(basis, coefficients, out=None, name: str = "coefficients"):
    """basis @ coefficients for a SLEPc BV of distributed columns, into ``out`` (a new Vec
    of the basis's layout when None); ``name`` is the argument an error names."""
    coefficients = np.asarray(coefficients, dtype=float)
    columns = basis.getActiveColumns()[1]
    if coefficients.shape != (columns,):
        raise ValueError(f"{name}: needs {columns} coefficients (one per column), "
                         f"got shape {coefficients.shape}")
    if out is None:
        out = basis.createVec()
    if columns == 0:
        out.zeroEntries()
    else:
        basis.multVec(1.0, 0.0, out, coefficients)
    return out


def _side_of(like, side):
    """(layout, [(start, stop)] natural ranges of this rank's entries, or None for the Vec's
    own order) of the template ``like``: an Operator's ``side``, a Vec or a Layout."""
    from petsc4py import PETSc

    if isinstance(like, (Layout, PETSc.Vec)):
        if side is not None:
            raise ValueError(f"side: only for an operator, got {side!r} with a "
                             f"{type(like).__name__}")
        return (like if isinstance(like, Layout) else Layout.of_vec(like)), None
    if not hasattr(like, "natural_row_ranges"):
        raise TypeError(f"like: expected an hpcinv Operator, a PETSc Vec or a Layout, got "
                        f"{type(like).__name__}")
    if side not in SIDES:
        raise ValueError(f"side: one of {SIDES} for an operator, got {side!r}")
    if side == "domain":
        return like.domain_layout, like.natural_column_ranges()
    return like.range_layout, like.natural_row_ranges()


def _numbers(ranges) -> np.ndarray:
    return np.concatenate([np.arange(start, stop, dtype=np.int64) for start, stop in ranges]
                          + [np.empty(0, dtype=np.int64)])


def vec_from_array(like, array, side: str | None = None):
    """A new Vec holding the whole numpy vector ``array``, which every rank passes alike: each
    rank keeps its own entries (collective).

    ``like`` says how the Vec is split and numbered: an hpcinv Operator with ``side``
    ("domain": x of A x, "range": b), whose entry i is entry i of the operator's own order
    (``natural_column_ranges`` / ``natural_row_ranges``: a rank's rows need not be the
    next block of that order, as for ``gradient2d`` or ``StackedOperator``); a PETSc Vec
    (its split, entries in global order) or a ``Layout``."""
    layout, ranges = _side_of(like, side)
    array = np.asarray(array)
    if array.shape != (layout.size,) or not (np.issubdtype(array.dtype, np.integer)
                                            or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"array: expected {layout.size} real entries (the whole vector), "
                         f"got {array.dtype} of shape {array.shape}")
    vec = layout.create_vec()
    vec.getArray()[:] = (array[layout.local_slice] if ranges is None
                         else array[_numbers(ranges)])
    return vec


def array_from_vec(vec, like=None, side: str | None = None, *, root: int | None = None):
    """The whole Vec as a numpy array: on every rank (``root=None``), or on rank ``root``
    only (the others get None).  Collective.

    With an Operator ``like`` and ``side``, the Vec is one of that side's (its split is
    checked) and the array is in the operator's own order, as ``vec_from_array`` takes it;
    without, in the Vec's global order."""
    layout = Layout.of_vec(vec)
    numbers = None
    if like is not None:
        expected, ranges = _side_of(like, side)
        if expected != layout:
            raise ValueError(f"vec: split {layout.counts} over the ranks, but the "
                             f"{side or 'template'}'s is {expected.counts}")
        numbers = None if ranges is None else _numbers(ranges)
    elif side is not None:
        raise ValueError("side: needs the operator (like) whose side the Vec is")
    mpi = layout.mpi
    if root is not None and not 0 <= root < mpi.size:
        raise ValueError(f"root: a rank of the communicator (0 to {mpi.size - 1}), got {root}")
    local = np.ascontiguousarray(vec.getArray(readonly=True), dtype=float)
    if root is None:
        whole = layout.gather(local)
        order = None if numbers is None else layout.gather(numbers.astype(float))
    else:
        counts = np.array(layout.counts, dtype=np.int64)
        whole = np.empty(layout.size) if mpi.rank == root else None
        mpi.Gatherv(local, [whole, counts] if whole is not None else None, root=root)
        order = None
        if numbers is not None:
            order = np.empty(layout.size, dtype=np.int64) if mpi.rank == root else None
            mpi.Gatherv(numbers, [order, counts] if order is not None else None, root=root)
        if mpi.rank != root:
            return None
    if order is None:
        return whole
    natural = np.empty_like(whole)
    # gathered doubles: the entry numbers (below 2^53) come back exact
    natural[order.astype(np.int64)] = whole
    return natural
