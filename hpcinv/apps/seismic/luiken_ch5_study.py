"""The study behind ``hpcinv reproduce luiken-ch5`` (its module docstring gives the
choices): per survey ratio, the layered problem under causality and reciprocity, each
formulation's semiconvergence (Table 5.1), its Tikhonov lambda sweep (Table 5.2), the
Reginska and GCV choices, and the thesis' qualitative findings, as rows."""
from __future__ import annotations

import math

import numpy as np

from .reproduce_luiken_ch4 import least_time

FORMULATION_NAMES = ("preconditioned", "penalty", "kkt")
CHOICE_SYSTEMS = ("preconditioned", "penalty")      # the thesis selects lambda on these two
CHOICE_RULES = ("reginska", "gcv")
# Thesis Tables 5.1 and 5.2: relative errors and lambda_opt (its own data scaling).
THESIS_TABLE_51 = {"1:1": {"preconditioned": 0.14, "penalty": 0.14, "kkt": 0.10},
                   "1:4": {"preconditioned": 0.17, "penalty": 0.17, "kkt": 0.13}}
THESIS_TABLE_52 = {"1:1": {name: 0.08 for name in FORMULATION_NAMES},
                   "1:4": {name: 0.12 for name in FORMULATION_NAMES}}
THESIS_LAMBDA = {"1:1": {"preconditioned": 1.1e-5, "penalty": 1.1e-5, "kkt": 1e-5},
                 "1:4": {"preconditioned": 3.1e-6, "penalty": 3.1e-6, "kkt": 2.6e-6}}
# Fig. 5.13: (virtual source, receiver) positions in m on the thesis' 3000 m line.

POWER_STEPS = 20
SETTLED_TOLERANCE = 1e-3
NEAR_FACTOR = 10.0
EQUAL_TOLERANCE = 0.10
BASIN_TOLERANCE = 0.05
INVERSE_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


# Small numerical helpers ------------------------------------------------------------------------

def golden_section(error_at, low: float, high: float, evaluations: int) -> None:
    """``evaluations`` calls of ``error_at(x)`` placed by golden-section search for a
    minimum in [low, high] (the caller keeps what they return)."""
    a, b = low, high
    c, d = b - INVERSE_GOLDEN * (b - a), a + INVERSE_GOLDEN * (b - a)
    error_c = error_d = None
    for _ in range(evaluations):
        if error_c is None:
            error_c = error_at(c)
        elif error_d is None:
            error_d = error_at(d)
        elif error_c < error_d:      # the minimum lies in [a, d]
            b, d, error_d = d, c, error_c
            c = b - INVERSE_GOLDEN * (b - a)
            error_c = error_at(c)
        else:                        # in [c, b]
            a, c, error_c = c, d, error_d
            d = a + INVERSE_GOLDEN * (b - a)
            error_d = error_at(d)


