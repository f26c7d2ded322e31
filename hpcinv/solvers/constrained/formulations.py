"""Least squares under a linear constraint, min ||A g - b||^2 subject to L g = 0, three ways.

P is an orthogonal projector (symmetric, P^2 = P) onto the admissible set and L = I - P, or
another ``penalty`` whose null space is that set.  As in Luiken's thesis (ch. 5, eqs.
5.10-5.13), each form may add Tikhonov's lam ||g||^2:

- ``PreconditionedLSQR`` (5.12): LSQR on min ||A P x - b||^2 + lam ||x||^2, with g = P x.
  LSQR's iterates lie in range(P A^T), inside range(P), so x = P x = g there.
- ``PenaltyLSQR`` (5.13): LSQR on min ||A g - b||^2 + rho ||L g||^2 + lam ||g||^2, the
  stacked [A; sqrt(rho) L; sqrt(lam) I] g = [b; 0; 0].  Its g is admissible only in the
  limit rho -> infinity, unless b has an admissible exact fit (then any rho > 0 will do).
- ``KKTMinres`` (5.10): MINRES on the saddle-point system
  [[A^T A + lam I, L^T], [L, 0]] [g; mu] = [A^T b; 0] with the multiplier mu.

In exact arithmetic the three give the same g (the penalty's as rho grows): the minimum-norm
g = V (V^T (A^T A + lam I) V)^+ V^T A^T b for an orthonormal basis V of range(P).

Each method reports, to its stopping rule and in its history, the data residual ||A g - b||
of the g it returns, not the residual of the system its Krylov method solves: the
discrepancy principle is about the data.  ``PreconditionedLSQR`` and ``PenaltyLSQR`` derive it
from LSQR's residual estimate; ``KKTMinres`` computes it (one more product with A).

Resuming: the two LSQR forms keep LSQR's whole state and continue bit for bit, on the
same number of ranks where their system is stacked (the penalty's, or with lam > 0: a
stacked Vec's order depends on the rank count, ``_RankBoundResume``);
``KKTMinres`` restarts MINRES from the saved (g, mu) (``exact_resume = False``), towards the
same solution but not along the same iterates.
"""
from __future__ import annotations

import math
from contextlib import ExitStack, contextmanager

from ...core.errors import ArgumentError, InputError, check_number
from ...core.state import SolverState
from ...linalg.layout import Layout
from ...linalg.operator import Operator, StackedOperator
from ..framework.ksp_driver import drive_ksp
from ..framework.method import IterativeMethod
from ..framework.stopping import StoppingRule
from ..krylov.lsqr import LSQR
from ..krylov.monitor import ksp_monitor
from .operators import Identity, KKTOperator, ProjectedOnRange, ProjectionComplement


def _check_problem(operator: Operator, data, projection: Operator) -> None:
    """The data must be split as A's rows are and P must be square on A's domain."""
    if data.getSize() != operator.shape[0] or Layout.of_vec(data) != operator.range_layout:
        raise ArgumentError("data", f"needs the {operator.shape[0]} rows of the operator, "
                                    f"split across ranks alike; has {data.getSize()} entries")
    n = operator.shape[1]
    if projection.shape != (n, n) or projection.domain_layout != operator.domain_layout \
            or projection.range_layout != operator.domain_layout:
        raise ArgumentError("projection", f"must be {n} x {n} on the operator's domain, split "
                                          f"across ranks alike; is {projection.shape[0]} x "
                                          f"{projection.shape[1]}")


def _penalty(operator: Operator, projection: Operator, penalty: Operator | None) -> Operator:
    """``penalty``, checked against A's domain, or I - P."""
    if penalty is None:
        return ProjectionComplement(projection)
    if penalty.shape[1] != operator.shape[1] or penalty.domain_layout != operator.domain_layout:
        raise ArgumentError("penalty", f"must have the operator's {operator.shape[1]} columns, "
                                       f"split across ranks alike; has {penalty.shape[1]}")
    return penalty


def _with_tikhonov(system: Operator, system_data, lam: float):
    """[system; sqrt(lam) I] and [data; 0] when lam > 0, else the system and data as given."""
    if lam == 0:
        return system, system_data
    stacked = StackedOperator(system, Identity(system.domain_layout), math.sqrt(lam))
    return stacked, stacked.stack_data(system_data)


class _RankBoundResume:
    """LSQR whose range Vecs are stacked ([A; sqrt(rho) L; ...]): their global order
    interleaves the ranks' blocks, so a checkpoint of LSQR's u read on another number of
    ranks would scramble it.  The state records the rank count; resuming on another is bad
    input, not a silently different computation."""

    _stacked_range = True

    def initial_state(self) -> SolverState:
        state = super().initial_state()
        if self._stacked_range:
            state.scalars["stacked_state_ranks"] = self.operator.comm.size
        return state

    def solve(self, state: SolverState, control) -> str:
        saved, ranks = state.scalars.get("stacked_state_ranks"), self.operator.comm.size
        if saved is not None and saved != ranks:
            raise InputError(("--resume", f"the checkpoint of this {type(self).__name__} "
                                          f"was written on {saved} rank(s), its stacked "
                                          f"vectors split that way; resume on {saved}, not "
                                          f"{ranks}, or start again"))
        return super().solve(state, control)


