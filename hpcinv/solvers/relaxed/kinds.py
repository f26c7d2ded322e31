"""The relaxed-regularization job kinds (Luiken's thesis, ch. 6) for
min_x 1/2 ||A x - b||^2 + R(L x), L the problem's ``regularization`` (I without one):

- ``sr3-inexact``: SR3 with LSQR stopped by the change of the prospective y (Algorithm 8);
- ``sr3-exact``: SR3 with LSQR run to its tolerance every outer step;
- ``fista``: accelerated proximal gradient (L = I only);
- ``admm``: scaled ADMM with the same stacked LSQR as SR3.

R is ``lambda ||.||_1`` (``form = "penalized"``) or the indicator of the l1 ball of radius
``radius`` (``form = "constrained"``, the thesis' experiments, where the radius is tau);
``radius = 0`` takes the oracle ||L x_true||_1 of a problem with a truth.
"""
from __future__ import annotations

from ...core.errors import InputError, job_keys
from ...core.jobspec import SOLVERS, Field
from ...core.memory import MemoryEstimate, vectors
from ..framework.capabilities import Regularization
from ..framework.kind import MethodKind, no_solver_options
from .admm import ADMM
from .proximal_gradient import ProximalGradient
from .prox import L1Ball, L1Norm
from .sr3 import SR3

FORM_PARAMETERS = {
    "form": Field(str, "constrained", "R: the l1-ball indicator ||L x||_1 <= radius "
                  "(constrained) or lambda ||L x||_1 (penalized)",
                  choices=("constrained", "penalized")),
    "radius": Field(float, 0.0, "constrained: radius tau of the l1 ball (0: the oracle "
                    "||L x_true||_1 of a problem with a truth)", minimum=0,
                    applies=("form", ("constrained",))),
    "lambda": Field(float, 0.0, "penalized: weight of ||L x||_1", minimum=0,
                    applies=("form", ("penalized",))),
    "tolerance": Field(float, 1e-6, "stop once ||v - y|| / max(1, ||y||) <= this (the "
                       "relative change of the iterate the prox returns)", minimum=0,
                       exclusive_minimum=True),
    "max_iterations": Field(int, 500, "outer iteration limit", minimum=1),
    "wall_time": Field(float, 0.0, "stop with a checkpoint after this many seconds of "
                       "solving in one run (0: no limit)", minimum=0),
}
INNER_PARAMETERS = {
    "inner_tolerance": Field(float, 1e-6, "LSQR's stop: the relative change of the "
                             "prospective y (sr3-inexact) or LSQR's relative residual "
                             "tolerance (sr3-exact, admm)", minimum=0, exclusive_minimum=True),
    "max_inner_iterations": Field(int, 10000, "LSQR steps per outer iteration at most",
                                  minimum=1),
}
SR3_PARAMETERS = {
    **FORM_PARAMETERS, **INNER_PARAMETERS,
    "kappa": Field(float, 1.0, "relaxation weight kappa of kappa/2 ||L x - y||^2", minimum=0,
                   exclusive_minimum=True),
    "accelerate": Field(bool, True, "apg's extrapolation of y between outer steps (false: "
                        "Algorithm 8 as printed)"),
}


def _check_form(values: dict) -> list:
    if values["form"] == "penalized" and not values["lambda"]:
        return [("solver.lambda", "form = \"penalized\" needs lambda > 0")]
    return []


def regularizer(problem, values: dict, L):
    """The job's R: L1Norm(lambda) or L1Ball(radius), radius ||L x_true||_1 when 0."""
    if values["form"] == "penalized":
        return L1Norm(values["lambda"])
    radius = values["radius"]
    if not radius:
        if problem.truth is None:
            raise InputError(("solver.radius", "is 0 (the oracle ||L x_true||_1), but the "
                                               "problem has no truth: give the radius"))
        from petsc4py import PETSc

        image = L.create_vecs()[1]
        L.mult(problem.truth, image)
        radius = image.norm(PETSc.NormType.NORM_1)
        image.destroy()
    return L1Ball(radius)