def settled(errors: np.ndarray) -> bool:
    """Whether the error moved by at most SETTLED_TOLERANCE (relative) over the last tenth
    of the iterations."""
    window = max(1, (errors.size - 1) // 10)
    last = errors[-1]
    return bool(abs(last - errors[-1 - window]) <= SETTLED_TOLERANCE * last)


def basin_width(errors: np.ndarray) -> tuple[int, bool]:
    """(the iterations of the contiguous run around the least error whose errors are within
    BASIN_TOLERANCE of it, whether the run reaches the last iteration, a lower bound then)."""
    best = int(np.argmin(errors))
    inside = errors <= (1 + BASIN_TOLERANCE) * errors[best]
    start, stop = best, best
    while start > 0 and inside[start - 1]:
        start -= 1
    while stop + 1 < errors.size and inside[stop + 1]:
        stop += 1
    return stop - start + 1, stop + 1 == errors.size


# One ratio --------------------------------------------------------------------------------------

class RatioExperiment:
    """The layered problem of one survey, its constraint projection and every solve."""

    def __init__(self, comm, ratio: str, mesh_path: str, args, say):
        from ...operators.wavefield_constraints import (ConstraintProjection,
                                                        direct_arrival_onsets)
        from . import mdd_problem
        from .mesh import load_seismic_mesh

        self.mpi, self.args = comm.tompi4py(), args
        self.say = lambda message: say(f"{ratio}: {message}")
        self.mesh = load_seismic_mesh(mesh_path)
        max_frequency = args.max_frequency or 3.0 * self.mesh.peak_frequency
        self.problem = mdd_problem(comm, data="layered", mesh=mesh_path,
                                   noise_level=args.noise_level, max_frequency=max_frequency,
                                   seed=args.seed, velocities=list(args.velocities))
        self.operator = self.problem.operator
        self.transform = self.operator.domain_transform
        self.onset_margin = 1.0 / self.mesh.peak_frequency
        onsets = direct_arrival_onsets(self.transform.n_a, self.operator.dr, self.operator.dt,
                                       args.velocities[1], margin=self.onset_margin)
        self.projection = ConstraintProjection(self.transform, onsets=onsets, reciprocity=True)
        self.sigma_squared = self._largest_squared_singular_value()
        low, high = (value * self.sigma_squared for value in args.lambda_range)
        self.exponents = np.linspace(math.log10(low), math.log10(high), args.lambdas)

    def _largest_squared_singular_value(self) -> float:
        """Power iterations on Q^T Q from a seeded start (the same for any rank count)."""
        from ...linalg.random import normal_slice

        x, y = self.operator.create_vecs()
        x.getArray()[:] = normal_slice(self.args.seed, *x.getOwnershipRange())
        estimate = 0.0
        for _ in range(POWER_STEPS):
            x.scale(1.0 / x.norm())
            self.operator.mult(x, y)
            self.operator.mult_transpose(y, x)
            estimate = x.norm()
        return float(estimate)

    def truth_violation(self) -> float:
        """||L g_true|| / ||g_true||: how far the truth lies from the admissible set."""
        projected = self.problem.truth.duplicate()
        self.projection.mult(self.problem.truth, projected)
        projected.axpy(-1.0, self.problem.truth)
        return float(projected.norm() / self.problem.truth.norm())

    def iteration_limit(self, name: str) -> int:
        return self.args.max_kkt_iterations if name == "kkt" else self.args.max_iterations

    def solve(self, name: str, lam: float, iterations: int):
        """The formulation's SolveResult after ``iterations`` (or fewer, at a least-squares
        solution), with the truth's error per iteration."""
        from ...solvers.constrained import FORMULATIONS

        weights = {"rho": self.args.rho} if name == "penalty" else {}
        solver = FORMULATIONS[name](self.operator, self.problem.data, self.projection,
                                    lam=lam, max_iterations=iterations, **weights)
        return solver.run(truth=self.problem.truth)

    def same(self, value):
        from ...core.mpi import same_on_every_rank

        return same_on_every_rank(self.mpi, value)

    # Table 5.1 ------------------------------------------------------------------------------

    def semiconvergence(self, name: str) -> dict:
        self.say(f"Table 5.1, {name}, {self.iteration_limit(name)} iterations")
        result, seconds = least_time(lambda: self.solve(name, 0.0, self.iteration_limit(name)),
                                     1, self.mpi)
        errors = np.asarray(result.history["relative_error"], dtype=float)
        best = int(np.argmin(errors))
        width, reaches_end = basin_width(errors)
        # The optimal iteration sets the length of later collective reruns (the figures).
        return self.same({"error": float(errors[best]), "iterations": best,
                          "seconds": seconds, "curve": errors.tolist(), "basin_width": width,
                          "basin_open": reaches_end})

    # Table 5.2 ------------------------------------------------------------------------------

    def tikhonov(self, name: str, lam: float) -> dict:
        """The error of the final iterate with Tikhonov ``lam``, and whether it settled."""
        result = self.solve(name, lam, self.iteration_limit(name))
        errors = np.asarray(result.history["relative_error"], dtype=float)
        return self.same({"lambda": float(lam), "error": float(errors[-1]),
                          "iterations": int(result.iterations), "settled": settled(errors)})

    def sweep(self, name: str) -> dict:
        """lambda_opt of a formulation: the grid, then golden-section refinement; every
        solve's row in ``points``."""
        grid, solved = self.exponents, {}

        def error_at(exponent: float) -> float:
            solved[exponent] = self.tikhonov(name, 10.0 ** exponent)
            return solved[exponent]["error"]

        self.say(f"Table 5.2, {name}: {grid.size} lambdas + {self.args.refinements} "
                 f"refinements")
        _, seconds = least_time(lambda: self._sweep(grid, error_at), 1, self.mpi)
        best = min(solved, key=lambda exponent: solved[exponent]["error"])
        points = [solved[exponent] for exponent in sorted(solved)]
        return {**solved[best], "interior": bool(grid[0] < best < grid[-1]),
                "seconds": seconds, "points": points}

    def _sweep(self, grid: np.ndarray, error_at) -> None:
        errors = [error_at(exponent) for exponent in grid]
        best = int(np.argmin(errors))
        golden_section(error_at, grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)],
                       self.args.refinements)

    # Parameter choice -----------------------------------------------------------------------

    def choice_system(self, name: str):
        """(operator, data) of the system a rule sees: Q P and p, or [Q; sqrt(rho) L] and
        [p; 0]."""
        from ...linalg.operator import StackedOperator
        from ...solvers.constrained import ProjectionComplement

        if name == "preconditioned":
            return self.operator @ self.projection, self.problem.data
        stacked = StackedOperator(self.operator, ProjectionComplement(self.projection),
                                  math.sqrt(self.args.rho))
        return stacked, stacked.stack_data(self.problem.data)

    def choice(self, name: str, rule: str, optimum: dict) -> dict:
        from ...solvers.tikhonov.paramchoice.lanczos import lanczos_choice

        self.say(f"parameter choice, {rule} on the {name} system")
        operator, data = self.choice_system(name)
        probes = {"trace": "hutchinson", "hutchinson_vectors": self.args.hutchinson_vectors,
                  "seed": self.args.seed} if rule == "gcv" else {}
        chosen = lanczos_choice(operator, data, rule, epsilon=self.args.epsilon,
                                max_steps=self.args.lanczos_steps, **probes)
        row = {"rule": rule, "lambda": chosen.lam, "lanczos_steps": chosen.k,
               "converged": bool(chosen.converged), "lambda_opt": optimum["lambda"],
               "error": None, "near_optimum": False, "lambda_over_optimum": None}
        if chosen.lam is not None:
            ratio = chosen.lam / optimum["lambda"]
            row.update(error=self.tikhonov(name, chosen.lam)["error"],
                       lambda_over_optimum=ratio,
                       near_optimum=bool(abs(math.log10(ratio)) <= math.log10(NEAR_FACTOR)))
        return row

    # Figures --------------------------------------------------------------------------------

    def figure_arrays(self, table_51: dict) -> dict:
        """The truth and each formulation's g at its Table-5.1 optimum, as whole arrays on
        every rank, with those iterations (collective)."""
        iterations = {name: row["iterations"] for name, row in table_51.items()}
        return {"truth": self.transform.gather_array(self.problem.truth),
                "iterations": iterations,
                "iterates": {name: self.transform.gather_array(self.solve(name, 0.0, count).x)
                             for name, count in iterations.items()}}


