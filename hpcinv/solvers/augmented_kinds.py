"""The registered solver kinds ``augmented-sd``, ``augmented-landweber`` and ``augmented-cgls``:
the augmented methods of ``augmented.py`` under the job/checkpoint machinery, with the recycle
space read from a file (``recycle = "file"``), the top eigenvectors of T^T T (``"eigen"``: an
invariant subspace, T's leading right singular vectors, by SLEPc) or none (the plain
methods)."""
from __future__ import annotations

import math

import numpy as np

from ..jobspec import SOLVERS, Field
from ..runtime.errors import InputError
from ..operators.normal import NormalOperator
from .augmented import check_residual, descent_step, landweber_step, projected_krylov
from .recycle_builders import eigenvectors
from .base import COMMON_PARAMETERS, ExplicitStateSolver, IterativeSolver
from .recycle_space import RecycleSpace
from .state import SolverState


RECYCLE_PARAMETERS = {
    "recycle": Field(str, "none", "recycle space: none (the plain method), file, or eigen "
                     "(the recycle_k top eigenvectors of T^T T)", choices=("none", "file", "eigen")),
    "recycle_k": Field(int, 0, "recycle = eigen: number of eigenvectors", minimum=0),
    "recycle_file": Field(str, "", "HDF5 file whose dataset 'recycle' of shape (k, n) holds "
                          "the k recycle vectors as rows", file=True),
    "drop_tolerance": Field(float, 1e-10, "drop a recycle vector whose T u keeps less than "
                            "this fraction of its norm after orthogonalisation", minimum=0),
}
CHECK_PARAMETER = {
    "check_residual_every": Field(int, 0, "every N iterations check that the recursive "
                                  "residual is y - T x and orthogonal to C (0: never)",
                                  minimum=0),
}


def _check_recycle(values: dict) -> list:
    problems = []
    if values["recycle"] == "file" and not values["recycle_file"]:
        problems.append(("solver.recycle_file", "needed when solver.recycle = 'file'"))
    if values["recycle"] == "none" and values["recycle_file"]:
        problems.append(("solver.recycle_file", "given, but solver.recycle = 'none'; set "
                                                "recycle = 'file' to use it"))
    if values["recycle"] == "eigen" and values["recycle_k"] < 1:
        problems.append(("solver.recycle_k", "recycle = 'eigen' needs recycle_k >= 1"))
    if values["recycle"] != "eigen" and values["recycle_k"]:
        problems.append(("solver.recycle_k", "given, but solver.recycle is not 'eigen'"))
    if not values["drop_tolerance"] < 1.0:
        problems.append(("solver.drop_tolerance", f"must be < 1, got {values['drop_tolerance']}"))
    return problems


def load_recycle_vectors(path: str, operator) -> list:
    """The rows of dataset ``recycle`` in ``path`` as domain Vecs of ``operator`` (every
    rank reads the whole k x n array; k is small)."""
    import h5py

    key = "solver.recycle_file"
    try:
        with h5py.File(path, "r") as handle:
            if "recycle" not in handle:
                raise InputError((key, f"{path} has no dataset 'recycle' (datasets: "
                                       f"{', '.join(handle.keys()) or 'none'})"))
            array = np.asarray(handle["recycle"][()], dtype=float)
    except OSError as error:
        raise InputError((key, f"cannot read HDF5 file {path}: {error}")) from None
    n = operator.shape[1]
    if array.ndim != 2 or array.shape[1] != n:
        raise InputError((key, f"dataset 'recycle' in {path} has shape {array.shape}; "
                               f"expected (k, {n})"))
    if not np.all(np.isfinite(array)):
        raise InputError((key, f"dataset 'recycle' in {path} has non-finite values"))
    vectors = []
    for row in array:
        vec, _ = operator.create_vecs()
        start, stop = vec.getOwnershipRange()
        vec.getArray()[:] = row[start:stop]
        vectors.append(vec)
    return vectors


def _recycle_space(operator, values: dict) -> RecycleSpace:
    vectors = []
    if values["recycle"] == "file":
        vectors = load_recycle_vectors(values["recycle_file"], operator)
    elif values["recycle"] == "eigen":
        if values["recycle_k"] > operator.shape[1]:
            raise InputError(("solver.recycle_k", f"{values['recycle_k']} exceeds the "
                                                  f"{operator.shape[1]} unknowns"))
        vectors = eigenvectors(NormalOperator(operator), values["recycle_k"], symmetric=True)
    return RecycleSpace(operator, vectors, values["drop_tolerance"])


class _AugmentedDescent(ExplicitStateSolver):
    """x and r in the state; the recycle space is rebuilt from the job on resume, so a
    resumed run repeats the uninterrupted iterates exactly."""

    parameters = {**COMMON_PARAMETERS, **RECYCLE_PARAMETERS, **CHECK_PARAMETER}
    check_parameters = staticmethod(_check_recycle)

    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self.space = _recycle_space(self.operator, values)
        self._g, self._h = self.operator.create_vecs()
        self.check_every = values["check_residual_every"]

    def initial_scalars(self) -> dict:
        return {}

    def initial_state(self) -> SolverState:
        x0, _ = self.operator.create_vecs()
        x, r = self.space.initial(x0, self.problem.data)
        return SolverState(vectors={"x": x, "r": r},
                           scalars={"residual_norm": r.norm(), "gradient_norm": math.nan,
                                    **self.initial_scalars()})

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["gradient_norm"] == 0.0

    def step_size(self, state: SolverState) -> float | None:
        return None

    def step(self, state: SolverState) -> float:
        x, r = state.vectors["x"], state.vectors["r"]
        residual, gradient = descent_step(self.operator, self.space, x, r, self._g, self._h,
                                          self.step_size(state))
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

    parameters = {**COMMON_PARAMETERS, **RECYCLE_PARAMETERS,
                  "ksp_type": Field(str, "cgls", "PETSc least-squares Krylov method on the "
                                    "projected problem", choices=("cgls", "lsqr"))}
    check_parameters = staticmethod(_check_recycle)
    exact_resume = False

    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        self.space = _recycle_space(self.operator, values)

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        return SolverState(vectors={"x": x})

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
