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
minute on one core.  The thesis sizes with ``--max-iterations 60 --max-kkt-iterations 120
--lambdas 5 --refinements 2`` took 41 minutes on 2 ranks (docs/seismic.md); the defaults
take about twice as long.  The Golub-Kahan bases of the choices are kept
(reorthogonalisation): at thesis-1x1 a vector of g or of the data is 93 MB, and GCV keeps
two bases (the data's and a Hutchinson probe's), so a step of GCV on the penalty system,
whose left vectors are twice g's length plus the data's, holds 0.56 GB: the default 25
steps, 14 GB.
"""
from __future__ import annotations

import math
from pathlib import Path

from .figures import write_figures
from .layered import THESIS_VELOCITIES
from .luiken_ch5_study import run_ratio

HELP = ("Luiken thesis ch. 5 (Tables 5.1, 5.2, Figs. 5.12-5.16): redatuming under causality "
        "and reciprocity by right preconditioning, penalty and KKT; Tikhonov; Reginska/GCV")



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
    parser.add_argument("--lanczos-steps", type=int, default=25,
                        help="most Golub-Kahan steps of the parameter choice (default 25; "
                             "each keeps its vectors, 0.56 GB a step for GCV on the "
                             "penalty system at thesis-1x1)")
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


def run(args) -> int:
    from ...core.reporting import run_reproduction

    check_arguments(args)
    meshes = resolve_meshes(args)
    return run_reproduction(args, lambda comm, say: run_experiment(comm, meshes, args, say),
                            table)
