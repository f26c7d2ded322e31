"""Tikhonov regularization with lambda chosen by the discrepancy principle, GCV, Reginska,
quasi-optimality or the L-curve: Krylov (Golub-Kahan with Gauss quadrature bounds),
randomized-SVD, SVD and GSVD routes, the standard-form transformation of general-form
problems, and LSQR for a fixed lambda (Luiken's thesis, ch. 3)."""
from .solver import Tikhonov

__all__ = ["Tikhonov"]
