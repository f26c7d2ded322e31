"""The job kind ``tikhonov``: ``Tikhonov`` (``solver.py``) with the problem's regularization
operator L (identity when it names none)."""
from __future__ import annotations

from ...core.errors import job_keys
from ...core.jobspec import SOLVERS, Field
from ..framework.capabilities import Regularization
from ..framework.kind import COMMON_PARAMETERS, MethodKind
from ..memory import tikhonov_memory
from ...linalg.decompositions.rsvd import DEFAULT_BLOCK
from .paramchoice import RULES
from .paramchoice.functionals import QO_NORMS
from .paramchoice.lanczos import TRACES
from .solver import CHOICES, METHODS, Tikhonov, setting_problems

_ARGUMENTS = ("rule", "method", "tau", "epsilon", "trace", "hutchinson_vectors", "seed",
              "reorthogonalize", "rtol", "max_iterations", "rsvd_block", "qo_norm")


@SOLVERS.register("tikhonov")
class TikhonovKind(MethodKind):
    parameters = {
        **COMMON_PARAMETERS,
        "max_iterations": Field(int, 300, "most Golub-Kahan steps (lanczos) or largest rank "
                                "(rsvd); LSQR iterations (lsqr)", minimum=1),
        "tau": Field(float, 1.0, "discrepancy principle: ||A x - b|| = tau ||e||", minimum=1.0),
        "rule": Field(str, "gcv", "how lambda is chosen: fixed, " + ", ".join(RULES)
                      + ", lcurve (the L-curve's corner; svd, rsvd, gsvd)",
                      choices=CHOICES),
        "lambda": Field(float, 0.0, "the regularization parameter when rule = \"fixed\"",
                        minimum=0),
        "method": Field(str, "lanczos", "how the functionals are evaluated: "
                        + ", ".join(METHODS), choices=METHODS),
        "epsilon": Field(float, 1e-3, "lanczos: relative tolerance of the bounds and of "
                         "lambda; rsvd: the range finder's ||A - Q Q^T A|| tolerance",
                         minimum=0, exclusive_minimum=True),
        "trace": Field(str, "ritz", "GCV's trace estimate with lanczos: ritz or hutchinson",
                       choices=TRACES),
        "hutchinson_vectors": Field(int, 1, "Rademacher vectors of the Hutchinson estimate",
                                    minimum=1),
        "seed": Field(int, 0, "seed of the random vectors (rsvd, hutchinson)", minimum=0),
        "reorthogonalize": Field(bool, True, "full reorthogonalisation in Golub-Kahan"),
        "qo_norm": Field(str, "Lx", "what quasi-optimality measures with an L: the change "
                         "of L x (Lx; every method) or of x itself (x; svd, rsvd, gsvd)",
                         choices=QO_NORMS, applies=("rule", ("qo",))),
        "rsvd_block": Field(int, DEFAULT_BLOCK, "rsvd: columns the range finder adds per step "
                            "(1: Halko's one-vector Alg. 4.2; the rank found is rounded up to "
                            "a multiple)", minimum=1),
        "rtol": Field(float, 1e-10, "lsqr: relative tolerance of KSPLSQR", minimum=0,
                      exclusive_minimum=True),
    }

    memory_estimate = staticmethod(tikhonov_memory)

    @staticmethod
    def check_parameters(values: dict) -> list:
        return [(f"solver.{name}", message) for name, message in
                setting_problems(values["rule"], values["method"], values["lambda"],
                                 values["epsilon"], values["qo_norm"])]

    @classmethod
    def build(cls, problem, values: dict) -> Tikhonov:
        regularization = problem.capability(Regularization)
        with job_keys("solver"):
            return Tikhonov(problem.operator, problem.data,
                            regularization=regularization.operator if regularization else None,
                            lam=values["lambda"], noise_norm=problem.noise_norm,
                            **{name: values[name] for name in _ARGUMENTS})
