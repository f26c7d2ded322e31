"""The penalised-likelihood job kinds: ``penalized-subspace`` (the six-direction scheme),
``penalized-gradient`` (the single-direction schemes of Eq. 30), ``penalized-tao`` (PETSc
TAO inside a search on mu) and ``penalized-quadratic`` (Eq. 23 by KSP).

The penalty is built on the problem's ``PenaltyGrid`` (the disk's (eta, h) mesh with its
cut at h = 0), else on its ``grid_shape``; the chi-square target is ``chi_square`` or, when
0, the paper's N - sqrt(2 N) for N data (the problem's rows, already noise-weighted).
"""
from __future__ import annotations

import math

from ...core.errors import job_keys
from ...core.jobspec import SOLVERS, Field
from ...core.memory import MemoryEstimate, assembled_sparse, vectors
from ..framework.kind import COMMON_PARAMETERS, MethodKind, no_solver_options
from .capabilities import PenaltyGrid
from .penalties import PENALTIES, make_penalty
from .quadratic import PenalizedQuadratic
from .scaled_gradient import METRICS, ScaledGradient
from .start import constant_start
from .subspace import SubspaceDescent
from .tao import TAO_TYPES, PenalizedTAO
from .tensor_spectral import MAX_SKY_POINTS, MAX_THETA_FUNCTIONS
from .tensor_tikhonov import TensorTikhonovTAO
from ..kaczmarz.block_rows import TensorBlockRows

NORMAL_FILL = 3
_SHARED = {key: COMMON_PARAMETERS[key] for key in ("max_iterations", "wall_time")}
PENALTY_PARAMETERS = {
    "penalty": Field(str, "entropy-floating", "R(f): negentropy with the floating prior p = "
                     "S f (entropy-floating), with a uniform prior (entropy) or the quadratic "
                     "roughness ||grad f||^2 (roughness)", choices=PENALTIES),
    "gamma": Field(float, 0.25, "floating prior: weight of each neighbour in S", minimum=0,
                   maximum=0.5, applies=("penalty", ("entropy-floating",))),
    "prior": Field(float, 0.0, "uniform prior's level (0: the constant that best fits the "
                   "data)", minimum=0, applies=("penalty", ("entropy",))),
    "floor": Field(float, 1e-8, "lowest value of f, relative to that constant (keeps the "
                   "negentropy finite)", minimum=0, exclusive_minimum=True),
}
TARGET_PARAMETER = {
    "chi_square": Field(float, 0.0, "target chi-square N_e (0: N - sqrt(2 N), N the number "
                        "of data)", minimum=0),
}


def chi_square_target(problem, values: dict) -> float:
    count = problem.operator.shape[0]
    return values["chi_square"] or count - math.sqrt(2.0 * count)


def build_penalty(problem, values: dict):
    """The job's penalty on the problem's grid (errors name solver.* keys)."""
    template = problem.operator.create_vecs()[0]
    prior = values["prior"]
    if values["penalty"] == "entropy" and not prior:
        prior = constant_start(problem.operator, problem.data)[1]
    return make_penalty(values["penalty"], template, PenaltyGrid.of_problem(problem),
                        gamma=values["gamma"], prior=prior or None)


def _penalized_memory(values: dict, problem, domain_vectors: int, range_vectors: int):
    """The method's work Vecs and the penalty's sparse S (9 entries a row on a 2-D grid) or
    D (2 a row, one row per axis)."""
    n, m = problem.columns, problem.rows
    grid = problem.facts.get("grid_shape", (n,))
    penalty = (assembled_sparse(n, 3 ** len(grid) * n) if values["penalty"] == "entropy-floating"
               else assembled_sparse(len(grid) * n, 2 * len(grid) * n)
               if values["penalty"] == "roughness" else 0)
    return MemoryEstimate(vectors(domain_vectors, n) + vectors(range_vectors, m) + penalty,
                          keys=("solver.penalty",))


