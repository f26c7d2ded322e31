"""Reductions over several distributed Vecs at once."""
from __future__ import annotations

import numpy as np


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
