"""The iteration framework every solver family builds on: explicit state, stopping rules as
objects, the one loop (``IterativeMethod.solve``), the iteration control (history, progress,
checkpoints, signals) and the one adapter for PETSc KSP convergence tests."""
from .control import IterationControl
from .method import IterativeMethod, SolveResult
from ...core.state import History, SolverState
from .stopping import (ChiSquareTarget, Discrepancy, EquationwiseDiscrepancy, FixedIterations,
                       StoppingRule)

__all__ = ["ChiSquareTarget", "Discrepancy", "EquationwiseDiscrepancy", "FixedIterations",
           "History", "IterationControl", "IterativeMethod", "SolveResult", "SolverState",
           "StoppingRule"]
