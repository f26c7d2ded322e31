"""The runs of ``hpcinv reproduce pichon-thiebaut`` (``reproduce_pichon_thiebaut.py``): disk
problems that share their fitted truth, the solvers at the paper's settings, and Eq. 44.

A problem is the ``disk`` kind's simulation with the study's values; its truth (the fit of
the Gaussian profiles, tens of seconds at 150 x 150) depends only on Q and the grid, so it
is fitted once per (Q, grid) and reused by every realisation, SNR and R_max.
"""
from __future__ import annotations

import time

import numpy as np

from ...core.mpi import global_max
from ...linalg.layout import gathered
from ...solvers.penalized.capabilities import PenaltyGrid
from ...solvers.penalized.penalties import FloatingNegentropy
from ...solvers.penalized.scaled_gradient import ScaledGradient
from ...solvers.penalized.subspace import SubspaceDescent
from ...solvers.penalized.tao import PenalizedTAO
from .build import build
from .problem import PARAMETERS, prepare

POWER_NU = 1.5   # the "power" metric f^nu; at nu = 1 it is Richardson-Lucy's
# BLMVM needs thousands of iterations per mu on 150 x 150 nodes; TAO's default 1000 stops
# each solve short, and the search on mu then reads unsettled chi-squares.
TAO_ITERATIONS_PER_MU = 5000


class DiskStudy:
    """Builds problems of one grid and data sampling and the solvers with their iteration
    limits (``max_iterations``, ``gradient_iterations``)."""

    def __init__(self, comm, *, basis: int, samples: int, max_iterations: int,
                 gradient_iterations: int, keep_fields: bool = False,
                 truth_snr: float):
        self.comm = comm
        self.base = {key: field.default for key, field in PARAMETERS.items()}
        self.base.update(eta_nodes=basis, h_nodes=basis, radii=samples, velocities=samples,
                         missing=[], slit_angles=[], slit_data=[])
        self.base["truth_snr"] = truth_snr
        self.max_iterations = max_iterations
        self.gradient_iterations = gradient_iterations
        self._truths = {}
        # With ``keep_fields``: every recovery and each Q's truth, whole, for the figures.
        self.keep_fields = keep_fields
        self.truth_fields = {}

    def problem(self, **values):
        """The simulated disk with the base values changed by ``values`` (collective)."""
        prepared = prepare({**self.base, **values})
        key = prepared.values["toomre_q"]
        if key in self._truths:
            prepared.truth, prepared.truth_fit = self._truths[key]
        problem = build(prepared, self.comm)
        self._truths[key] = prepared.truth, prepared.truth_fit
        return problem

    def truth_fits(self) -> dict:
        """Q -> how that truth's fit stopped ("converged" or "max_iterations")."""
        return {q: fit for q, (_, fit) in self._truths.items()}

    def truth_roughness(self) -> dict:
        """Q -> [eta, h]: the summed |second differences| of that f_true along each axis,
        over its sum (collective): how much fine structure the truth fit gave it."""
        shape = (self.base["eta_nodes"], self.base["h_nodes"])
        roughness = {}
        for q, (truth, _) in self._truths.items():
            f = gathered(truth).reshape(shape)
            roughness[q] = [float(np.abs(np.diff(f, 2, axis=axis)).sum() / f.sum())
                            for axis in (0, 1)]
        return roughness

    def penalty(self, problem):
        return FloatingNegentropy(problem.operator.create_vecs()[0],
                                  PenaltyGrid.of_problem(problem))

    def subspace(self, problem, chi_square: float | None = None, memory: bool = False):
        count = problem.operator.shape[0]
        target = chi_square if chi_square else count - np.sqrt(2.0 * count)
        return SubspaceDescent(problem.operator, problem.data, self.penalty(problem),
                               chi_square_target=target, memory=memory,
                               max_iterations=self.max_iterations)

    def single_direction(self, problem, mu: float, metric: str):
        return ScaledGradient(problem.operator, problem.data, self.penalty(problem), mu=mu,
                              metric=metric, nu=POWER_NU if metric == "power" else 1.0,
                              max_iterations=self.gradient_iterations)

    def tao(self, problem, chi_square: float):
        return PenalizedTAO(problem.operator, problem.data, self.penalty(problem),
                            chi_square_target=chi_square,
                            tao_max_iterations=TAO_ITERATIONS_PER_MU)

    def solve(self, method, problem) -> dict:
        """Run ``method``; its iterations, slowest rank's seconds, Eq. 44 error and result."""
        self.comm.tompi4py().Barrier()
        started = time.perf_counter()
        result = method.run()
        seconds = global_max(self.comm.tompi4py(), time.perf_counter() - started)
        iterations = result.iterations
        if "tao_iterations" in result.attributes:
            iterations = int(result.attributes["tao_iterations"])
        return {"iterations": iterations, "seconds": seconds, "reason": result.reason,
                "data": problem.operator.shape[0],
                "error": weighted_error(result.x, problem.truth), "result": result}


def weighted_error(estimate, truth) -> float:
    """Eq. 44: <|f - f_true|> = sum f_true |f - f_true| / sum f_true (collective)."""
    f, t = estimate.getArray(readonly=True), truth.getArray(readonly=True)
    local = np.array([np.sum(t * np.abs(f - t)), np.sum(t)])
    total = truth.getComm().tompi4py().allreduce(local)
    return float(total[0] / total[1])


