"""What every iterative method shares: the state/step/stopping protocol and the one loop.

An algorithm is a class built from an operator, data and typed keyword arguments, usable
from Python without any job spec::

    cgls = CGLS(operator, data, tau=1.02, noise_norm=delta, max_iterations=200)
    result = cgls.run(truth=x_true)          # result.x, result.reason, result.history

It implements ``initial_state``, ``step`` (one iteration, in place on a ``SolverState``,
returning the new residual norm) and, where it records more than the residual,
``history_columns``.  ``solve(state, control)`` is the loop every step-based method runs,
whether a job (the pipeline passes a control that checkpoints, prints progress and obeys
signals) or ``run`` (a plain control); methods driven by a PETSc KSP implement ``solve``
with ``ksp_driver.drive_ksp`` instead.  Either way the same ``IterationControl`` records the
history and the same ``StoppingRule`` decides convergence.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ...core.errors import check_count
from ...core.state import SolverState
from .stopping import Discrepancy, StoppingRule


@dataclass
class SolveResult:
    """What ``IterativeMethod.run`` returns: the solution Vec, the stop reason, the last
    iteration, the history columns (arrays; ``relative_error`` NaN without a truth) and the
    method's ``result_attributes``."""
    x: object
    reason: str
    iterations: int
    history: dict
    attributes: dict = field(default_factory=dict)

    def first_iteration_within(self, target: float) -> int | None:
        """The first iteration whose residual norm was at most ``target``, or None."""
        hits = np.flatnonzero(self.history["residual_norm"] <= target)
        return int(self.history["iteration"][hits[0]]) if hits.size else None

    @property
    def discrepancy_iteration(self) -> int | None:
        """The first iteration meeting the recorded discrepancy target (None without one)."""
        targets = self.history["discrepancy_target"]
        if not targets.size or not targets[-1] > 0:
            return None
        return self.first_iteration_within(targets[-1])

    @property
    def semiconvergence_iteration(self) -> int | None:
        """The iteration of least error against the truth (None without a truth)."""
        errors = self.history["relative_error"]
        if not np.isfinite(errors).any():
            return None
        return int(self.history["iteration"][np.nanargmin(errors)])


class IterativeMethod:
    """Base of iterative algorithms.  ``exact_resume`` says whether a run resumed from a saved
    ``SolverState`` reproduces the uninterrupted iterates bit for bit."""

    exact_resume = True

    def __init__(self, operator, data, *, tau: float = 1.02, noise_norm: float = 0.0,
                 max_iterations: int = 500, stopping: StoppingRule | None = None):
        """``stopping`` decides convergence; by default the discrepancy principle
        ||A x - b|| <= tau * noise_norm.  ``max_iterations`` caps the iterations."""
        if data.getSize() != operator.shape[0]:
            raise ValueError(f"data: has {data.getSize()} entries, the operator "
                             f"{operator.shape[0]} rows")
        self.operator = operator
        self.data = data
        self.stopping = stopping if stopping is not None else Discrepancy(tau, noise_norm)
        self.max_iterations = check_count("max_iterations", max_iterations)

    @property
    def target(self) -> float:
        """The residual norm the stopping rule aims at (0: none), for history and progress."""
        return self.stopping.target

    def initial_state(self) -> SolverState:
        raise NotImplementedError

    def step(self, state: SolverState) -> float:
        """Advance one iteration in place; return the new residual norm ||A x - b||."""
        raise NotImplementedError

    def solution(self, state: SolverState):
        return state.vectors["x"]

    def history_columns(self, state: SolverState) -> dict:
        """Extra history columns for the iteration just recorded."""
        return {}

    def result_attributes(self, state: SolverState) -> dict:
        """What a method found besides x (a chosen lambda, a rank), for the result file."""
        return {}

    def iteration_monitor(self):
        """A callable ``(iteration, residual_norm)`` that a run's control calls after every
        recorded iteration, or None (the default: progress lines only)."""
        return None

    def residual_scale(self) -> float:
        """The data norm that relative residuals are measured against."""
        return self.data.norm()

    def at_least_squares_solution(self, state: SolverState) -> bool:
        """True when A^T r = 0, so further steps cannot change x."""
        return False

    def stop_reason(self, state: SolverState, residual: float) -> str | None:
        if self.stopping.met(state, residual):
            return self.stopping.reason
        if state.iteration >= self.max_iterations:
            return "max_iterations"
        if self.at_least_squares_solution(state):
            return "least_squares_solution"
        return None

    def solve(self, state: SolverState, control) -> str:
        """Iterate until a stopping rule holds or the control stops the run; return the
        stop reason.  The residual of the current iterate is ``state.scalars
        ['residual_norm']``; a resumed state continues where its history ends."""
        residual = state.scalars["residual_norm"]
        reason = None
        current = functools.partial(self.solution, state)   # formed only if needed
        if len(state.history) == 0:
            reason = control.record(state, residual, current, **self.history_columns(state))
        while not reason:
            reason = self.stop_reason(state, residual)
            if reason:
                break
            residual = self.step(state)
            state.scalars["residual_norm"] = residual
            state.iteration += 1
            reason = control.record(state, residual, current, **self.history_columns(state))
        control.finish(state, residual)
        return reason

    def run(self, *, truth=None, state: SolverState | None = None, progress: bool = False,
            control=None) -> SolveResult:
        """Solve in this process (on the operator's ranks) and return a ``SolveResult``.

        ``truth`` adds the relative error to the history; ``state`` continues a saved state;
        ``progress`` prints rank 0's progress lines; ``control`` replaces the default
        ``IterationControl`` (checkpoints, signals, wall time)."""
        from ...core.petsc_env import release_memory
        from .control import IterationControl

        release_memory(self.operator.comm)   # what earlier solves left, first
        state = state if state is not None else self.initial_state()
        if control is None:
            control = IterationControl.for_method(self, truth=truth, progress=progress)
        reason = self.solve(state, control)
        control.check_finite(reason)
        return SolveResult(self.solution(state), reason, state.iteration,
                           state.history.arrays(), self.result_attributes(state))
