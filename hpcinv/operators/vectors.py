"""Reductions over several distributed Vecs at once."""
from __future__ import annotations

import numpy as np


def dots(vec, others) -> np.ndarray:
    """[vec^T w for w in others] in one reduction: PETSc merges split-phase dot products
    (petsc4py 3.18's Vec.mDot is not implemented)."""
    for other in others:
        vec.dotBegin(other)
    return np.array([vec.dotEnd(other) for other in others], dtype=float)


def norms(vecs) -> list[float]:
    """2-norms of several Vecs in one reduction."""
    from petsc4py import PETSc

    for vec in vecs:
        vec.normBegin(PETSc.NormType.NORM_2)
    return [vec.normEnd(PETSc.NormType.NORM_2) for vec in vecs]
