"""Penalised likelihood by PETSc TAO: each outer step is one bound-constrained TAO solve of
min L(f) + mu R(f) subject to f >= floor, warm-started from the current f, and then a
step of the search on mu toward the target chi-square (``mu_search``).

A fresh TAO is made (and destroyed) for every step: quasi-Newton memories and line-search
state would otherwise carry over between steps without being in the SolverState, and a
resumed run would not repeat the uninterrupted iterates.  Options behind the prefix
``penalized_tao_`` (``-penalized_tao_tao_type bqnls``, ``-penalized_tao_tao_monitor``,
``-penalized_tao_tao_grtol 1e-9``, ...) are read after hpcinv's settings, so they win.
"""
from __future__ import annotations

from ...core.errors import ArgumentError, InputError, RuntimeFailure, check_count, check_number
from ...core.petsc_options import petsc_input_errors
from .mu_search import PenalizedIteration
from .start import floored_start

OPTIONS_PREFIX = "penalized_tao_"
# The bound-constrained TAO types of PETSc 3.18 that need only Q and its gradient, then
# those that also take Q's Hessian (a matrix-free product from the penalty's
# hessian_mult).  Left out: bqnktr and bqnktl (on small test problems they did not reach
# grtol 1e-7 in 500 iterations, where blmvm needed under 100), tron and gpcg (their KSP
# factors the Hessian, which needs its entries), bqpip (it shifts the Hessian's diagonal)
# and the complementarity solvers.
QUASI_NEWTON_TYPES = ("blmvm", "bqnls", "bqnkls", "bncg")
NEWTON_TYPES = ("bnls", "bntr", "bntl")
TAO_TYPES = QUASI_NEWTON_TYPES + NEWTON_TYPES
# A floor relative to the constant start's level: positive for the negentropies, which take
# log f; f >= 0 is enough for a quadratic penalty.
_ENTROPY_FLOOR = 1e-10


