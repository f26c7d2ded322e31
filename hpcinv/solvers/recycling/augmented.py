"""Augmented (subspace-recycling) regularization: Ramlau, Soodhalter & Hutterer, Alg. 1-3.

A RecycleSpace U (with T U = C, C orthonormal) splits the solution as x = x_p + (I - P) t:
x_p = U C^T y is exact on U, and an ordinary iterative regularization works on the projected
problem (I - Q) T t = (I - Q) y.  By Lemma 6.1 the full residual y - T x equals the projected
one and stays orthogonal to C, so the discrepancy principle is checked on it unchanged (the
projected noise (I - Q) e is no larger than e).

Steepest descent and Landweber run in the paper's efficient form (one T and one T* per
iteration plus O(k n)); the generic Algorithm 1 runs PETSc's CGLS or LSQR on B = (I - Q) T.
With no recycle space (or k = 0) every method is the plain one.  The classes take the
operator, the data, the space and an initial guess x0 as arguments; ``kinds.py`` builds them
from a job.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import ArgumentError, RuntimeFailure, check_count
from ...linalg.operator import Composed
from ...linalg.random import fill_normal
from ...linalg.vectors import norms
from ..framework.ksp_driver import drive_ksp
from ..krylov.ksp import KSP_TYPES
from ..framework.method import IterativeMethod
from ...core.state import SolverState
from ..framework.stopping import StoppingRule
from .space import RecycleSpace

RESIDUAL_CHECK_TOLERANCE = 1e-8
POWER_ITERATIONS = 30


class _Augmented(IterativeMethod):
    """What the augmented methods share: the recycle space (default none: the plain
    method), the initial guess x0 (default 0) and the attributes they report."""

    def __init__(self, operator, data, space: RecycleSpace | None, x0, **options):
        super().__init__(operator, data, **options)
        self.space = space if space is not None else RecycleSpace(operator, [])
        self.x0 = x0

    def result_attributes(self, state: SolverState) -> dict:
        return {"recycle_k": self.space.k, "recycle_dropped": self.space.dropped}


def descent_step(operator, space, x, r, g, h, step: float | None = None,
                 deferred=None) -> tuple[float, float]:
    """One augmented steepest-descent (``step`` None) or Landweber step, in place on x and r:
    g = T* r; h = T g; w = C^T h; h <- h - C w; x += a (g - U w); r -= a h, with
    a = ||g||^2 / ||h||^2 for steepest descent.  ``g`` and ``h`` are work vectors.
    With ``deferred`` (a length-k array) the U part of the x update is added to it instead,
    deferred -= a w, so x + U deferred is the iterate: that saves one pass over U per step
    for a caller that needs x only at the end.
    Returns (||r|| after the step, ||g||); nothing changes when g = 0."""
    operator.mult_transpose(r, g)
    operator.mult(g, h)
    w = space.coefficients(h)
    space.subtract_range(h, w)
    g_norm, h_norm = norms([g, h])
    if g_norm == 0.0:
        return r.norm(), 0.0
    alpha = step if step is not None else (g_norm / h_norm) ** 2
    if deferred is None:
        space.add_domain(g, -w)
    else:
        deferred -= alpha * w
    x.axpy(alpha, g)
    r.axpy(-alpha, h)
    return r.norm(), g_norm


def residual_gaps(operator, data, space, x, r) -> tuple[float, float]:
    """Lemma 6.1 as numbers: (||y - T x - r||, ||C^T r||), both relative to ||y||."""
    _, true = operator.create_vecs()
    operator.mult(x, true)
    true.aypx(-1.0, data)
    true.axpy(-1.0, r)
    scale = data.norm() or 1.0
    return true.norm() / scale, space.range_norm(r) / scale


def check_residual(operator, data, space, x, r, iteration: int) -> tuple[int, float, float]:
    gap, orthogonality = residual_gaps(operator, data, space, x, r)
    if not (gap <= RESIDUAL_CHECK_TOLERANCE and orthogonality <= RESIDUAL_CHECK_TOLERANCE):
        raise RuntimeFailure(f"augmented residual drifted at iteration {iteration}: "
                             f"||y - T x - r|| / ||y|| = {gap:.3g}, ||C^T r|| / ||y|| = "
                             f"{orthogonality:.3g} (limit {RESIDUAL_CHECK_TOLERANCE:g})")
    return iteration, gap, orthogonality


def landweber_step(operator, safety: float = 1.0, seed: int = 0) -> float:
    """safety / ||T||^2_est, with ||T||^2_est the Rayleigh quotient after POWER_ITERATIONS
    power iterations on T*T from a layout-independent random start.  The estimate is never
    above ||T||^2, so the default safety 1 keeps the step below 2/||T||^2 unless it
    underestimates by more than a factor 2 (measured: step ||T||^2 = 1.025 on the 256-point
    deconvolution problem with sigma = 0.03, from dense singular values)."""
    if not 0.0 < safety < 2.0:
        raise ValueError(f"safety must be in (0, 2), got {safety}")
    v, tv = operator.create_vecs()
    fill_normal(v, seed)
    estimate = 0.0
    for _ in range(POWER_ITERATIONS):
        v.scale(1.0 / v.norm())
        operator.mult(v, tv)
        estimate = tv.norm() ** 2
        operator.mult_transpose(tv, v)
        if estimate == 0.0:
            raise ValueError("landweber_step: the operator is zero")
    return safety / estimate


class AugmentedSteepestDescent(_Augmented):
    """Algorithm 2 (efficient form) from x0 (default 0) with the recycle ``space`` (default
    none: plain steepest descent), x and r in the state, so a resumed run repeats the
    uninterrupted iterates exactly.

    ``check_residual_every`` = N > 0 recomputes y - T x every N iterations (one extra
    product), records the gaps as history columns ``residual_gap`` and
    ``range_orthogonality`` (relative to ||y||) and raises RuntimeFailure when the recursive
    r differs from it, or is not orthogonal to C, by more than RESIDUAL_CHECK_TOLERANCE.
    ``defer_recycled_update`` accumulates the U part of the x update as k coefficients
    instead of a pass over U per step; x is formed when asked for (worth it when neither a
    truth nor checkpoints need it every step)."""

    def __init__(self, operator, data, space: RecycleSpace | None = None, x0=None, *,
                 tau: float = 1.02, noise_norm: float = 0.0, max_iterations: int = 500,
                 stopping: StoppingRule | None = None, check_residual_every: int = 0,
                 defer_recycled_update: bool = False):
        self.check_every = check_count("check_residual_every", check_residual_every)
        super().__init__(operator, data, space, x0, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        self.defer = bool(defer_recycled_update)
        self._step_operator, self._projections = self.space.step_parts()
        self._g, self._h = operator.create_vecs()
        self._formed = None

    def step_size(self, state: SolverState) -> float | None:
        """None: the exact line search of steepest descent."""
        return None

    def initial_scalars(self) -> dict:
        return {}

    def initial_state(self) -> SolverState:
        x0, r0 = self.operator.create_vecs()
        if self.x0 is not None:
            self.x0.copy(x0)
            self.operator.mult(x0, r0)
        r0.aypx(-1.0, self.data)
        x, r = self.space.initial(x0, r0)
        scalars = {"residual_norm": r.norm(), "gradient_norm": float("nan"),
                   **self.initial_scalars()}
        if self.defer:
            scalars["deferred"] = [0.0] * self._projections.k
        return SolverState(vectors={"x": x, "r": r}, scalars=scalars)

    def at_least_squares_solution(self, state: SolverState) -> bool:
        return state.scalars["gradient_norm"] == 0.0

    def step(self, state: SolverState) -> float:
        x, r = state.vectors["x"], state.vectors["r"]
        deferred = np.array(state.scalars["deferred"]) if self.defer else None
        residual, gradient = descent_step(self._step_operator, self._projections, x, r,
                                          self._g, self._h, self.step_size(state), deferred)
        if self.defer:
            state.scalars["deferred"] = deferred.tolist()
        state.scalars["gradient_norm"] = gradient
        iteration = state.iteration + 1
        if self.check_every and iteration % self.check_every == 0:
            _, gap, orthogonality = check_residual(self.operator, self.data, self.space,
                                                   self.solution(state), r, iteration)
            state.scalars.update(residual_gap=gap, range_orthogonality=orthogonality)
        return residual

    def history_columns(self, state: SolverState) -> dict:
        if not self.check_every:
            return {}
        checked = state.iteration > 0 and state.iteration % self.check_every == 0
        return {name: state.scalars.get(name, float("nan")) if checked else float("nan")
                for name in ("residual_gap", "range_orthogonality")}

    def solution(self, state: SolverState):
        """x, or with deferred updates x + U (deferred coefficients), formed in a work Vec."""
        if not self.defer or not self._projections.k:
            return state.vectors["x"]
        if self._formed is None:
            self._formed = state.vectors["x"].duplicate()
        state.vectors["x"].copy(self._formed)
        self._projections.add_domain(self._formed, np.array(state.scalars["deferred"]))
        return self._formed


class AugmentedLandweber(AugmentedSteepestDescent):
    """Algorithm 3 with the fixed ``step`` (default ``landweber_step(operator)``, kept in
    the state so a resumed run uses the same); converges for 0 < step < 2/||(I - Q) T||^2,
    for which step < 2/||T||^2 suffices.  Other arguments as AugmentedSteepestDescent."""

    def __init__(self, operator, data, space: RecycleSpace | None = None, x0=None, *,
                 step: float | None = None, **options):
        if step is not None and not step > 0:
            raise ArgumentError("step", f"must be > 0, got {step}")
        super().__init__(operator, data, space, x0, **options)
        self.step_length = step

    def initial_scalars(self) -> dict:
        return {"step": self.step_length or landweber_step(self.operator)}

    def step_size(self, state: SolverState) -> float:
        return state.scalars["step"]


class ProjectedOperator(Composed):
    """B = (I - Q) T, the operator of the projected problem (Algorithm 1, step 2)."""

    def __init__(self, operator, space: RecycleSpace):
        super().__init__(space.range_complement(), operator)


class AugmentedCGLS(_Augmented):
    """Algorithm 1 corrected (x = x_p + (I - P) t) with PETSc's CGLS (or LSQR,
    ``ksp_type``) on (I - Q) T t = (I - Q) y from t = x0, the stopping rule (default: the
    discrepancy principle) on the true residual y - T x.  After each KSP iteration x is set
    to x_p + (I - P) t, where P t = U C^T (T t) reuses the product the true projected
    residual (I - Q)(y - T t) = y - T x needs.  x is its own t (x_p + (I - P) x = x), so a
    resumed run restarts the Krylov space from the saved x (``exact_resume = False``).
    After ``solve``, ``projected_iterate`` is the KSP's last t."""

    exact_resume = False
    projected_iterate = None

    def __init__(self, operator, data, space: RecycleSpace | None = None, x0=None, *,
                 tau: float = 1.02, noise_norm: float = 0.0, max_iterations: int = 500,
                 stopping: StoppingRule | None = None, ksp_type: str = "cgls"):
        super().__init__(operator, data, space, x0, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        if ksp_type not in KSP_TYPES:
            raise ArgumentError("ksp_type", f"must be one of {', '.join(KSP_TYPES)}, got "
                                            f"{ksp_type!r}")
        self.ksp_type = ksp_type

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        if self.x0 is not None:
            self.x0.copy(x)
        return SolverState(vectors={"x": x})

    def solve(self, state: SolverState, control) -> str:
        from petsc4py import PETSc

        operator, space, data = self.operator, self.space, self.data
        x = state.vectors["x"]
        t = self.projected_iterate = x.copy()
        projected = ProjectedOperator(operator, space)
        rhs = space.complement_range(data)
        x_p = x.duplicate()
        space.add_domain(x_p, space.coefficients(data))
        product, residual = data.duplicate(), data.duplicate()

        def observe(its, rnorm):
            operator.mult(t, product)
            w = space.coefficients(product)
            rhs.copy(residual)
            residual.axpy(-1.0, product)
            x_p.copy(x)
            x.axpy(1.0, t)
            space.subtract_range(residual, -w)
            space.add_domain(x, -w)
            return residual.norm(), x

        ksp = PETSc.KSP().create(comm=operator.comm)
        try:
            ksp.setOperators(projected.as_petsc_mat())
            ksp.setType(self.ksp_type)
            ksp.getPC().setType(PETSc.PC.Type.NONE)
            return drive_ksp(ksp, rhs, t, state, control, self, observe=observe,
                             nonzero_guess=True)
        finally:
            ksp.destroy()