class PreconditionedLSQR(_RankBoundResume, LSQR):
    """(5.12): LSQR on A P, stacked with sqrt(lam) I when lam > 0; the solution is g = P x.
    ``operator`` is then that system (for a projection that declares ``is_projector``, one
    that is A P only on range(P), ``ProjectedOnRange``), ``forward_operator`` and
    ``forward_data`` A and b.

    With lam = 0, A P is singular (P's null space is in its own).  Iterated far beyond its
    rank (only small problems get there), LSQR lets rounding errors grow x in that null
    space, as on any singular operator, and P x then loses its accuracy to cancellation."""

    def __init__(self, operator, data, projection, *, lam: float = 0.0, tau: float = 1.02,
                 noise_norm: float = 0.0, max_iterations: int = 500,
                 stopping: StoppingRule | None = None):
        lam = check_number("lam", lam)
        _check_problem(operator, data, projection)
        # Its right vectors stay in range(P): where P is exactly idempotent the forward
        # product may skip it (``ProjectedOnRange``).
        exact = getattr(projection, "is_projector", False) and projection.symmetric
        restricted = ProjectedOnRange(operator, projection) if exact else operator @ projection
        system, system_data = _with_tikhonov(restricted, data, lam)
        super().__init__(system, system_data, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        self.forward_operator, self.forward_data = operator, data
        self.projection, self.lam = projection, lam
        self._stacked_range = lam > 0
        self._projected = None   # (state, iteration, P x) of the last solution formed

    def step(self, state: SolverState) -> float:
        stacked_residual = super().step(state)
        if self.lam == 0:
            return stacked_residual     # ||A P x - b|| = ||A g - b||
        # In exact arithmetic LSQR's phibar is the stacked residual's norm, so phibar^2 =
        # ||A P x - b||^2 + lam ||x||^2 and A P x = A g: the difference is the data residual
        # squared.  Rounding may take it below 0 when the misfit is tiny against lam ||x||^2.
        x_norm = state.vectors["x"].norm()
        return math.sqrt(max(stacked_residual ** 2 - self.lam * x_norm ** 2, 0.0))

    def solution(self, state: SolverState):
        """P x, formed once per iteration (in the Vec of the previous one)."""
        cached = self._projected
        if cached is not None and cached[0] is state and cached[1] == state.iteration:
            return cached[2]
        if cached is not None and cached[0] is state:
            g = cached[2]
        else:   # another state's solution may still be in use (a SolveResult's x)
            g = self.projection.create_vecs()[1]
        self.projection.mult(state.vectors["x"], g)
        self._projected = (state, state.iteration, g)
        return g


class PenaltyLSQR(_RankBoundResume, LSQR):
    """(5.13): LSQR on [A; sqrt(rho) L], stacked with sqrt(lam) I when lam > 0; the solution
    is LSQR's x.  ``operator`` is that system, ``forward_operator`` and ``forward_data`` A
    and b."""

    def __init__(self, operator, data, projection, *, rho: float = 1.0, lam: float = 0.0,
                 penalty: Operator | None = None, tau: float = 1.02, noise_norm: float = 0.0,
                 max_iterations: int = 500, stopping: StoppingRule | None = None):
        rho, lam = check_number("rho", rho, positive=True), check_number("lam", lam)
        _check_problem(operator, data, projection)
        penalty = _penalty(operator, projection, penalty)
        penalised = StackedOperator(operator, penalty, math.sqrt(rho))
        system, system_data = _with_tikhonov(penalised, penalised.stack_data(data), lam)
        super().__init__(system, system_data, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        self.forward_operator, self.forward_data = operator, data
        self.projection, self.penalty, self.rho, self.lam = projection, penalty, rho, lam
        self.penalised = penalised

    def initial_state(self) -> SolverState:
        # L x and L (w - v), kept by the recurrences of ``step`` (both 0 at x = 0, w = v).
        state = super().initial_state()
        for name in ("penalty_x", "penalty_w_less_v"):
            state.vectors[name] = self.penalty.create_vecs()[1]
        return state

    @contextmanager
    def _scaled_penalty_block(self, stacked):
        """The block sqrt(rho) L v of a product [A; sqrt(rho) L (; sqrt(lam) I)] v."""
        with ExitStack() as stack:
            if self.lam > 0:
                stacked, _ = stack.enter_context(self.operator.blocks(stacked))
            _, block = stack.enter_context(self.penalised.blocks(stacked))
            yield block

    def step(self, state: SolverState) -> float:
        stacked_residual = super().step(state)
        # ||A x - b||^2 = phibar^2 - rho ||L x||^2 - lam ||x||^2 in exact arithmetic (phibar
        # is the stacked residual's norm), which spares computing A x - b, a third product
        # with A to LSQR's two.  L x follows LSQR's updates x += x_step w, w = v - w_step w
        # without a product with L, a third projection to the two of the stacked products:
        # L v arrives in the forward product's block sqrt(rho) L v.  The price is
        # cancellation: phibar's relative rounding error grows by phibar^2 / ||A x - b||^2,
        # large only where the penalty terms dwarf the misfit, not at the discrepancy stop
        # of a sensibly weighted problem.
        penalty_x, penalty_w = state.vectors["penalty_x"], state.vectors["penalty_w_less_v"]
        x_step, w_step = self.last_update
        with self._scaled_penalty_block(self._work[1]) as scaled_penalty_v:
            penalty_w.axpy(1.0 / math.sqrt(self.rho), scaled_penalty_v)   # L w of the update
        penalty_x.axpy(x_step, penalty_w)
        penalty_w.scale(-w_step)                                          # L (w - v) after it
        misfit_squared = stacked_residual ** 2 - self.rho * penalty_x.norm() ** 2
        if self.lam > 0:
            misfit_squared -= self.lam * state.vectors["x"].norm() ** 2
        return math.sqrt(max(misfit_squared, 0.0))


class KKTMinres(IterativeMethod):
    """(5.10): PETSc's MINRES without a preconditioner on [[A^T A + lam I, L^T], [L, 0]]
    [g; mu] = [A^T b; 0] (``system``), driven by ``drive_ksp`` under hpcinv's stopping rule.

    The state holds g ("x") and mu ("multiplier"), copied out of the KSP's iterate at every
    iteration so that a checkpoint holds both; a resumed run starts MINRES from them.  The
    options database reaches the KSP under the prefix ``kkt_`` (``-kkt_ksp_monitor`` prints
    MINRES's own residual of the KKT system); ``-ksp_monitor`` prints the data residual, as
    for the LSQR forms."""

    exact_resume = False
    options_prefix = "kkt_"

    def __init__(self, operator, data, projection, *, lam: float = 0.0,
                 penalty: Operator | None = None, tau: float = 1.02, noise_norm: float = 0.0,
                 max_iterations: int = 500, stopping: StoppingRule | None = None):
        lam = check_number("lam", lam)
        _check_problem(operator, data, projection)
        penalty = _penalty(operator, projection, penalty)
        super().__init__(operator, data, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        self.projection, self.penalty, self.lam = projection, penalty, lam
        self.system = KKTOperator(operator, penalty, lam)

    def iteration_monitor(self):
        return ksp_monitor(self.operator.comm)

    def initial_state(self) -> SolverState:
        g, _ = self.operator.create_vecs()
        _, mu = self.penalty.create_vecs()
        return SolverState(vectors={"x": g, "multiplier": mu})

    def solve(self, state: SolverState, control) -> str:
        from petsc4py import PETSc

        from ...core.petsc_options import petsc_input_errors

        system = self.system
        g, mu = state.vectors["x"], state.vectors["multiplier"]
        iterate, rhs = system.create_vecs()
        with system.blocks(rhs) as (top, _):
            self.operator.mult_transpose(self.data, top)
        with system.blocks(iterate) as (primal, dual):
            g.copy(primal)
            mu.copy(dual)
        misfit = self.data.duplicate()

        def observe(its, rnorm):
            # MINRES updates its iterate in place before each convergence test.  The data
            # residual is one product with A more per iteration (K takes A and A^T).
            with system.blocks(iterate) as (primal, dual):
                primal.copy(g)
                dual.copy(mu)
            self.operator.mult(g, misfit)
            misfit.axpy(-1.0, self.data)
            return misfit.norm(), g

        ksp = PETSc.KSP().create(comm=self.operator.comm)
        try:
            ksp.setOptionsPrefix(self.options_prefix)
            ksp.setOperators(system.as_petsc_mat())
            ksp.setType(PETSc.KSP.Type.MINRES)
            ksp.getPC().setType(PETSc.PC.Type.NONE)
            with petsc_input_errors():   # a bad option value is bad input
                ksp.setFromOptions()
            # PETSc 3.18's MINRES computes only the preconditioned norm: without a
            # preconditioner, the KKT residual's.
            return drive_ksp(ksp, rhs, iterate, state, control, self, observe=observe,
                             nonzero_guess=state.iteration > 0,
                             norm_type=PETSc.KSP.NormType.PRECONDITIONED)
        finally:
            ksp.destroy()


FORMULATIONS = {"preconditioned": PreconditionedLSQR, "penalty": PenaltyLSQR,
                "kkt": KKTMinres}
