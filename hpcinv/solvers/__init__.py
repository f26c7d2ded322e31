"""Solver families on one iteration framework: ``framework`` (state, stopping rules, the loop,
iteration control, the KSP adapter, the solver-kind base), ``krylov`` (CGLS, LSQR, PETSc
KSPs), ``kaczmarz`` (PNKR), ``tikhonov`` (parameter choice, GSVD, standard form) and
``recycling`` (augmented methods) and ``penalized`` (penalised likelihood for positive
unknowns: maximum entropy, roughness).  Each algorithm is a class with keyword arguments, usable
without a job spec; each family's ``kinds.py`` holds its job kinds (``kinds.py`` here imports
them all).  The classes are importable from here: ``from hpcinv.solvers import CGLS``.
"""
from ..core.lazy import lazy_exports

# Families load on first use: PNKR's kernel compiles with numba; a driver using CGLS does
# not need it.
_EXPORTS = {
    "CGLS": ".krylov", "LSQR": ".krylov", "KSPLeastSquares": ".krylov",
    "PNKR": ".kaczmarz", "TensorBlockRows": ".kaczmarz",
    "Tikhonov": ".tikhonov",
    "SubspaceDescent": ".penalized", "ScaledGradient": ".penalized",
    "PenalizedTAO": ".penalized", "PenalizedQuadratic": ".penalized",
    "AugmentedSteepestDescent": ".recycling", "AugmentedLandweber": ".recycling",
    "AugmentedCGLS": ".recycling", "RecycleSpace": ".recycling",
    "IterationControl": ".framework", "IterativeMethod": ".framework",
    "SolveResult": ".framework", "SolverState": ".framework", "History": ".framework",
    "Discrepancy": ".framework", "EquationwiseDiscrepancy": ".framework",
    "FixedIterations": ".framework", "ChiSquareTarget": ".framework",
    "StoppingRule": ".framework",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
