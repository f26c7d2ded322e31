"""Krylov methods for min ||A x - b||: CGLS and LSQR with exactly resumable state, and PETSc's
least-squares KSPs; stopped by the discrepancy principle or an iteration count."""
from .cgls import CGLS
from .ksp import KSPLeastSquares
from .lsqr import LSQR

__all__ = ["CGLS", "KSPLeastSquares", "LSQR"]