def regularization_operator(problem):
    """The problem's L, or the identity."""
    capability = problem.capability(Regularization)
    if capability is not None:
        return capability.operator
    from ...operators.regularization import regularization_operator as named

    return named(problem.operator.comm, "identity", (problem.columns,))


def _memory(problem, domain: int, range_vectors: int):
    """Vecs of the domain and of the stacked range [A; L] (L: up to 2 n rows, gradient2d)."""
    return MemoryEstimate(vectors(domain, problem.columns)
                          + vectors(range_vectors, problem.rows + 2 * problem.columns))


class _SR3Kind(MethodKind):
    check_petsc_options = staticmethod(no_solver_options)
    parameters = SR3_PARAMETERS
    check_parameters = staticmethod(_check_form)
    inexact = True

    @staticmethod
    def memory_estimate(values: dict, problem):
        # x, LSQR's v w and work, y v and the prox's work; LSQR's u and the stacked data
        return _memory(problem, 6, 4)

    @classmethod
    def build(cls, problem, values: dict) -> SR3:
        L = regularization_operator(problem)
        with job_keys("solver"):
            return SR3(problem.operator, problem.data, L, regularizer(problem, values, L),
                       inexact=cls.inexact,
                       **{key: values[key] for key in (
                           "kappa", "inner_tolerance", "tolerance", "accelerate",
                           "max_iterations", "max_inner_iterations")})


@SOLVERS.register("sr3-inexact")
class SR3InexactKind(_SR3Kind):
    """SR3, LSQR stopped by Eq. 6.30 (Algorithm 8)."""


@SOLVERS.register("sr3-exact")
class SR3ExactKind(_SR3Kind):
    """SR3, LSQR run to its tolerance each outer step."""
    inexact = False


@SOLVERS.register("fista")
class FistaKind(MethodKind):
    """Accelerated proximal gradient on 1/2 ||A x - b||^2 + R(x) (L = I)."""
    check_petsc_options = staticmethod(no_solver_options)

    parameters = {
        **FORM_PARAMETERS,
        "max_iterations": Field(int, 5000, "iteration limit", minimum=1),
        "accelerate": Field(bool, True, "Nesterov/FISTA extrapolation (false: ISTA)"),
    }
    check_parameters = staticmethod(_check_form)

    @staticmethod
    def memory_estimate(values: dict, problem):
        return _memory(problem, 5, 2)

    @classmethod
    def build(cls, problem, values: dict) -> ProximalGradient:
        L = regularization_operator(problem)
        if getattr(L, "name", None) != "identity":
            raise InputError(("solver.kind", f"fista proxes R(x) itself, so it needs "
                                             f"L = I; this problem's L is "
                                             f"{getattr(L, 'name', 'not the identity')}: use "
                                             f"admm, sr3-inexact or sr3-exact"))
        with job_keys("solver"):
            return ProximalGradient(problem.operator, problem.data,
                                    regularizer(problem, values, L),
                                    tolerance=values["tolerance"],
                                    accelerate=values["accelerate"],
                                    max_iterations=values["max_iterations"])


@SOLVERS.register("admm")
class AdmmKind(MethodKind):
    """Scaled ADMM on 1/2 ||A x - b||^2 + R(L x)."""
    check_petsc_options = staticmethod(no_solver_options)

    parameters = {
        **FORM_PARAMETERS, **INNER_PARAMETERS,
        "rho": Field(float, 1.0, "ADMM's penalty rho", minimum=0, exclusive_minimum=True),
    }
    check_parameters = staticmethod(_check_form)

    @staticmethod
    def memory_estimate(values: dict, problem):
        return _memory(problem, 6, 5)

    @classmethod
    def build(cls, problem, values: dict) -> ADMM:
        L = regularization_operator(problem)
        with job_keys("solver"):
            return ADMM(problem.operator, problem.data, L, regularizer(problem, values, L),
                        **{key: values[key] for key in (
                            "rho", "inner_tolerance", "tolerance", "max_iterations",
                            "max_inner_iterations")})
