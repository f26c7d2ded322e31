"""Solver kinds; importing this package registers the built-in ones."""
from . import cgls, lsqr  # noqa: F401 - register "cgls" and "lsqr"
from .base import ExplicitStateSolver, IterativeSolver
from .control import IterationControl
from .state import History, SolverState

__all__ = ["ExplicitStateSolver", "IterativeSolver", "IterationControl", "History",
           "SolverState"]
