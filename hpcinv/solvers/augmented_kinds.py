"""The registered solver kinds ``augmented-sd``, ``augmented-landweber`` and ``augmented-cgls``:
the augmented methods of ``augmented.py`` under the job/checkpoint machinery, with the recycle
space and initial guess that ``recycle_sources.py`` makes of their keys (with ``recycle =
"none"`` the plain methods)."""
from __future__ import annotations

import math

from ..jobspec import SOLVERS, Field
from .augmented import check_residual, descent_step, landweber_step, projected_krylov
from .base import COMMON_PARAMETERS, ExplicitStateSolver, IterativeSolver
from .recycle_sources import (CHECK_PARAMETER, RECYCLE_PARAMETERS, WARM_START_PARAMETER,
                              check_recycle, initial_guess, recycle_space)
from .state import SolverState


class _AugmentedDescent(ExplicitStateSolver):
    """x and r in the state; the recycle space is rebuilt from the job on resume, so a
    resumed run repeats the uninterrupted iterates exactly."""

    parameters = {**COMMON_PARAMETERS, **RECYCLE_PARAMETERS, **WARM_START_PARAMETER,
                  **CHECK_PARAMETER}
    check_parameters = staticmethod(check_recycle)

    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self.space = recycle_space(problem, values, spectral=True)
        self._step_operator, self._projections = self.space.step_parts()
        self._g, self._h = self.operator.create_vecs()
        self.check_every = values["check_residual_every"]

    def initial_scalars(self) -> dict:
        return {}

    def initial_state(self) -> SolverState:
        x0 = initial_guess(self.operator, self.values)
        _, r0 = self.operator.create_vecs()
        self.operator.mult(x0, r0)
        r0.aypx(-1.0, self.problem.data)
        x, r = self.space.initial(x0, r0)
        return SolverState(vectors={"x": x, "r": r},
                           scalars={"residual_norm": r.norm(), "gradient_norm": math.nan,
                                    **self.initial_scalars()})

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["gradient_norm"] == 0.0

    def step_size(self, state: SolverState) -> float | None:
        return None

    def step(self, state: SolverState) -> float:
        x, r = state.vectors["x"], state.vectors["r"]
        residual, gradient = descent_step(self._step_operator, self._projections, x, r,
                                          self._g, self._h, self.step_size(state))
        state.scalars["gradient_norm"] = gradient
        iteration = state.iteration + 1
        if self.check_every and iteration % self.check_every == 0:
            check_residual(self.operator, self.problem.data, self.space, x, r, iteration)
        return residual

    def result_attributes(self, state: SolverState) -> dict:
        return {"recycle_k": self.space.k, "recycle_dropped": self.space.dropped}


@SOLVERS.register("augmented-sd")
class AugmentedSteepestDescent(_AugmentedDescent):
    pass


@SOLVERS.register("augmented-landweber")
class AugmentedLandweber(_AugmentedDescent):
    parameters = {**_AugmentedDescent.parameters,
                  "step": Field(float, 0.0, "fixed step size (0: 1/||T||^2 from a power "
                                "iteration; must be below 2/||T||^2)", minimum=0)}

    def initial_scalars(self) -> dict:
        step = self.values["step"] or landweber_step(self.operator)
        return {"step": step}

    def step_size(self, state: SolverState) -> float:
        return state.scalars["step"]


@SOLVERS.register("augmented-cgls")
class AugmentedKrylov(IterativeSolver):
    """Algorithm 1 with PETSc's CGLS (or LSQR); resumes from the checkpointed x, which is its
    own t (x_p + (I - P) x = x), but not along the same Krylov space."""

    parameters = {**COMMON_PARAMETERS, **RECYCLE_PARAMETERS, **WARM_START_PARAMETER,
                  "ksp_type": Field(str, "cgls", "PETSc least-squares Krylov method on the "
                                    "projected problem", choices=("cgls", "lsqr"))}
    check_parameters = staticmethod(check_recycle)
    exact_resume = False

    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self.space = recycle_space(problem, values)

    def initial_state(self) -> SolverState:
        return SolverState(vectors={"x": initial_guess(self.operator, self.values)})

    def result_attributes(self, state: SolverState) -> dict:
        return {"recycle_k": self.space.k, "recycle_dropped": self.space.dropped}

    def solve(self, state: SolverState, control) -> str:
        x = state.vectors["x"]
        t = x.copy()
        offset = state.iteration
        last = {"residual": float("nan")}

        def on_iterate(its, residual, current):
            last["residual"] = residual
            if its == 0 and len(state.history):
                return None
            state.iteration = offset + its
            stop = control.record(state, residual, current)
            if stop:
                return stop
            if residual <= self.target:
                return "discrepancy"
            if state.iteration >= self.max_iterations:
                return "max_iterations"
            return None

        if offset >= self.max_iterations:
            reason = "max_iterations"
        else:
            reason = projected_krylov(self.operator, self.problem.data, self.space, t, x,
                                      on_iterate, max_iterations=self.max_iterations - offset,
                                      ksp_type=self.values["ksp_type"]) or "ksp_stopped"
        control.finish(state, last["residual"])
        return reason
