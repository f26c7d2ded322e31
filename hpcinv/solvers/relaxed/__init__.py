"""Relaxed and proximal solvers for min_x 1/2 ||A x - b||^2 + R(L x) with a non-smooth R
(Luiken's thesis, ch. 6): ``sr3`` (SR3, inexact and exact), ``proximal_gradient`` and ``admm``
(FISTA and ADMM, the baselines), ``prox`` (the proximal operators on distributed Vecs),
``splitting`` (what SR3 and ADMM share, around ``framework.stacked_lsqr``), ``spectrum``
(the singular values of SR3's reduced operator from the GSVD), ``pareto`` (points of the
Pareto curve with their bounds); ``kinds.py`` registers the solvers as job kinds.
"""
from .admm import ADMM
from .proximal_gradient import ProximalGradient
from .sr3 import SR3

__all__ = ["ADMM", "ProximalGradient", "SR3"]
