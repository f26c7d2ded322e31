"""Tikhonov regularization min ||A x - b||^2 + lambda ||L x||^2 with lambda fixed or chosen by a
rule (discrepancy principle, GCV, Reginska, quasi-optimality, L-curve).

``method`` says how the functionals and the solution are computed (Luiken's thesis, ch. 3):

* ``lanczos``: Golub-Kahan bidiagonalisation with Gauss/Gauss-Radau bounds, grown until the
  bounds pin lambda down to ``epsilon``; the solution is the hybrid (projected) one;
* ``rsvd``: the adaptive randomized range finder to tolerance ``epsilon`` and the RSVD;
* ``svd``: the exact, full SVD (SLEPc ``lapack``; standard form, at most 5000 unknowns);
* ``gsvd``: the full generalized SVD of (A, L) (SLEPc ``lapack``; at most 2000 unknowns);
* ``lsqr``: PETSc's KSPLSQR on [A; sqrt(lambda) L] for a fixed lambda (any size).

With a regularization operator other than the identity, ``lanczos`` and ``rsvd`` work on
the standard form A L_A^+ (matrix-free, Elden's transformation) and map the solution back;
``gsvd`` and ``lsqr`` use L directly.

Each Golub-Kahan step is one history row (``k``, the current lambda and its bounds), so
progress shows and a signal stops the run with a checkpoint.  The bidiagonalisation is not
saved: a resumed run redoes the whole reduction (``exact_resume = False``).
"""
from __future__ import annotations

import time

from ...core.errors import ArgumentError, check_count
from ...core.mpi import same_on_every_rank
from ...linalg.decompositions.rsvd import DEFAULT_BLOCK
from ...linalg.operator import is_matrix_free
from ...operators.regularization import RegularizationOperator
from ..framework.method import IterativeMethod
from ...core.state import SolverState
from ..framework.stopping import Discrepancy, FixedIterations
from .lanczos_method import lanczos_method
from .methods import Reduction, gsvd_method, lsqr_method, nan_if_none, residual_norm, svd_method
from .choice import choose_lambda_explained
from .paramchoice import RULES
from .paramchoice.functionals import QO_NORMS
from .paramchoice.lanczos import TRACES

METHODS = ("lanczos", "rsvd", "svd", "gsvd", "lsqr")
CHOICES = ("fixed", *RULES, "lcurve")

# Dense LAPACK factorisations: O(n^3) time and every rank holds a dense copy.  SLEPc's
# GSVD of a 576-column pair took 7 s on one core here, of a 900-column one 69 s.
DENSE_LIMITS = {"svd": 5000, "gsvd": 2000}


def is_standard_form(L) -> bool:
    """L = I (or none): Tikhonov in standard form, no transformation needed."""
    return L is None or (isinstance(L, RegularizationOperator) and L.name == "identity")


def setting_problems(rule: str, method: str, lam: float, epsilon: float,
                     qo_norm: str = "Lx") -> list:
    """[(argument, message)] for settings that do not go together."""
    problems = []
    if rule == "qo" and qo_norm == "x" and method == "lanczos":
        problems.append(("qo_norm", "the Lanczos bounds measure quasi-optimality of L x only "
                                    "(qo_norm = \"Lx\"); \"x\" needs method svd, rsvd or "
                                    "gsvd"))
    if rule == "fixed" and not lam > 0:
        problems.append(("lambda", "rule = \"fixed\" needs lambda > 0"))
    if method == "lsqr" and rule != "fixed":
        problems.append(("rule", "method = \"lsqr\" solves for one lambda: use "
                                 "rule = \"fixed\" (or method lanczos/rsvd/svd/gsvd)"))
    if method == "lanczos" and not epsilon < 1:
        problems.append(("epsilon", "lanczos: a relative tolerance in (0, 1)"))
    if method == "lanczos" and rule == "lcurve":
        problems.append(("rule", "the L-curve corner needs a spectral model: method "
                                 "svd, rsvd or gsvd"))
    if method == "lanczos" and rule == "fixed":
        problems.append(("rule", "method = \"lanczos\" chooses lambda: name a rule, "
                                 "or use method = \"lsqr\" for a fixed lambda"))
    return problems