class PenalizedTAO(PenalizedIteration):
    """min L(f) + mu R(f) subject to f >= floor by TAO ``tao_type``, with mu searched so
    that L reaches ``chi_square_target`` (``PenalizedIteration``; None: mu fixed, one solve).

    ``operator`` and ``data`` are noise-weighted, so L is the chi-square; ``penalty`` has
    ``value_and_gradient``, ``value``, ``hessian_mult`` and ``quadratic`` (``penalties.py``).
    Each TAO solve stops at ||projected grad Q|| <= ``tao_gradient_tolerance`` |Q| (TAO's
    grtol) or after ``tao_max_iterations``.  ``floor`` is relative to the level of the
    constant start (``start.constant_start``); None: 1e-10 for a non-quadratic penalty,
    0 for a quadratic one.  ``initial`` (a Vec) replaces the constant start, raised to the
    floor where below it."""

    inner_iterations = "tao_iterations"
    # A solve that reached its iteration cap counts as settled (the search may move on)
    # when Q fell by at most the search's tolerance in this last fraction of its
    # iterations; None: never (the next step continues at the same mu).
    stall_fraction = None

    def __init__(self, operator, data, penalty, *, chi_square_target: float | None,
                 mu: float | None = None, tolerance: float = 1e-3, tao_type: str = "blmvm",
                 tao_max_iterations: int = 1000, tao_gradient_tolerance: float = 1e-7,
                 floor: float | None = None, max_iterations: int = 100, initial=None,
                 likelihood=None):
        super().__init__(operator, data, chi_square_target=chi_square_target, mu=mu,
                         tolerance=tolerance, max_iterations=max_iterations,
                         likelihood=likelihood)
        if tao_type not in TAO_TYPES:
            raise ArgumentError("tao_type", f"must be one of {', '.join(TAO_TYPES)}, got "
                                            f"{tao_type!r}")
        if initial is not None and initial.getSize() != operator.shape[1]:
            raise ArgumentError("initial", f"has {initial.getSize()} entries, the operator "
                                           f"{operator.shape[1]} columns")
        self.penalty = penalty
        self.tao_type = tao_type
        self.tao_max_iterations = check_count("tao_max_iterations", tao_max_iterations, 1)
        self.tao_gradient_tolerance = check_number("tao_gradient_tolerance",
                                                   tao_gradient_tolerance, positive=True)
        default_floor = 0.0 if penalty.quadratic else _ENTROPY_FLOOR
        relative = check_number("floor", default_floor if floor is None else floor)
        if relative == 0.0 and not penalty.quadratic:
            raise ArgumentError("floor", f"must be > 0 for the {penalty.name!r} penalty, "
                                         f"which takes log f")
        self.initial, self.floor = floored_start(operator, data, relative, initial)
        self._work = None   # (TAO's gradient, R's gradient, lower bound, upper bound)

    def start(self):
        return self.initial.copy()

    def penalty_value(self, f) -> float:
        return self.penalty.value(f)

    def penalty_curvature(self, f, e) -> float:
        product = e.duplicate()
        self.penalty.hessian_mult(f, e, product)
        curvature = product.dot(e)
        product.destroy()
        return curvature

    def _vectors(self, f):
        if self._work is None:
            from petsc4py import PETSc

            gradient, penalty_gradient, lower, upper = (f.duplicate() for _ in range(4))
            lower.set(self.floor)
            upper.set(PETSc.INFINITY)
            self._work = gradient, penalty_gradient, lower, upper
        return self._work

    def _objective_gradient(self, tao, f, gradient, mu):
        penalty_gradient = self._work[1]
        likelihood = self.likelihood.value_and_gradient(f, gradient)
        penalty = self.penalty.value_and_gradient(f, penalty_gradient)
        gradient.axpy(mu, penalty_gradient)
        return likelihood + mu * penalty

    def minimise(self, f, mu: float) -> int:
        from petsc4py import PETSc

        gradient, _, lower, upper = self._vectors(f)
        tao = PETSc.TAO().create(comm=self.operator.comm)
        hessian = None
        try:
            tao.setOptionsPrefix(OPTIONS_PREFIX)
            tao.setType(self.tao_type)
            tao.setObjectiveGradient(self._objective_gradient, gradient, args=(mu,))
            tao.setVariableBounds((lower, upper))
            tao.setTolerances(gatol=0.0, grtol=self.tao_gradient_tolerance, gttol=0.0)
            tao.setMaximumIterations(self.tao_max_iterations)
            tao.setSolution(f)
            with petsc_input_errors():   # a bad option value is bad input
                tao.setFromOptions()
            tao_type = tao.getType()
            if tao_type not in TAO_TYPES:
                raise InputError((f"petsc.{OPTIONS_PREFIX}tao_type",
                                  f"must be one of {', '.join(TAO_TYPES)} (a bound-"
                                  f"constrained type), got {tao_type!r}"))
            if tao_type in NEWTON_TYPES:
                hessian = _hessian_mat(f, _PenalizedHessian(self.likelihood, self.penalty,
                                                            mu, f))
                tao.setHessian(_evaluate_hessian, hessian)
            objectives = []
            if self.stall_fraction:
                tao.setMonitor(lambda tao: objectives.append(tao.getObjectiveValue()))
            tao.solve()
            reason = tao.getConvergedReason()
            if reason == PETSc.TAO.Reason.DIVERGED_NAN:
                raise RuntimeFailure(f"TAO {tao_type} at mu = {mu:.6g}: Q or its gradient "
                                     f"became NaN or infinite")
            # Other endings leave TAO's best iterate.  Only the caps on iterations and
            # function evaluations leave work to do: the next step goes on from it at the
            # same mu.  The rest (a failed line search or trust region) mean no more
            # progress at this mu is to be had.
            self.last_settled = reason not in (PETSc.TAO.Reason.DIVERGED_MAXITS,
                                               PETSc.TAO.Reason.DIVERGED_MAXFCN) \
                or self._stalled(objectives)
            return tao.getIterationNumber()
        finally:
            tao.destroy()
            if hessian is not None:
                hessian.getPythonContext().release()
                hessian.destroy()

    def _stalled(self, objectives: list) -> bool:
        """Whether Q moved by at most the search's tolerance (of the target misfit) over
        the last ``stall_fraction`` of a capped solve's iterations: a continuation at the
        same mu would move the misfit less than the search can resolve.  Never with mu
        fixed: there is no search, and the solve goes on until it converges."""
        if not self.stall_fraction or self.chi_square_target is None or len(objectives) < 8:
            return False
        tail = objectives[-max(2, int(self.stall_fraction * len(objectives))):]
        return tail[0] - tail[-1] <= self.tolerance * self.chi_square_target


class _PenalizedHessian:
    """petsc4py's Python-Mat protocol for Q's Hessian at the point TAO last evaluated it:
    e -> 2 A^T A e + mu (Hessian of R at f) e, plus the diagonal shift the Newton types add
    when the Hessian is not positive definite along their step (MatShift)."""

    def __init__(self, likelihood, penalty, mu: float, template):
        self.likelihood, self.penalty, self.mu = likelihood, penalty, mu
        self.point, self._penalty_product = template.duplicate(), template.duplicate()
        self.diagonal_shift = 0.0

    def mult(self, mat, e, out):
        self.likelihood.hessian_mult(e, out)
        self.penalty.hessian_mult(self.point, e, self._penalty_product)
        out.axpy(self.mu, self._penalty_product)
        if self.diagonal_shift:
            out.axpy(self.diagonal_shift, e)

    def shift(self, mat, value):
        self.diagonal_shift += value

    def release(self):
        self.point.destroy()
        self._penalty_product.destroy()


def _hessian_mat(template, context):
    from petsc4py import PETSc

    sizes = template.getSizes()
    mat = PETSc.Mat().createPython((sizes, sizes), context=context, comm=template.getComm())
    mat.setUp()
    return mat


def _evaluate_hessian(tao, f, hessian, preconditioner):
    # f is TAO's own iterate, which its line search or trust region moves while the
    # products still need the point the Hessian belongs to.
    context = hessian.getPythonContext()
    f.copy(context.point)
    context.diagonal_shift = 0.0   # a new Hessian: earlier shifts belonged to the old one
