"""General-form Tikhonov for one lambda by LSQR on the stacked operator [A; sqrt(lambda) L].

min ||A x - b||^2 + lam ||L x||^2 is the least-squares problem
min ||[A; sqrt(lam) L] x - [b; 0]||, so PETSc's KSPLSQR solves it with nothing but products
with A, L and their transposes.
"""
from __future__ import annotations

from ...linalg.operator import Operator, StackedOperator


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
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        ksp.setFromOptions()
    x, _ = stacked.create_vecs()
    ksp.solve(stacked.stack_data(b), x)
    iterations, converged = ksp.getIterationNumber(), ksp.getConvergedReason() > 0
    ksp.destroy()
    return x, iterations, converged