@SOLVERS.register("penalized-subspace")
class SubspaceKind(MethodKind):
    check_petsc_options = staticmethod(no_solver_options)
    parameters = {
        **_SHARED, **PENALTY_PARAMETERS, **TARGET_PARAMETER,
        "nu": Field(float, 1.0, "metric q = f^nu (1: Skilling & Bryan)", minimum=1, maximum=2),
        "alpha": Field(float, 2 / 3, "each step aims at (1 - alpha) L + alpha L_min",
                       minimum=0, exclusive_minimum=True, maximum=0.999),
        "convergence": Field(float, 1e-5, "stop at the target once sum f |df| / sum f^2 <= "
                             "this", minimum=0),
        "tolerance": Field(float, 1e-3, "relative tolerance of mu's search and of the "
                           "target chi-square", minimum=0, exclusive_minimum=True),
        "svd_tolerance": Field(float, 1e-10, "relative singular-value cut of the 6 x 6 "
                               "subspace system", minimum=0, exclusive_minimum=True),
        "mu": Field(float, 0.0, "first mu of the search (0: where the two Hessians balance)",
                    minimum=0),
        "memory": Field(bool, False, "add the previous step as a seventh direction (not in "
                        "the paper; converges in fewer iterations once at the target)"),
    }

    @staticmethod
    def memory_estimate(values: dict, problem):
        return _penalized_memory(values, problem, 18, 7)

    @classmethod
    def build(cls, problem, values: dict) -> SubspaceDescent:
        with job_keys("solver"):
            return SubspaceDescent(
                problem.operator, problem.data, build_penalty(problem, values),
                chi_square_target=chi_square_target(problem, values),
                mu=values["mu"] or None,
                **{key: values[key] for key in ("nu", "alpha", "floor", "convergence",
                                                "tolerance", "svd_tolerance", "memory",
                                                "max_iterations")})


@SOLVERS.register("penalized-gradient")
class ScaledGradientKind(MethodKind):
    check_petsc_options = staticmethod(no_solver_options)
    parameters = {
        **_SHARED, **PENALTY_PARAMETERS,
        "max_iterations": Field(int, 5000, "iteration limit", minimum=1),
        "mu": Field(float, help="the fixed weight of the penalty", minimum=0,
                    exclusive_minimum=True),
        "metric": Field(str, "power", "q in delta f = -q grad Q: f^nu (power), f "
                        "(lucy: Richardson-Lucy), f / mu (mem) or the Hessian's diagonal "
                        "(cornwell-evans)", choices=METRICS),
        "nu": Field(float, 1.0, "exponent of the power metric", minimum=1, maximum=2,
                    applies=("metric", ("power",))),
        "decrease": Field(float, 1e-8, "stop when a step lowers Q by less than this "
                          "fraction", minimum=0, exclusive_minimum=True),
        "progress": Field(float, 1e-5, "stop when ||df|| / (||df_L|| + ||df_R||) falls "
                          "below this", minimum=0, exclusive_minimum=True),
    }

    @staticmethod
    def memory_estimate(values: dict, problem):
        return _penalized_memory(values, problem, 8, 3)

    @classmethod
    def build(cls, problem, values: dict) -> ScaledGradient:
        with job_keys("solver"):
            return ScaledGradient(
                problem.operator, problem.data, build_penalty(problem, values),
                **{key: values[key] for key in ("mu", "metric", "nu", "floor", "decrease",
                                                "progress", "max_iterations")})


_OUTER_SEARCH = {
    "max_iterations": Field(int, 30, "steps of the search on mu (one inner solve each)",
                            minimum=1),
    "mu": Field(float, 0.0, "first mu of the search, or the weight with fixed_mu (0: where "
                "the two terms' curvatures balance)", minimum=0),
    "fixed_mu": Field(bool, False, "solve once at solver.mu instead of searching mu for the "
                      "target chi-square"),
    "tolerance": Field(float, 1e-3, "relative tolerance of the target chi-square", minimum=0,
                       exclusive_minimum=True, applies=("fixed_mu", (False,))),
}


def _search_arguments(problem, values: dict) -> dict:
    return {"chi_square_target": None if values["fixed_mu"]
            else chi_square_target(problem, values),
            "mu": values["mu"] or None, "tolerance": values["tolerance"],
            "max_iterations": values["max_iterations"]}


