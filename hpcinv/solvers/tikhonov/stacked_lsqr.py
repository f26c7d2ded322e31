"""General-form Tikhonov for one lambda by LSQR on the stacked operator [A; sqrt(lambda) L].

min ||A x - b||^2 + lam ||L x||^2 is the least-squares problem
min ||[A; sqrt(lam) L] x - [b; 0]||, so PETSc's KSPLSQR solves it with nothing but products
with A, L and their transposes (``framework.stacked_lsqr``, the solve SR3 and ADMM use too).
"""
from __future__ import annotations

from ...linalg.operator import Operator
from ..framework.stacked_lsqr import StackedLSQR


def tikhonov_lsqr(A: Operator, L: Operator, b, lam: float, rtol: float = 1e-10,
                  max_it: int = 10000, prefix: str = "tikhonov_"):
    """(x, iterations, converged): argmin ||A x - b||^2 + lam ||L x||^2 by PETSc's KSPLSQR on
    [A; sqrt(lam) L] from x = 0.  ``rtol`` is KSPLSQR's relative tolerance; options under
    ``prefix`` (e.g. ``-tikhonov_ksp_monitor``) reach the KSP."""
    if not lam > 0:
        raise ValueError(f"lam: the regularization parameter must be positive, got {lam}")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol: must lie in (0, 1), got {rtol}")
    solver = StackedLSQR(A, L, b, lam ** 0.5, max_iterations=max_it, prefix=prefix)
    x = solver.stacked.create_vecs()[0]
    iterations = solver.solve(x, tolerance=rtol, strict=False)   # a breakdown: converged False
    return x, iterations, solver.last_reason > 0
