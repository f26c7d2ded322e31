"""``hpcinv reproduce luiken-ch5``: Luiken's thesis, chapter 5: seismic redatuming by
multidimensional deconvolution under causality and reciprocity, solved three ways (right
preconditioning, LSQR on Q P; quadratic penalty, LSQR on [Q; sqrt(rho) L]; KKT, MINRES on
the saddle-point system), without and with Tikhonov, and the parameter-choice rules.

Data.  The thesis inverts FWMod data of a field model with a JMI-res impulse response as its
"truth"; neither is available.  We use its own Example 5.2.1 instead (``layered.py``: three
layers, ``--velocities`` (1500, 1800, 2000) m/s, receivers at the datum inside layer 1, g
known), on the thesis' acquisition (meshes thesis-1x1 and thesis-1x4: 151 receivers at 20 m,
512 samples, 151 or 38 sources), frequencies up to 3 x the Ricker peak (as ch. 4).  The
thesis' data carry modelling error, ringing and boundary errors of unstated size; ours are
exact, so we add band-limited Gaussian noise, by default ``--noise-level`` 0.05 (26 dB): enough
for the iterations to semiconverge within the iteration limits, as the thesis' do (its Fig.
5.12: least error after 5 LSQR steps at 1:4).  At 0.01 the minimum on ``small`` lies past 50
LSQR steps and is flat.  White noise is not modelling error: the parameter-choice rules are
built for the former, so they may well succeed here where the thesis' failed.

Constraints.  The thesis does not say how its onsets tau are chosen.  Ours are the direct
arrival between two receivers at the datum, |x_j - x_k| / c1 (the receivers lie in layer 1,
and g's grazing, post-critical reflections travel along it at c1, as early as that), less a
margin of one wavelet period (1 / peak frequency), because the zero-phase Ricker wavelet
starts about half a period before its arrival time; reciprocity is on.  The layered truth
itself is not quite admissible: a few percent of its norm lies before the onsets (3.9% on
``small``; reported as ``truth_violation``), a floor under every error.  The penalty weight
``--rho`` is not stated either (the thesis' eq. 5.17 implies 1): default 1.

Table 5.1 (no Tikhonov).  Each formulation runs with the truth to ``--max-iterations`` (LSQR)
or ``--max-kkt-iterations`` (MINRES; the thesis: the penalty needs half the iterations of
KKT, so KKT gets twice the limit); the error is that of the iteration of least error (the
thesis' oracle choice), reported with that iteration and the whole curve.

Table 5.2 (with Tikhonov lam ||g||^2, thesis 5.16-5.18).  Per formulation, a sweep of
``--lambdas`` values, log-spaced over ``--lambda-range`` times sigma^2, where sigma^2 is the
largest squared singular value of Q (POWER_STEPS power iterations: a lower estimate, close
enough to set the scale), so that the range does not depend on the data's units; then
``--refinements`` golden-section steps in log lambda between the best grid value's
neighbours.  lambda_opt is the best value solved.  Tikhonov stabilises the iterations, so
every solve runs to the iteration limit and the error is that of its final iterate; a solve
whose error still moved by more than SETTLED_TOLERANCE (relative) over the last tenth of its
iterations is flagged ``settled: false`` (small lambdas, where the iterations have not
converged; those are not near the optimum).  Our lambdas are not comparable with the
thesis' (their data's scale is unknown): the table prints lambda / sigma^2 beside ours.

Parameter choice.  Reginska and GCV (Hutchinson, ``--hutchinson-vectors`` Rademacher
probes) from Lanczos bounds (``lanczos_choice``, tolerance ``--epsilon``, at most
``--lanczos-steps`` steps, its own default search range) on the preconditioned system Q P
(data p) and on the penalty system [Q; sqrt(rho) L] (data [p; 0], the thesis' "[Q; L_ST]").
The chosen lambda is compared with that formulation's lambda_opt; one more solve gives its
error.  "Near" means within a factor NEAR_FACTOR of lambda_opt (the thesis: neither rule has
a minimiser near lambda_opt on its data).  The thesis does not use the KKT system here.

Findings, each with the numbers it rests on: KKT has the least Table-5.1 error (thesis:
0.10 / 0.13 against 0.14 / 0.17); the Table-5.2 errors agree within EQUAL_TOLERANCE; the
penalty's optimal iteration is below KKT's (thesis: half); the preconditioned form has the
sharpest minimum: its basin, the iterations whose error is within BASIN_TOLERANCE of its
least, is the narrowest of the three (the thesis' Fig. 5.12 shows it sharp, the others flat).

``--figures DIR`` writes, per ratio, the semiconvergence curves (Fig. 5.12) and g(t) at the
four (virtual source, receiver) pairs of Fig. 5.13, taken as fractions of the thesis' 3000 m
line and rounded to this mesh's receivers: truth and each formulation at its Table-5.1
optimum (those iterates are recomputed, a deterministic rerun to that iteration).

``--mesh`` is the 1:1 survey and ``--mesh-1x4`` the 1:4 one (``none`` skips it); a mesh with
another source step still fills that column and the report says its sampling.

Cost.  Per ratio: 3 runs to the iteration limits, 3 x (``--lambdas`` + ``--refinements``)
Tikhonov solves to them, 4 parameter choices and their 4 solves.  ``small`` takes about a
minute on one core; the thesis sizes are long runs (hours).  The Golub-Kahan bases of the
choices are kept (reorthogonalisation): at thesis-1x1 a vector of g is 93 MB, so 100 steps of
GCV on the penalty system, whose left vectors are twice that, hold about 56 GB.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .layered import THESIS_VELOCITIES
from .reproduce_luiken_ch4 import least_time

HELP = ("Luiken thesis ch. 5 (Tables 5.1, 5.2, Figs. 5.12-5.16): redatuming under causality "
        "and reciprocity by right preconditioning, penalty and KKT; Tikhonov; Reginska/GCV")

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
# The three optima are often close to identical: styles that let all three show.
LINE_STYLES = {"preconditioned": "-", "penalty": "--", "kkt": ":"}


def add_arguments(parser) -> None:
    parser.add_argument("--mesh", default="thesis-1x1",
                        help="the 1:1 survey: meshes/seismic/NAME.toml (tiny, small, "
                             "thesis-1x1, thesis-1x4), a mesh file, or none (default "
                             "thesis-1x1)")
    parser.add_argument("--mesh-1x4", default="thesis-1x4",
                        help="the 1:4 survey, as --mesh (default thesis-1x4)")
    parser.add_argument("--noise-level", type=float, default=0.05,
                        help="relative band-limited noise ||e|| / ||p|| (default 0.05; the "
                             "thesis' data carry modelling error instead, see the module)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the noise and of the Hutchinson probes (default 0)")
    parser.add_argument("--velocities", type=float, nargs=3, default=list(THESIS_VELOCITIES),
                        metavar=("C0", "C1", "C2"),
                        help="layer speeds in m/s (default 1500 1800 2000, Example 5.2.1)")
    parser.add_argument("--max-frequency", type=float, default=None,
                        help="highest frequency (Hz) of the operator (default 3 x the "
                             "mesh's Ricker peak frequency)")
    parser.add_argument("--rho", type=float, default=1.0,
                        help="penalty weight of ||L g||^2 (default 1; the thesis does not "
                             "state it)")
    parser.add_argument("--max-iterations", type=int, default=100,
                        help="LSQR iterations of the preconditioned and penalty forms "
                             "(default 100)")
    parser.add_argument("--max-kkt-iterations", type=int, default=200,
                        help="MINRES iterations of the KKT form (default 200)")
    parser.add_argument("--lambdas", type=int, default=7,
                        help="log-spaced lambdas of the Tikhonov sweep (default 7)")
    parser.add_argument("--lambda-range", type=float, nargs=2, default=[1e-6, 1.0],
                        metavar=("LOW", "HIGH"),
                        help="the sweep's range as multiples of sigma_max(Q)^2 (default "
                             "1e-6 1)")
    parser.add_argument("--refinements", type=int, default=4,
                        help="golden-section solves around the best lambda (default 4)")
    parser.add_argument("--lanczos-steps", type=int, default=100,
                        help="most Golub-Kahan steps of the parameter choice (default 100)")
    parser.add_argument("--epsilon", type=float, default=1e-2,
                        help="relative tolerance of the Lanczos bounds (default 1e-2)")
    parser.add_argument("--hutchinson-vectors", type=int, default=1,
                        help="Rademacher probes of GCV's trace (default 1)")
    parser.add_argument("--figures", default=None, metavar="DIR",
                        help="write the semiconvergence and cross-section PNGs here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def check_arguments(args) -> None:
    from ...core.errors import InputError

    problems = [(_option(name), "must be >= 1") for name in
                ("max_iterations", "max_kkt_iterations", "lanczos_steps",
                 "hutchinson_vectors") if getattr(args, name) < 1]
    problems += [(_option(name), "must be >= 0") for name in ("refinements", "seed")
                 if getattr(args, name) < 0]
    if args.lambdas < 2:
        problems.append(("--lambdas", f"must be >= 2, got {args.lambdas}"))
    if not 0 <= args.noise_level < 1:
        problems.append(("--noise-level", f"must be in [0, 1), got {args.noise_level}"))
    if not 0 < args.epsilon < 1:
        problems.append(("--epsilon", f"must be in (0, 1), got {args.epsilon}"))
    if not (math.isfinite(args.rho) and args.rho > 0):
        problems.append(("--rho", f"must be a positive number, got {args.rho}"))
    low, high = args.lambda_range
    if not (math.isfinite(high) and 0 < low < high):
        problems.append(("--lambda-range", f"needs 0 < LOW < HIGH, got {low:g} {high:g}"))
    if not all(math.isfinite(c) and c > 0 for c in args.velocities):
        problems.append(("--velocities", f"must be positive, got {args.velocities}"))
    if args.max_frequency is not None and not args.max_frequency > 0:
        problems.append(("--max-frequency", "must be positive"))
    if args.mesh == "none" and args.mesh_1x4 == "none":
        problems.append(("--mesh", "--mesh and --mesh-1x4 are both none: nothing to run"))
    if args.figures is not None and Path(args.figures).exists() \
            and not Path(args.figures).is_dir():
        problems.append(("--figures", f"{args.figures} exists and is not a directory"))
    if problems:
        raise InputError(problems)


def resolve_meshes(args) -> dict:
    """{ratio: mesh path} of the ratios to run (``none`` skips one)."""
    from ...core.errors import InputError
    from .reproduce_luiken_ch4 import resolve_mesh

    meshes, problems = {}, []
    for ratio, option, name in (("1:1", "--mesh", args.mesh),
                                ("1:4", "--mesh-1x4", args.mesh_1x4)):
        if name == "none":
            continue
        try:
            meshes[ratio] = resolve_mesh(name)
        except InputError as error:
            problems += [(option, message) for _, message in error.problems]
    if problems:
        raise InputError(problems)
    return meshes


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

def _stem(ratio: str) -> str:
    return "luiken-ch5-" + ratio.replace(":", "x")


def semiconvergence_figure(ratio: str, report: dict):
    from ...core.plotting import pyplot

    figure, axis = pyplot().subplots(figsize=(6.4, 4.0))
    for name, curve in report["curves"].items():
        axis.plot(np.arange(len(curve)), curve, label=name)
    axis.set_xlabel("iteration")
    axis.set_ylabel("relative error ||g - g_true|| / ||g_true||")
    axis.set_title(f"semiconvergence without Tikhonov, {ratio} (thesis Fig. 5.12)")
    axis.set_ylim(0, min(1.5, max(max(curve) for curve in report["curves"].values())))
    axis.grid(True, alpha=0.3)
    axis.legend()
    return figure


def cross_section_figure(ratio: str, report: dict, arrays: dict):
    from ...core.plotting import pyplot
    from .figures import cross_section_pairs

    dr = report["dr"]
    time = np.arange(report["sizes"]["n_t"]) * report["dt"]
    pairs = cross_section_pairs(report["sizes"]["n_r"])
    figure, axes = pyplot().subplots(1, len(pairs), figsize=(4.0 * len(pairs), 3.6),
                                     squeeze=False)
    for axis, (source, receiver) in zip(axes[0], pairs):
        axis.plot(time, arrays["truth"][:, receiver, source], color="black", lw=2,
                  label="truth")
        for name, g in arrays["iterates"].items():
            axis.plot(time, g[:, receiver, source], LINE_STYLES[name], lw=1.2,
                      label=f"{name}, {arrays['iterations'][name]} iterations")
        axis.set_title(f"virtual source {source * dr:g} m, receiver {receiver * dr:g} m")
        axis.set_xlabel("time [s]")
        axis.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("g")
    axes[0, 0].legend(fontsize="small")
    figure.suptitle(f"g at the Table-5.1 optimum, {ratio} (thesis Fig. 5.13)")
    return figure


def write_figures(directory: str, ratio: str, report: dict, arrays: dict) -> list[str]:
    from ...core.plotting import save

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return [str(save(semiconvergence_figure(ratio, report),
                     out / f"{_stem(ratio)}-semiconvergence.png")),
            str(save(cross_section_figure(ratio, report, arrays),
                     out / f"{_stem(ratio)}-cross-sections.png"))]


def run_experiment(comm, meshes: dict, args, say) -> dict:
    report = {"experiment": "luiken-ch5", "ranks": comm.size, "data": "layered",
              "velocities": list(args.velocities), "noise_level": args.noise_level,
              "seed": args.seed, "rho": args.rho, "max_iterations": args.max_iterations,
              "max_kkt_iterations": args.max_kkt_iterations,
              "lambda_range": list(args.lambda_range), "ratios": {}, "rows": [],
              "figures": []}
    for ratio, mesh_path in meshes.items():
        result, arrays = run_ratio(comm, ratio, mesh_path, args, say)
        report["rows"] += result.pop("rows")
        report["ratios"][ratio] = result
        if comm.rank == 0 and arrays is not None:
            report["figures"] += write_figures(args.figures, ratio, result, arrays)
    return report


# Printing ---------------------------------------------------------------------------------------

def _number(value, form: str) -> str:
    return "-" if value is None else format(value, form)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _ratio_lines(ratio: str, block: dict, rows: list) -> list[str]:
    sizes, sigma = block["sizes"], block["sigma_max_squared"]
    mine = [row for row in rows if row["ratio"] == ratio]
    lines = [f"{ratio}: {block['mesh']} ({sizes['n_r']} receivers, {sizes['n_s']} sources "
             f"(1:{block['source_step']}), {sizes['n_t']} samples; truth "
             f"outside the constraints {block['truth_violation']:.3f}; sigma_max(Q)^2 "
             f"{sigma:.3e})",
             "  Table 5.1, no Tikhonov, least error (oracle)",
             f"  {'solver':15s} {'error':>7s} {'thesis':>7s} {'iteration':>9s} "
             f"{'seconds':>8s}"]
    lines += [f"  {row['solver']:15s} {row['error']:7.3f} {row['thesis']:7.2f} "
              f"{row['iterations']:9d} {row['seconds']:8.2f}"
              for row in mine if row["table"] == "5.1"]
    lines += ["  Table 5.2, Tikhonov, final iterate",
              f"  {'solver':15s} {'error':>7s} {'thesis':>7s} {'lambda_opt':>10s} "
              f"{'/sigma^2':>9s} {'thesis':>8s} {'settled':>7s} {'interior':>8s} "
              f"{'seconds':>8s}"]
    lines += [f"  {row['solver']:15s} {row['error']:7.3f} {row['thesis']:7.2f} "
              f"{row['lambda']:10.2e} {row['lambda'] / sigma:9.1e} "
              f"{row['thesis_lambda']:8.1e} {_yes(row['settled']):>7s} "
              f"{_yes(row['interior']):>8s} {row['seconds']:8.2f}"
              for row in mine if row["table"] == "5.2"]
    lines += ["  Parameter choice (Lanczos bounds), thesis: no minimiser near lambda_opt",
              f"  {'system':15s} {'rule':9s} {'lambda':>10s} {'/lambda_opt':>11s} "
              f"{'error':>7s} {'steps':>5s} {'converged':>9s} {'near':>5s}"]
    lines += [f"  {row['solver']:15s} {row['rule']:9s} {_number(row['lambda'], '10.2e'):>10s} "
              f"{_number(row['lambda_over_optimum'], '11.2f'):>11s} "
              f"{_number(row['error'], '7.3f'):>7s} {row['lanczos_steps']:5d} "
              f"{_yes(row['converged']):>9s} {_yes(row['near_optimum']):>5s}"
              for row in mine if row["table"] == "choice"]
    lines.append("  Findings (ours | thesis)")
    lines += [f"  {line}" for line in _finding_lines(block["findings"])]
    return lines


def _finding_lines(found: dict) -> list[str]:
    kkt, equal = found["kkt_best_without_tikhonov"], found["equal_with_tikhonov"]
    fewer, sharp = found["penalty_fewer_iterations_than_kkt"], \
        found["preconditioned_sharpest_minimum"]
    rules = found["no_rule_near_optimum"]
    errors = ", ".join(f"{name} {value:.3f}" for name, value in kkt["errors"].items())
    widths = ", ".join(f"{name} {value}{'+' * sharp['basin_open'][name]}"
                       for name, value in sharp["basin_widths"].items())
    return [f"KKT best without Tikhonov: {_yes(kkt['holds'])} ({errors}) | yes",
            f"equal with Tikhonov (within {equal['tolerance']:.0%}): {_yes(equal['holds'])} "
            f"(spread {equal['spread']:.1%}) | yes",
            f"penalty needs fewer iterations than KKT: {_yes(fewer['holds'])} (penalty / KKT "
            f"{fewer['penalty_over_kkt']:.2f}) | yes (1/2)",
            f"preconditioned has the sharpest minimum: {_yes(sharp['holds'])} (iterations "
            f"within {sharp['basin_tolerance']:.0%} of the least error: {widths}) | yes",
            f"no rule near lambda_opt (within {rules['near_factor']:g}x): "
            f"{_yes(rules['holds'])} ({rules['unconverged']} of the choices unconverged) | "
            f"yes"]


def table(report: dict) -> str:
    lines = [f"Luiken ch. 5: redatuming of layered data (c = "
             f"{', '.join(f'{c:g}' for c in report['velocities'])} m/s), noise "
             f"{report['noise_level']:g}, rho {report['rho']:g}, {report['ranks']} rank(s); "
             f"LSQR {report['max_iterations']} / MINRES {report['max_kkt_iterations']} "
             f"iterations; lambdas are ours (thesis: its own data scale)"]
    for ratio, block in report["ratios"].items():
        lines += _ratio_lines(ratio, block, report["rows"])
    lines += [f"figure: {path}" for path in report["figures"]]
    return "\n".join(lines)


def _finite(value):
    """``value`` with non-finite floats as None, at any depth (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run(args) -> int:
    from ...core import petsc_env
    from ...core.errors import EXIT_OK
    from ...core.mpi import report_and_exit
    from ...core.reporting import rank0_progress

    check_arguments(args)
    meshes = resolve_meshes(args)
    comm = petsc_env.initialize().COMM_WORLD
    say = rank0_progress(comm, args.quiet)
    try:
        report = run_experiment(comm, meshes, args, say)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm.tompi4py())
    if comm.rank == 0:
        print(json.dumps(_finite(report), indent=1) if args.json else table(report))
    return EXIT_OK