def _check_fixed_mu(values: dict) -> list:
    if values["fixed_mu"] and not values["mu"]:
        return [("solver.mu", "fixed_mu needs mu > 0")]
    return []


@SOLVERS.register("penalized-tao")
class TAOKind(MethodKind):
    """PETSc TAO's bound-constrained solvers on L + mu R, f >= floor, inside the search on
    mu; TAO options take the prefix penalized_tao_ (e.g. penalized_tao_tao_monitor)."""

    parameters = {
        **_SHARED, **PENALTY_PARAMETERS, **TARGET_PARAMETER, **_OUTER_SEARCH,
        "max_iterations": Field(int, 100, "outer steps: TAO solves, at a searched mu or "
                                "continuing one that reached tao_max_iterations", minimum=1),
        "tao_type": Field(str, "blmvm", "TAO method: bound-constrained quasi-Newton (blmvm, "
                          "bqnls, bqnkls), conjugate gradients (bncg) or Newton with the "
                          "exact Hessian product (bnls, bntr, bntl)", choices=TAO_TYPES),
        "tao_max_iterations": Field(int, 1000, "TAO iterations per step (a solve that needs "
                                    "more goes on at the same mu in the next step)",
                                    minimum=1),
        "tao_gradient_tolerance": Field(float, 1e-7, "TAO's grtol: stop when ||projected "
                                        "grad Q|| <= this |Q|", minimum=0,
                                        exclusive_minimum=True),
    }
    check_parameters = staticmethod(_check_fixed_mu)

    @staticmethod
    def memory_estimate(values: dict, problem):
        # BLMVM keeps 5 pairs of update vectors by default, plus bounds and gradients.
        return _penalized_memory(values, problem, 20, 2)

    @classmethod
    def build(cls, problem, values: dict) -> PenalizedTAO:
        with job_keys("solver"):
            return PenalizedTAO(
                problem.operator, problem.data, build_penalty(problem, values),
                floor=values["floor"], tao_type=values["tao_type"],
                tao_max_iterations=values["tao_max_iterations"],
                tao_gradient_tolerance=values["tao_gradient_tolerance"],
                **_search_arguments(problem, values))


@SOLVERS.register("penalized-quadratic")
class QuadraticKind(MethodKind):
    """Eq. 23: f = (A^T A + mu D^T D)^-1 A^T b with the roughness penalty ||D f||^2, by a
    PETSc KSP (prefix penalized_quadratic_; CG with Jacobi by default, e.g.
    penalized_quadratic_pc_type = "lu" for MUMPS); no positivity."""

    parameters = {
        **_SHARED, **TARGET_PARAMETER, **_OUTER_SEARCH,
        "ksp_rtol": Field(float, 1e-10, "relative residual of each KSP solve", minimum=0,
                          exclusive_minimum=True),
    }
    check_parameters = staticmethod(_check_fixed_mu)

    @staticmethod
    def memory_estimate(values: dict, problem):
        # A^T A and D^T D are assembled, and their sum once per step.  A column of A^T A
        # meets every column that shares one of its rows: with r entries a row, about
        # NORMAL_FILL r entries a column (the disk's rows span some K eta nodes on two h
        # nodes, so about three times K).
        row_entries = problem.facts.get("row_entries", 8)
        normal = assembled_sparse(problem.columns, NORMAL_FILL * row_entries * problem.columns)
        return _penalized_memory({"penalty": "roughness"}, problem, 6, 2) + MemoryEstimate(
            2 * normal)

    @classmethod
    def build(cls, problem, values: dict) -> PenalizedQuadratic:
        template = problem.operator.create_vecs()[0]
        with job_keys("solver"):
            return PenalizedQuadratic(
                problem.operator, problem.data,
                make_penalty("roughness", template, PenaltyGrid.of_problem(problem)),
                ksp_rtol=values["ksp_rtol"], **_search_arguments(problem, values))


