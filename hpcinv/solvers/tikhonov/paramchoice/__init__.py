"""Choosing the Tikhonov parameter lambda: the discrepancy principle, GCV, Reginska and
quasi-optimality (and the L-curve's corner), evaluated exactly from a full SVD, from a truncated (randomized) SVD, or by
Gauss/Gauss-Radau bounds on a Golub-Kahan bidiagonalisation (Luiken thesis, ch. 3)."""
from .functionals import RULES, SpectralModel, choose_lambda

__all__ = ["RULES", "SpectralModel", "choose_lambda"]
