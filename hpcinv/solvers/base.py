"""What every iterative solver shares: common parameters, the discrepancy target, the loop."""
from __future__ import annotations

from ..jobspec import Field
from .state import SolverState

COMMON_PARAMETERS = {
    "max_iterations": Field(int, 500, "iteration limit", minimum=1),
    "tau": Field(float, 1.02, "discrepancy principle: stop once ||A x - b|| <= tau * delta "
                 "(delta = the problem's noise norm)", minimum=1.0),
    "wall_time": Field(float, 0.0, "stop with a checkpoint after this many seconds of solving "
                       "in one run (0: no limit)", minimum=0),
}


class IterativeSolver:
    """Base of registered solvers.  ``exact_resume`` says whether a resumed run reproduces
    the uninterrupted iterates bit for bit (all of the state is in ``SolverState``)."""

    parameters = COMMON_PARAMETERS
    exact_resume = True

    def __init__(self, problem, values: dict):
        self.problem = problem
        self.values = values
        self.operator = problem.operator
        self.max_iterations = values["max_iterations"]
        self.target = values["tau"] * problem.noise_norm

    def initial_state(self) -> SolverState:
        raise NotImplementedError

    def solution(self, state: SolverState):
        return state.vectors["x"]

    def result_attributes(self, state: SolverState) -> dict:
        """What a solver found besides x (a chosen lambda, a rank), for the result file."""
        return {}

    def residual_scale(self) -> float:
        """The data norm that relative residuals are measured against."""
        return self.problem.data.norm()

    def solve(self, state: SolverState, control) -> str:
        """Iterate until a stopping rule holds; return the stop reason."""
        raise NotImplementedError


class ExplicitStateSolver(IterativeSolver):
    """A solver whose whole state lives in ``SolverState``: ``step`` advances one iteration
    and returns the new residual norm ||A x - b||, kept in ``state.scalars['residual_norm']``."""

    def step(self, state: SolverState) -> float:
        raise NotImplementedError

    def at_least_squares_solution(self, state: SolverState) -> bool:
        """True when A^T r = 0, so further steps cannot change x."""
        return False

    def solve(self, state: SolverState, control) -> str:
        residual = state.scalars["residual_norm"]
        reason = None
        if len(state.history) == 0:
            reason = control.record(state, residual, self.solution(state))
        while not reason:
            if residual <= self.target:
                reason = "discrepancy"
            elif state.iteration >= self.max_iterations:
                reason = "max_iterations"
            elif self.at_least_squares_solution(state):
                reason = "least_squares_solution"
            else:
                residual = self.step(state)
                state.scalars["residual_norm"] = residual
                state.iteration += 1
                reason = control.record(state, residual, self.solution(state))
        control.finish(state, residual)
        return reason
