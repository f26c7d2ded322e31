"""Solver kinds; importing this package registers the built-in ones."""
from . import augmented_kinds, cgls, ksp, lsqr, pnkr, tikhonov  # noqa: F401 - register the built-in solver kinds
from .base import ExplicitStateSolver, IterativeSolver
from .control import IterationControl
from .state import History, SolverState

__all__ = ["ExplicitStateSolver", "IterativeSolver", "IterationControl", "History",
           "SolverState"]
