"""The runs behind ``hpcinv reproduce luiken-ch6`` (Luiken's thesis, ch. 6.5): the noise-free
constrained TV problems min 1/2 ||A x - b||^2 s.t. ||L x||_1 <= tau at the oracle
tau = ||L x_true||_1, solved by inexact and exact SR3, ADMM and PyProximal's SR3, each giving
one row {"problem", "method", "kappa", "outer", "inner", "total", "relative_error",
"objective", "seconds", ...}.

``objective`` is the value of the problem the method solves: SR3's relaxed
1/2 ||A x - b||^2 + kappa/2 ||L x - y||^2 (+ lambda ||y||_1 in the penalised form) at
y = prox(L x); ADMM's original 1/2 ||A x - b||^2.  With noise-free data and the oracle tau both
minima are 0, so objectives are compared relative to the value at x = 0, 1/2 ||b||^2.

PyProximal's SR3 has only the penalised form.  A constrained SR3 fixed point is also a
penalised one at lambda = kappa theta, theta the threshold of the final l1-ball projection
(the projection is a soft threshold at theta), so the peer runs at that lambda beside hpcinv's
penalised inexact SR3 on the same data.  Here, noise-free at the oracle tau, the exact theta
is 0 (x_true fits with ||L x_true||_1 = tau): the computed theta, and so lambda, is set by
where the constrained run stopped, and the twin is a nearby problem, not the same one.
"""
from __future__ import annotations

import time

import numpy as np

PROBLEMS = ("gravity", "tomography")


def build_problem(comm, name: str, size: int):
    """The thesis' ch. 6.5 problem ``name`` (noise-free): gravity (n = size, depth 0.25,
    piecewise-constant truth, L = D) or parallel-beam tomography (size x size, 18 angles,
    Shepp-Logan, L = [I (x) D; D (x) I])."""
    from . import gravity, parallel_beam

    if name == "gravity":
        return gravity(comm, n=size, noise_level=0.0, regularization="derivative",
                       truth="piecewise-constant")
    return parallel_beam(comm, n=size, noise_level=0.0, regularization="gradient2d")


class Setting:
    """A problem with its L, its oracle ball and 1/2 ||b||^2 (collective to build)."""

    def __init__(self, name: str, problem):
        from ...solvers.relaxed.kinds import regularization_operator, regularizer

        self.name, self.problem = name, problem
        self.L = regularization_operator(problem)
        self.ball = regularizer(problem, {"form": "constrained", "radius": 0.0}, self.L)
        self.initial_objective = 0.5 * problem.data.norm() ** 2
        self.truth_norm = problem.truth.norm()

    def relative_error(self, x) -> float:
        difference = x.copy()
        difference.axpy(-1.0, self.problem.truth)
        error = difference.norm() / self.truth_norm
        difference.destroy()
        return error

    def relaxed_terms(self, x, kappa: float, regularizer) -> dict:
        """||A x - b||, ||L x - y||, ||y||_1 and the projection threshold at y = prox(L x)."""
        A, b = self.problem.operator, self.problem.data
        residual, z = A.create_vecs()[1], self.L.create_vecs()[1]
        A.mult(x, residual)
        residual.axpy(-1.0, b)
        self.L.mult(x, z)
        y = z.copy()
        regularizer.prox(y, 1.0 / kappa)
        from ...linalg.layout import gathered

        whole_z, whole_y = gathered(z), gathered(y)
        terms = {"data_misfit": residual.norm(),
                 "coupling": float(np.linalg.norm(whole_z - whole_y)),
                 "y_l1": float(np.abs(whole_y).sum()),
                 # |y_i| = max(|z_i| - theta, 0): theta where the projection cut
                 "threshold": float(np.max(np.abs(whole_z) - np.abs(whole_y)))}
        for vec in (residual, z, y):
            vec.destroy()
        return terms


