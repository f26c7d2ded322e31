"""The stacked operator [A; w L] and general-form Tikhonov by LSQR on it.

min ||A x - b||^2 + lam ||L x||^2 is the least-squares problem min ||[A; sqrt(lam) L] x - [b; 0]||,
so PETSc's KSPLSQR solves it with nothing but products with A, L and their transposes.

Range vectors are plain MPI Vecs (KSP needs those, not VecNest) in which every rank owns its
local rows of A followed by its local rows of L.  This is also the layout of the left vectors
SLEPc returns for a GSVD (``[u; v]``), so ``split`` serves both.
"""
from __future__ import annotations

from .base import Operator


class StackedOperator(Operator):
    """[A; weight L] for operators A (m x n) and L (p x n) with the same domain layout."""

    def __init__(self, A: Operator, L: Operator, weight: float = 1.0):
        if A.shape[1] != L.shape[1] or A.local_shape[1] != L.local_shape[1]:
            raise ValueError(f"L: needs the columns of A ({A.shape[1]}, {A.local_shape[1]} on "
                             f"this rank), has {L.shape[1]} ({L.local_shape[1]} on this rank)")
        from petsc4py import PETSc

        self.A, self.L, self.weight = A, L, float(weight)
        self.comm = A.comm
        (m, n), (p, _) = A.shape, L.shape
        (m_local, n_local), (p_local, _) = A.local_shape, L.local_shape
        self.shape = (m + p, n)
        self.local_shape = (m_local + p_local, n_local)
        start = self.comm.tompi4py().exscan(m_local + p_local) or 0
        self._top = PETSc.IS().createStride(m_local, first=start, step=1, comm=self.comm)
        self._bottom = PETSc.IS().createStride(p_local, first=start + m_local, step=1,
                                               comm=self.comm)
        self._work, _ = A.create_vecs()

    def create_vecs(self):
        from petsc4py import PETSc

        x = PETSc.Vec().createMPI((self.local_shape[1], self.shape[1]), comm=self.comm)
        y = PETSc.Vec().createMPI((self.local_shape[0], self.shape[0]), comm=self.comm)
        return x, y

    def mult(self, x, y) -> None:
        top, bottom = y.getSubVector(self._top), y.getSubVector(self._bottom)
        self.A.mult(x, top)
        self.L.mult(x, bottom)
        bottom.scale(self.weight)
        y.restoreSubVector(self._top, top)
        y.restoreSubVector(self._bottom, bottom)

    def mult_transpose(self, y, x) -> None:
        top, bottom = y.getSubVector(self._top), y.getSubVector(self._bottom)
        self.A.mult_transpose(top, x)
        self.L.mult_transpose(bottom, self._work)
        x.axpy(self.weight, self._work)
        y.restoreSubVector(self._top, top)
        y.restoreSubVector(self._bottom, bottom)

    def split(self, z):
        """Copies (z_A, z_L) of the two blocks of a stacked vector, laid out as A's and L's rows."""
        parts = []
        for index in (self._top, self._bottom):
            block = z.getSubVector(index)
            parts.append(block.copy())
            z.restoreSubVector(index, block)
        return tuple(parts)

    def stack_data(self, b):
        """[b; 0], the right-hand side of the stacked least-squares problem."""
        _, z = self.create_vecs()
        top = z.getSubVector(self._top)
        b.copy(top)
        z.restoreSubVector(self._top, top)
        return z


def tikhonov_lsqr(A: Operator, L: Operator, b, lam: float, rtol: float = 1e-10,
                  max_it: int = 10000, prefix: str = "tikhonov_"):
    """(x, iterations, converged): argmin ||A x - b||^2 + lam ||L x||^2 by PETSc's KSPLSQR on
    [A; sqrt(lam) L].  ``rtol`` is KSPLSQR's relative tolerance; options under ``prefix``
    (e.g. ``-tikhonov_ksp_monitor``) reach the KSP."""
    if not lam > 0:
        raise ValueError(f"lam: the regularization parameter must be positive, got {lam}")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol: must lie in (0, 1), got {rtol}")
    from petsc4py import PETSc

    stacked = StackedOperator(A, L, lam ** 0.5)
    ksp = PETSc.KSP().create(comm=stacked.comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(stacked.as_petsc_mat())
    ksp.setType("lsqr")
    ksp.getPC().setType(PETSc.PC.Type.NONE)
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=max_it)
    ksp.setFromOptions()
    x, _ = stacked.create_vecs()
    ksp.solve(stacked.stack_data(b), x)
    iterations, converged = ksp.getIterationNumber(), ksp.getConvergedReason() > 0
    ksp.destroy()
    return x, iterations, converged