class Tikhonov(IterativeMethod):
    """Tikhonov with L = ``regularization`` (default I) and lambda by ``rule`` (one of
    CHOICES; ``lam`` when "fixed") through ``method`` (one of METHODS).  ``null_basis``:
    orthonormal Vecs spanning N(L) and ``full_row_rank`` (whether L L^T is invertible), by
    default from a ``RegularizationOperator``.  ``noise_norm`` and ``tau``: the
    discrepancy principle's ||A x - b|| = tau ||e||; ``epsilon``: the relative tolerance of
    the Lanczos bounds and lambda, or the range finder's; ``trace``,
    ``hutchinson_vectors``, ``seed``: GCV's trace estimate with lanczos (and rsvd's seed);
    ``reorthogonalize``: Golub-Kahan's; ``rtol``: lsqr's; ``max_iterations``: the most
    Golub-Kahan steps, RSVD rank or LSQR iterations; ``rsvd_block``: the range finder's
    columns per step; ``qo_norm``: quasi-optimality of L x ("Lx") or of x ("x", not with
    lanczos)."""

    exact_resume = False

    def __init__(self, operator, data, *, regularization=None, rule: str = "gcv",
                 method: str = "lanczos", lam: float = 0.0, noise_norm: float = 0.0,
                 tau: float = 1.0, epsilon: float = 1e-3, trace: str = "ritz",
                 hutchinson_vectors: int = 1, seed: int = 0, reorthogonalize: bool = True,
                 rtol: float = 1e-10, max_iterations: int = 300, null_basis=None,
                 full_row_rank: bool | None = None, rsvd_block: int = DEFAULT_BLOCK,
                 qo_norm: str = "Lx"):
        for name, value, known in (("rule", rule, CHOICES), ("method", method, METHODS),
                                   ("trace", trace, TRACES), ("qo_norm", qo_norm, QO_NORMS)):
            if value not in known:
                raise ArgumentError(name, f"must be one of {', '.join(known)}, got {value!r}")
        for name, message in setting_problems(rule, method, lam, epsilon, qo_norm):
            raise ArgumentError("lam" if name == "lambda" else name, message)
        stopping = Discrepancy(tau, noise_norm, stop=False) if rule == "dp" \
            else FixedIterations()
        super().__init__(operator, data, stopping=stopping, max_iterations=max_iterations)
        self.L = regularization
        if isinstance(regularization, RegularizationOperator):
            null_basis = regularization.null_space_basis() if null_basis is None else null_basis
            full_row_rank = regularization.full_row_rank if full_row_rank is None \
                else full_row_rank
        # L = I (no regularization named) has no null space.
        self.null_basis = list(null_basis or []) if regularization is not None else []
        self.full_row_rank = full_row_rank
        self.rule, self.method, self.lam = rule, method, lam
        self.noise_norm, self.tau, self.epsilon = noise_norm, tau, epsilon
        self.trace, self.hutchinson_vectors, self.seed = trace, hutchinson_vectors, seed
        self.reorthogonalize, self.rtol = reorthogonalize, rtol
        self.rsvd_block = check_count("rsvd_block", rsvd_block, 1)
        # Only QO has a choice of norm: other rules must not pay for QO's Gram matrix.
        self.qo_norm = qo_norm if rule == "qo" else "Lx"
        self.chosen = {}
        self.no_lambda_reason = ""
        self._check_problem()

    def _check_problem(self) -> None:
        """Refuse what the problem cannot do, before any heavy work."""
        method, L = self.method, self.L
        if self.rule == "dp" and not self.noise_norm > 0:
            raise ArgumentError("rule", "the discrepancy principle needs a noise level > 0 "
                                        "(problem.noise_level)")
        if method == "svd" and not is_standard_form(L):
            raise ArgumentError("method", "svd needs the standard form (regularization = "
                                          "\"identity\"); use gsvd for a general L")
        if method in DENSE_LIMITS:
            unknowns = self.operator.shape[1]
            if unknowns > DENSE_LIMITS[method]:
                raise ArgumentError("method", f"{method} factorises densely; {unknowns} "
                                              f"unknowns exceed its limit of "
                                              f"{DENSE_LIMITS[method]} (use lanczos or rsvd)")
            for name, operator in (("operator", self.operator), ("regularization", L)):
                if operator is not None and is_matrix_free(operator):
                    raise ArgumentError("method", f"{method} needs assembled matrices; the "
                                                  f"problem's {name} is matrix-free (use "
                                                  f"lanczos, rsvd or lsqr)")

    def reduction(self) -> Reduction:
        """The standard-form problem the SVD and Lanczos methods solve."""
        if is_standard_form(self.L):
            return Reduction(self.operator, self.data)
        return Reduction(self.operator, self.data, self.L, self.null_basis, self.full_row_rank)

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        return SolverState(vectors={"x": x})

    def result_attributes(self, state: SolverState) -> dict:
        return dict(self.chosen)

    def pick_lambda(self, model) -> float | None:
        """The rule's lambda on a spectral model; None (the reason kept for
        ``record_choice``) when there is none."""
        if self.rule == "fixed":
            return self.lam
        choice = choose_lambda_explained(model, self.rule, noise_norm=self.noise_norm,
                                         tau=self.tau)
        # One lambda on every rank, whatever each rank's LAPACK rounding (see lanczos.py).
        lam, self.no_lambda_reason = same_on_every_rank(self.operator.comm.tompi4py(),
                                                        (choice.lam, choice.reason))
        return lam

    def record_choice(self, lam, **extra) -> None:
        """The results of the choice; without a lambda, ``no_lambda_reason`` says why."""
        self.chosen.update({"lambda": lam, "rule": self.rule, "method": self.method, **extra})
        if lam is None:
            self.chosen["no_lambda_reason"] = self.no_lambda_reason

    def solve(self, state: SolverState, control) -> str:
        # A resumed run rebuilds the reduction from the start (see the module docstring).
        state.iteration = 0
        state.history.columns = {name: [] for name in state.history.columns}
        started = time.perf_counter()
        x = state.vectors["x"]
        if self.method == "lanczos":
            stopped = lanczos_method(self, self.reduction(), state, control)
            if stopped:
                return stopped
            residual = state.history.columns["residual_norm"][-1]
        else:
            if self.method == "lsqr":
                lsqr_method(self, state)
            elif self.method == "gsvd":
                gsvd_method(self, state)
            else:
                svd_method(self, self.reduction(), state)
            residual = residual_norm(self.operator, self.data, x)
            stopped = control.record(state, residual, x,
                                     **{"lambda": nan_if_none(self.chosen.get("lambda"))})
            if stopped:
                return stopped
        self.chosen["method_seconds"] = time.perf_counter() - started
        control.finish(state, residual)
        if self.chosen.get("lambda") is None:
            return "no_minimiser"
        if not self.chosen.get("converged", True):
            return "max_iterations"
        return self.rule
