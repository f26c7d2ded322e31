"""Penalised-likelihood solvers for positive unknowns (Pichon & Thiebaut 1997): minimise
Q(f) = L(f) + mu R(f) with L the chi-square of the noise-weighted residual and R a penalty
(negentropy with a uniform or floating prior, quadratic roughness), mu steered toward a
chi-square target.  ``subspace`` (the paper's six-direction scheme), ``scaled_gradient``
(the single-direction schemes of its Eq. 30), ``tao`` (PETSc TAO bound-constrained
quasi-Newton inside a search on mu) and ``quadratic`` (the linear solution of Eq. 23 by
KSP); ``kinds.py`` registers them as job kinds.
"""
from .quadratic import PenalizedQuadratic
from .scaled_gradient import ScaledGradient
from .subspace import SubspaceDescent
from .tao import PenalizedTAO

__all__ = ["PenalizedQuadratic", "PenalizedTAO", "ScaledGradient", "SubspaceDescent"]