@SOLVERS.register("tensor-tikhonov")
class TensorTikhonovKind(MethodKind):
    """Bound-constrained Tikhonov on tensor block rows (the galaxy problem, beside pnkr):
    min ||Y - U K^T||_N^2 + alpha ||U||_M^2 subject to U >= 0 by PETSc TAO, alpha by the
    discrepancy principle ||Y - U K^T||_N = tau delta; TAO options take the prefix
    penalized_tao_."""

    parameters = {
        **_SHARED, **_OUTER_SEARCH,
        "max_iterations": Field(int, 60, "outer steps: TAO solves, at a searched alpha or "
                                "continuing one that reached tao_max_iterations", minimum=1),
        # 1% of the misfit is 1.6 standard deviations of the noise's own chi-square
        # (sqrt(2 / n) = 0.64% for the demo's n = 49 392 data); 0.1% cost the demo's second
        # mock 12 outer steps instead of 5.
        "tolerance": Field(float, 1e-2, "relative tolerance of the target misfit", minimum=0,
                           exclusive_minimum=True, applies=("fixed_mu", (False,))),
        "tau": Field(float, 1.0, "discrepancy factor: the misfit's target is tau^2 sum_r "
                     "delta_r^2", minimum=0, exclusive_minimum=True),
        "tao_type": Field(str, "bnls", "TAO method (as penalized-tao's): Newton with the exact "
                          "Hessian product (bnls, bntr, bntl) or quasi-Newton (blmvm, bqnls, "
                          "bqnkls, bncg)", choices=TAO_TYPES),
        "tao_max_iterations": Field(int, 200, "TAO iterations per step", minimum=1),
        "tao_gradient_tolerance": Field(float, 1e-8, "TAO's grtol: stop when ||projected "
                                        "grad Q|| <= this |Q|", minimum=0,
                                        exclusive_minimum=True),
        "spectral_start": Field(bool, True, "start from the unconstrained problem's solution "
                                "(clipped at 0) at its discrepancy alpha, both in closed form "
                                "from two generalised eigenproblems (sky N x N, Theta L x L; "
                                "skipped above 4096 sky points or 6000 Theta functions)"),
    }
    check_parameters = staticmethod(_check_fixed_mu)

    @staticmethod
    def requirements(values: dict) -> dict:
        return {TensorBlockRows: "solver.kind"}

    @staticmethod
    def memory_estimate(values: dict, problem):
        # TAO's Newton or quasi-Newton vectors, and the N x L and N x R arrays every
        # product gathers on each rank.
        spatial, equations, thetas = problem.facts.get("block_rows",
                                                       (1, problem.rows, problem.columns))
        replicated = vectors(2, spatial * thetas) + vectors(2, spatial * equations)
        if values["spectral_start"] and spatial <= MAX_SKY_POINTS and \
                thetas <= MAX_THETA_FUNCTIONS:     # tensor_spectral.fits
            # The dense eigenproblems, one after the other on every rank: scipy's
            # generalised eigh holds both matrices, their copies and LAPACK's 2 n^2
            # workspace (6 n^2); V (N x N) is kept through the Theta one.  Then V, W and
            # B, its squares, lambda mu^T and a misfit's temporaries (N x L).
            replicated += vectors(1, max(6 * spatial ** 2, spatial ** 2 + 6 * thetas ** 2)) \
                + vectors(1, thetas ** 2) + vectors(6, spatial * thetas)
        return MemoryEstimate(vectors(20, problem.columns) + vectors(3, problem.rows),
                              replicated)

    @classmethod
    def build(cls, problem, values: dict) -> TensorTikhonovTAO:
        blocks = problem.require(TensorBlockRows, who="tensor-tikhonov")
        with job_keys("solver"):
            return TensorTikhonovTAO(
                problem.operator, problem.data, blocks, tau=values["tau"],
                mu=values["mu"] or None, fixed_mu=values["fixed_mu"],
                tolerance=values["tolerance"], max_iterations=values["max_iterations"],
                tao_type=values["tao_type"], tao_max_iterations=values["tao_max_iterations"],
                tao_gradient_tolerance=values["tao_gradient_tolerance"],
                spectral_start=values["spectral_start"])