def findings(table_51: dict, table_52: dict, choices: list) -> dict:
    """The thesis' qualitative claims, each as ``holds`` with the numbers behind it."""
    errors = {name: row["error"] for name, row in table_51.items()}
    others = [errors[name] for name in FORMULATION_NAMES if name != "kkt"]
    tikhonov = [row["error"] for row in table_52.values()]
    widths = {name: row["basin_width"] for name, row in table_51.items()}
    iterations = {name: row["iterations"] for name, row in table_51.items()}
    return {
        "kkt_best_without_tikhonov": {"holds": errors["kkt"] < min(others), "errors": errors,
                                      "thesis": True},
        "equal_with_tikhonov": {"holds": max(tikhonov) <= (1 + EQUAL_TOLERANCE) * min(tikhonov),
                                "spread": max(tikhonov) / min(tikhonov) - 1,
                                "tolerance": EQUAL_TOLERANCE, "thesis": True},
        "penalty_fewer_iterations_than_kkt": {
            "holds": iterations["penalty"] < iterations["kkt"], "iterations": iterations,
            "penalty_over_kkt": iterations["penalty"] / max(iterations["kkt"], 1),
            "thesis": True, "thesis_penalty_over_kkt": 0.5},
        "preconditioned_sharpest_minimum": {
            "holds": widths["preconditioned"] < min(widths["penalty"], widths["kkt"]),
            "basin_widths": widths, "basin_tolerance": BASIN_TOLERANCE,
            "basin_open": {name: row["basin_open"] for name, row in table_51.items()},
            "thesis": True},
        "no_rule_near_optimum": {"holds": not any(row["near_optimum"] for row in choices),
                                 "near_factor": NEAR_FACTOR,
                                 "unconverged": sum(not row["converged"] for row in choices),
                                 "thesis": True},
    }


