"""Tikhonov regularization min ||A x - b||^2 + lambda ||L x||^2 with lambda fixed or chosen by a
rule (discrepancy principle, GCV, Reginska, quasi-optimality), as the job kind ``tikhonov``.

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

from ..jobspec import SOLVERS, Field
from .base import COMMON_PARAMETERS, IterativeSolver
from .paramchoice import RULES, choose_lambda
from .paramchoice.lcurve import lcurve_corner
from .state import SolverState

METHODS = ("lanczos", "rsvd", "svd", "gsvd", "lsqr")


def _check(values: dict) -> list:
    problems = []
    if values["rule"] == "fixed" and not values["lambda"] > 0:
        problems.append(("solver.lambda", "rule = \"fixed\" needs lambda > 0"))
    if values["method"] == "lsqr" and values["rule"] != "fixed":
        problems.append(("solver.rule", "method = \"lsqr\" solves for one lambda: use "
                                        "rule = \"fixed\" (or method lanczos/rsvd/svd/gsvd)"))
    if values["method"] == "lanczos" and not values["epsilon"] < 1:
        problems.append(("solver.epsilon", "lanczos: a relative tolerance in (0, 1)"))
    if values["method"] == "lanczos" and values["rule"] == "lcurve":
        problems.append(("solver.rule", "the L-curve corner needs a spectral model: method "
                                        "svd, rsvd or gsvd"))
    if values["method"] == "lanczos" and values["rule"] == "fixed":
        problems.append(("solver.rule", "method = \"lanczos\" chooses lambda: name a rule, "
                                        "or use method = \"lsqr\" for a fixed lambda"))
    return problems


@SOLVERS.register("tikhonov")
class Tikhonov(IterativeSolver):
    parameters = {
        **COMMON_PARAMETERS,
        "max_iterations": Field(int, 300, "most Golub-Kahan steps (lanczos) or largest rank "
                                "(rsvd); LSQR iterations (lsqr)", minimum=1),
        "tau": Field(float, 1.0, "discrepancy principle: ||A x - b|| = tau ||e||", minimum=1.0),
        "rule": Field(str, "gcv", "how lambda is chosen: fixed, " + ", ".join(RULES)
                      + ", lcurve (the L-curve's corner; svd, rsvd, gsvd)",
                      choices=("fixed", *RULES, "lcurve")),
        "lambda": Field(float, 0.0, "the regularization parameter when rule = \"fixed\"",
                        minimum=0),
        "method": Field(str, "lanczos", "how the functionals are evaluated: "
                        + ", ".join(METHODS), choices=METHODS),
        "epsilon": Field(float, 1e-3, "lanczos: relative tolerance of the bounds and of "
                         "lambda; rsvd: the range finder's ||A - Q Q^T A|| tolerance",
                         minimum=0, exclusive_minimum=True),
        "trace": Field(str, "ritz", "GCV's trace estimate with lanczos: ritz or hutchinson",
                       choices=("ritz", "hutchinson")),
        "hutchinson_vectors": Field(int, 1, "Rademacher vectors of the Hutchinson estimate",
                                    minimum=1),
        "seed": Field(int, 0, "seed of the random vectors (rsvd, hutchinson)", minimum=0),
        "reorthogonalize": Field(bool, True, "full reorthogonalisation in Golub-Kahan"),
        "rtol": Field(float, 1e-10, "lsqr: relative tolerance of KSPLSQR", minimum=0,
                      exclusive_minimum=True),
    }
    exact_resume = False

    @staticmethod
    def check_parameters(values: dict) -> list:
        return _check(values)

    def __init__(self, problem, values: dict):
        from .tikhonov_methods import check_problem

        super().__init__(problem, values)
        self.target = values["tau"] * problem.noise_norm if values["rule"] == "dp" else 0.0
        self.chosen = {}
        check_problem(self)

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        return SolverState(vectors={"x": x})

    def result_attributes(self, state: SolverState) -> dict:
        return dict(self.chosen)

    def solve(self, state: SolverState, control) -> str:
        from .tikhonov_methods import solve_tikhonov

        # A resumed run rebuilds the reduction from the start (see the module docstring).
        state.iteration = 0
        state.history.columns = {name: [] for name in state.history.columns}
        return solve_tikhonov(self, state, control)

    def pick_lambda(self, model) -> float | None:
        values = self.values
        if values["rule"] == "fixed":
            return values["lambda"]
        if values["rule"] == "lcurve":
            lam = lcurve_corner(model)
        else:
            lam = choose_lambda(model, values["rule"], noise_norm=self.problem.noise_norm,
                                tau=values["tau"])
        # One lambda on every rank, whatever each rank's LAPACK rounding (see lanczos.py).
        return self.operator.comm.tompi4py().bcast(lam, root=0)
