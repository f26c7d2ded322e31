"""Least squares under linear constraints L g = 0, L = I - P for an orthogonal projector P
onto the admissible set (reciprocity, causality, ...): right preconditioning, a quadratic
penalty and the KKT system, with optional Tikhonov (``formulations``), and the operators
they build (``operators``).  ``FORMULATIONS`` names the three methods."""
from .formulations import FORMULATIONS, KKTMinres, PenaltyLSQR, PreconditionedLSQR
from .operators import Identity, KKTOperator, ProjectionComplement

__all__ = ["FORMULATIONS", "Identity", "KKTMinres", "KKTOperator", "PenaltyLSQR",
           "PreconditionedLSQR", "ProjectionComplement"]