def _rows(ratio: str, table_51: dict, table_52: dict, choices: list) -> list:
    rows = [{"table": "5.1", "ratio": ratio, "solver": name, "tikhonov": False,
             "error": row["error"], "iterations": row["iterations"], "lambda": None,
             "seconds": row["seconds"], "thesis": THESIS_TABLE_51[ratio][name]}
            for name, row in table_51.items()]
    rows += [{"table": "5.2", "ratio": ratio, "solver": name, "tikhonov": True,
              "error": row["error"], "iterations": row["iterations"], "lambda": row["lambda"],
              "settled": row["settled"], "interior": row["interior"],
              "seconds": row["seconds"], "thesis": THESIS_TABLE_52[ratio][name],
              "thesis_lambda": THESIS_LAMBDA[ratio][name]}
             for name, row in table_52.items()]
    rows += [{"table": "choice", "ratio": ratio, "tikhonov": True,
              "iterations": row["lanczos_steps"], **row, "thesis": None,
              "thesis_near_optimum": False} for row in choices]
    return rows


def run_ratio(comm, ratio: str, mesh_path: str, args, say) -> tuple[dict, dict | None]:
    """(Tables 5.1 and 5.2, the parameter choice and the findings of one ratio; the arrays
    of its figures, None without --figures), on every rank."""
    experiment = RatioExperiment(comm, ratio, mesh_path, args, say)
    table_51 = {name: experiment.semiconvergence(name) for name in FORMULATION_NAMES}
    table_52 = {name: experiment.sweep(name) for name in FORMULATION_NAMES}
    choices = [{"solver": name, **experiment.choice(name, rule, table_52[name])}
               for name in CHOICE_SYSTEMS for rule in CHOICE_RULES]
    transform, operator = experiment.transform, experiment.operator
    curves = {name: row.pop("curve") for name, row in table_51.items()}
    sweeps = {name: row.pop("points") for name, row in table_52.items()}
    report = {"mesh": mesh_path, "source_step": experiment.mesh.source_step,
              "sizes": {"n_t": transform.n_t, "n_r": transform.n_a,
                        "n_s": operator.range_transform.n_b},
              "dt": operator.dt, "dr": operator.dr,
              "max_frequency": float(operator.frequencies[-1]),
              "onset_velocity": args.velocities[1], "onset_margin": experiment.onset_margin,
              "truth_violation": experiment.truth_violation(),
              "sigma_max_squared": experiment.sigma_squared,
              "lambda_grid": (10.0 ** experiment.exponents).tolist(),
              "curves": curves, "sweeps": sweeps,
              "findings": findings(table_51, table_52, choices),
              "rows": _rows(ratio, table_51, table_52, choices)}
    arrays = None
    if args.figures is not None:
        say(f"{ratio}: the Table-5.1 iterates for the figures")
        arrays = experiment.figure_arrays(table_51)
    return report, arrays


# Figures (rank 0) -------------------------------------------------------------------------------