def sr3_row(setting: Setting, kappa: float, *, inexact: bool, max_outer: int,
            max_inner: int, weight: float | None = None) -> dict:
    """hpcinv's SR3 at ``kappa`` from x = 0: constrained (the oracle ball) or, with
    ``weight``, penalised by weight ||L x||_1."""
    from ...solvers.relaxed import SR3
    from ...solvers.relaxed.prox import L1Norm

    regularizer = setting.ball if weight is None else L1Norm(weight)
    method = SR3(setting.problem.operator, setting.problem.data, setting.L, regularizer,
                 kappa=kappa, inexact=inexact, max_iterations=max_outer,
                 max_inner_iterations=max_inner)
    start = time.perf_counter()
    result = method.run()
    seconds = time.perf_counter() - start
    terms = setting.relaxed_terms(result.x, kappa, regularizer)
    objective = 0.5 * terms["data_misfit"] ** 2 + 0.5 * kappa * terms["coupling"] ** 2
    if weight is not None:
        objective += weight * terms["y_l1"]
    total = int(result.attributes["total_inner_iterations"])
    row = {"problem": setting.name, "method": "sr3-inexact" if inexact else "sr3-exact",
           "form": "constrained" if weight is None else "penalized", "kappa": kappa,
           "outer": result.iterations, "inner": total / max(result.iterations, 1),
           "total": total, "relative_error": setting.relative_error(result.x),
           "objective": objective,
           "relative_objective": objective / setting.initial_objective,
           "seconds": seconds, "reason": result.reason, "threshold": terms["threshold"],
           "weight": weight}
    result.x.destroy()
    return row


def admm_row(setting: Setting, rho: float, *, max_outer: int, max_inner: int,
             weight: float | None = None) -> dict:
    """ADMM on the original problem (rho in the kappa column): constrained (the oracle
    ball) or, with ``weight``, penalised by weight ||L x||_1."""
    from petsc4py import PETSc

    from ...solvers.relaxed import ADMM
    from ...solvers.relaxed.prox import L1Norm

    method = ADMM(setting.problem.operator, setting.problem.data, setting.L,
                  setting.ball if weight is None else L1Norm(weight), rho=rho,
                  max_iterations=max_outer, max_inner_iterations=max_inner)
    start = time.perf_counter()
    result = method.run()
    seconds = time.perf_counter() - start
    objective = 0.5 * result.history["residual_norm"][-1] ** 2
    if weight is not None:
        image = setting.L.create_vecs()[1]
        setting.L.mult(result.x, image)
        objective += weight * image.norm(PETSc.NormType.NORM_1)
        image.destroy()
    total = int(result.attributes["total_inner_iterations"])
    row = {"problem": setting.name, "method": "admm",
           "form": "constrained" if weight is None else "penalized", "kappa": rho,
           "outer": result.iterations, "inner": total / max(result.iterations, 1),
           "total": total, "relative_error": setting.relative_error(result.x),
           "objective": objective,
           "relative_objective": objective / setting.initial_objective,
           "seconds": seconds, "reason": result.reason, "weight": weight}
    result.x.destroy()
    return row


def pyproximal_row(name: str, size: int, kappa: float, weight: float, *, max_outer: int,
                   max_inner: int) -> dict:
    """PyProximal's SR3 on the same problem built in this process (call on one rank)."""
    from ...core.petsc_env import initialize
    from ...solvers.relaxed.kinds import regularization_operator
    from . import pyproximal_peer

    PETSc = initialize()
    problem = build_problem(PETSc.COMM_SELF, name, size)
    A = pyproximal_peer.scipy_matrix(problem.operator)
    L = pyproximal_peer.scipy_matrix(regularization_operator(problem))
    b, truth = problem.data.getArray().copy(), problem.truth.getArray().copy()
    run = pyproximal_peer.run_sr3(A, L, b, kappa=kappa, weight=weight, max_outer=max_outer,
                                  max_inner=max_inner)
    objective = pyproximal_peer.penalized_objective(A, L, b, run["x"], kappa, weight)
    initial = 0.5 * float(b @ b)
    return {"problem": name, "method": "pyproximal-sr3", "form": "penalized", "kappa": kappa,
            "outer": run["outer"], "inner": run["total"] / max(run["outer"], 1),
            "total": run["total"],
            "relative_error": float(np.linalg.norm(run["x"] - truth) / np.linalg.norm(truth)),
            "objective": objective, "relative_objective": objective / initial,
            "seconds": run["seconds"],
            "reason": "converged" if run["outer"] < max_outer else "max_iterations",
            "weight": weight}
