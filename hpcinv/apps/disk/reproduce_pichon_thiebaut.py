"""``hpcinv reproduce pichon-thiebaut``: Pichon & Thiebaut (1997), distribution functions of
thin disks from their azimuthal velocity profiles, on the iso-Q Kuzmin disk (G = M = a = 1).

Normalisation.  f is mass-weighted, as the profiles are (int F dv_phi = Sigma(R)), in units
G = M = a = 1; Eq. 44's error sum f_true |f - f_true| / sum f_true is in those units, the
paper's unstated normalisation as best inferred (its f peaks near 0.2, ours too).

The truth.  As in the paper, the truth is an inversion of the noise-free Gaussian profiles
(``truth.py``: the negentropy fit with the floating prior, the profiles weighted as data of
SNR ``--truth-snrs``, to one chi-square per datum); data are a f_true plus Eq. 45's noise
(sigma_bg = 1e-4), 50 x 50 points to R = 7 (``--samples``), inverted on ``--basis``^2 nodes
by the six-direction scheme with the floating prior (gamma = 1/4, decoupled at h = 0) toward
N - sqrt(2 N).  The paper's truth fit used a mu found "by trial and error", unstated; the
tighter the fit, the rougher the truth, the higher the error floor a in a + b / SNR and the
higher the noise-free error.  ``--truth-snrs`` (10 70) runs (a) and (b) for each truth: 10
is the disk kind's smooth default, 70 was calibrated once against the paper's a at
Q = 1.25; the slope, the other Q values and the truncation are then checks, not fits.

Experiments (rows ``{"experiment", "snr", "q", "r_max", "method", "error_mean",
"error_std", "iterations", "seconds", "converged", "data"}``: "converged" the fraction of
runs that stopped by their own rule rather than the iteration limit, "data" the number of
data points):

(a) noise-free: a f_true without noise, weighted as SNR 100 data, inverted to a chi-square
    of ``--noise-free-chi-square`` per datum (the paper's target: error < 1e-4);
(b) error against SNR (``--snrs``) over ``--realisations`` noise draws for each ``--qs``,
    fitted to a + b / SNR (paper: 1.0e-3 + 3.4e-2 / SNR, for any Q);
(c) error against the data's outer radius (``--r-maxes``) at SNR ``--truncation-snr``,
    the radii spaced about as in (b) and those past R_max dropped (paper: a plateau from
    R_max ~ 7 = 4 R_e; the disk's edge is 10);
(d) iterations and seconds to convergence at SNR ``--truncation-snr``: the six-direction
    scheme, with the seventh (memory) direction, the single-direction schemes of Eq. 30
    (q = f^1.5, Richardson-Lucy's f, Cornwell-Evans') at the six-direction run's final mu
    (so all minimise the same Q), and TAO BLMVM searching
    mu to the same chi-square (its iterations: TAO's inner ones, summed).  Paper: about 10x
    fewer iterations for the six directions.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import InputError

HELP = ("Pichon & Thiebaut 1997: disk DFs from velocity profiles; noise-free error, error "
        "against SNR and Q, against R_max, and the six-direction scheme against the "
        "single-direction schemes and TAO")
PAPER_LAW = (1.0e-3, 3.4e-2)   # error = a + b / SNR (Fig. 10)
PAPER_NOISE_FREE = 1e-4
PAPER_PLATEAU_RADIUS = 7.0
# The paper's truth is its noise-free inversion at a mu found "by trial and error"; how
# tightly it fits the Gaussian profiles sets the error floor a of the law a + b / SNR.
# 10: the disk kind's smooth default; 70: calibrated once against the paper's a = 1.0e-3 at
# Q = 1.25 (3 draws a SNR, 150 x 150: truth_snr 30 / 50 / 70 gave a = 2.9e-5 / 5.6e-4 /
# 1.03e-3).  Both are run, since neither meets every target of the paper (docs/disk.md).
TRUTH_SNRS = (10.0, 70.0)
# Eq. 30's metrics in (d).  The classical MEM one, f / mu, is Richardson-Lucy's f scaled by a
# constant the line search absorbs, so it would repeat lucy's run; power uses nu = 1.5
# (nu = 1 is lucy).
SPEED_METRICS = ("power", "lucy", "cornwell-evans")


def add_arguments(parser) -> None:
    parser.add_argument("--basis", type=int, default=150,
                        help="nodes per axis of f(eta, h) (default 150, the paper's)")
    parser.add_argument("--samples", type=int, default=50,
                        help="radii, and velocities per radius, of the data (default 50)")
    parser.add_argument("--realisations", type=int, default=10,
                        help="noise draws per SNR and Q (default 10; paper 40)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[5.0, 30.0, 100.0])
    parser.add_argument("--qs", type=float, nargs="+", default=[1.25, 1.75],
                        help="Toomre Q values (default 1.25 1.75; hotter than about 1.93 "
                             "the disk cannot rotate at its centre)")
    parser.add_argument("--r-maxes", type=float, nargs="+", default=[3.0, 5.0, 7.0, 9.0])
    parser.add_argument("--truncation-snr", type=float, default=30.0)
    parser.add_argument("--truncation-realisations", type=int, default=3)
    parser.add_argument("--truth-snrs", type=float, nargs="+", default=list(TRUTH_SNRS),
                        help="SNRs as which the truth's fit weighs the Gaussian profiles, "
                             "one truth each for (a) and (b); (c) and (d) use the last "
                             "(the disk kind's truth_snr; default 10 70, see above)")
    parser.add_argument("--noise-free-chi-square", type=float, default=1e-3,
                        help="chi-square per datum the noise-free inversion aims at")
    parser.add_argument("--max-iterations", type=int, default=3000,
                        help="iteration limit of the six-direction scheme")
    parser.add_argument("--gradient-iterations", type=int, default=30000,
                        help="iteration limit of the single-direction schemes")
    parser.add_argument("--experiments", default="abcd",
                        help="which of a, b, c, d to run (default abcd)")
    parser.add_argument("--figures", default=None, metavar="DIR",
                        help="write f truth / mean / standard deviation maps here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def check_arguments(args) -> None:
    """Every bad flag at once, as an InputError (exit 2), before PETSc starts."""
    counts = {"--basis": (args.basis, 3), "--samples": (args.samples, 2),
              "--realisations": (args.realisations, 1),
              "--truncation-realisations": (args.truncation_realisations, 1),
              "--max-iterations": (args.max_iterations, 1),
              "--gradient-iterations": (args.gradient_iterations, 1)}
    problems = [(name, f"must be >= {least}, got {value}")
                for name, (value, least) in counts.items() if value < least]
    for name, values in (("--snrs", args.snrs), ("--qs", args.qs), ("--r-maxes", args.r_maxes),
                         ("--truncation-snr", [args.truncation_snr]),
                         ("--noise-free-chi-square", [args.noise_free_chi_square]),
                         ("--truth-snrs", args.truth_snrs)):
        if not all(np.isfinite(value) and value > 0 for value in values):
            problems.append((name, f"must be finite and > 0, got {values}"))
    if len(set(args.truth_snrs)) != len(args.truth_snrs):
        problems.append(("--truth-snrs", f"repeats a value: {args.truth_snrs}"))
    if not args.experiments or set(args.experiments) - set("abcd"):
        problems.append(("--experiments", f"letters a-d, got {args.experiments!r}"))
    if problems:
        raise InputError(problems)


def _row(study, experiment: str, method: str, errors, runs, *, snr=None, q=1.25,
         r_max=7.0) -> dict:
    errors = np.asarray(errors, dtype=float)
    return {"experiment": experiment, "truth_snr": study.base["truth_snr"], "snr": snr, "q": q,
            "r_max": r_max, "method": method,
            "error_mean": float(errors.mean()), "error_std": float(errors.std()),
            "iterations": float(np.mean([run["iterations"] for run in runs])),
            "seconds": float(np.mean([run["seconds"] for run in runs])),
            "converged": sum(run["reason"] != "max_iterations" for run in runs) / len(runs),
            "data": runs[0]["data"]}


def _noise_free(study, args, say) -> list:
    say("(a) noise-free inversion")
    problem = study.problem(noise=False, snr=100.0)
    run = study.solve(study.subspace(problem, args.noise_free_chi_square
                                     * problem.operator.shape[0]), problem)
    return [_row(study, "noise-free", "subspace", [run["error"]], [run], snr=None)]


def _realisations(study, count: int, **values):
    """Runs of the six-direction scheme on ``count`` noise draws; (runs, f arrays)."""
    runs, fields = [], []
    for seed in range(1, count + 1):
        problem = study.problem(seed=seed, **values)
        run = study.solve(study.subspace(problem), problem)
        runs.append(run)
        if study.keep_fields:
            from ...linalg.layout import gathered

            fields.append(gathered(run["result"].x))
            study.truth_fields[values.get("toomre_q", 1.25)] = gathered(problem.truth)
    return runs, fields


def _error_law(study, args, say) -> tuple[list, dict, dict]:
    rows, laws, maps = [], {}, {}
    for q in args.qs:
        means = []
        for snr in args.snrs:
            say(f"(b) Q = {q:g}, SNR = {snr:g}: {args.realisations} realisations")
            runs, fields = _realisations(study, args.realisations, toomre_q=q, snr=snr)
            rows.append(_row(study, "snr", "subspace", [run["error"] for run in runs], runs,
                             snr=snr, q=q))
            means.append(rows[-1]["error_mean"])
            if fields:
                maps[(q, snr)] = (np.mean(fields, axis=0), np.std(fields, axis=0), len(fields))
        if len(set(args.snrs)) < 2:   # a + b / SNR needs two SNRs
            continue
        design = np.column_stack([np.ones(len(args.snrs)), 1.0 / np.asarray(args.snrs)])
        laws[q] = [float(c) for c in np.linalg.lstsq(design, np.asarray(means), rcond=None)[0]]
    return rows, laws, maps


def _truncation(study, args, say) -> list:
    """Data cut at each R_max at about the radial spacing of the (b) grid: round(R_max /
    spacing) radii out to R_max (21 to R_max = 3: spacing 0.143 against 0.14), so that the
    outer data go and the inner ones stay (resampling a fixed count of radii would thin
    them)."""
    rows = []
    spacing = study.base["r_max"] / study.base["radii"]
    for r_max in args.r_maxes:
        radii = max(2, int(round(r_max / spacing)))
        say(f"(c) R_max = {r_max:g}: {radii} radii")
        runs, _ = _realisations(study, args.truncation_realisations, r_max=r_max, radii=radii,
                                snr=args.truncation_snr)
        rows.append(_row(study, "r_max", "subspace", [run["error"] for run in runs], runs,
                         snr=args.truncation_snr, r_max=r_max))
    return rows


def _speed(study, args, say) -> list:
    problem = study.problem(seed=1, snr=args.truncation_snr)
    say("(d) six directions")
    six = study.solve(study.subspace(problem), problem)
    target = six["result"].attributes["chi_square_target"]
    mu = six["result"].attributes["mu"]
    runs = {"subspace": six}
    say("(d) seven directions")
    runs["subspace-memory"] = study.solve(study.subspace(problem, memory=True), problem)
    for metric in SPEED_METRICS:
        say(f"(d) single direction, {metric}")
        runs[f"gradient-{metric}"] = study.solve(study.single_direction(problem, mu, metric),
                                                 problem)
    say("(d) TAO BLMVM")
    runs["tao-blmvm"] = study.solve(study.tao(problem, target), problem)
    return [_row(study, "speed", name, [run["error"]], [run], snr=args.truncation_snr)
            for name, run in runs.items()]


def run_experiment(comm, args, say) -> dict:
    from .pichon_thiebaut_study import DiskStudy

    rows, laws, studies, figures = [], {}, [], []
    for truth_snr in args.truth_snrs:
        study = DiskStudy(comm, basis=args.basis, samples=args.samples,
                          max_iterations=args.max_iterations,
                          gradient_iterations=args.gradient_iterations,
                          keep_fields=args.figures is not None, truth_snr=truth_snr)
        studies.append(study)
        say(f"truth fitted as SNR {truth_snr:g} data")
        if "a" in args.experiments:
            rows += _noise_free(study, args, say)
        if "b" in args.experiments:
            law_rows, study_laws, maps = _error_law(study, args, say)
            rows += law_rows
            laws[f"{truth_snr:g}"] = {f"{q:g}": law for q, law in study_laws.items()}
            if args.figures and comm.rank == 0:
                figures += _figures(args.figures, study, maps)
    if "c" in args.experiments:   # with the last truth
        rows += _truncation(studies[-1], args, say)
    if "d" in args.experiments:
        rows += _speed(studies[-1], args, say)
    truths = {f"{study.base['truth_snr']:g}": _truth_facts(study) for study in studies}
    truths = {snr: facts for snr, facts in truths.items() if facts}   # fitted ones only
    return {"rows": rows, "laws": laws, "truths": truths, "figures": figures,
            "paper_law": list(PAPER_LAW), "basis": args.basis, "samples": args.samples,
            "ranks": comm.tompi4py().size,
            "normalisation": "mass-weighted f, int F dv_phi = Sigma(R), G = M = a = 1"}


def _truth_facts(study) -> dict:
    """Q -> {"fit": how the truth's fit stopped, "roughness": [eta, h]} (collective)."""
    roughness = study.truth_roughness()
    return {f"{q:g}": {"fit": fit, "roughness": roughness[q]}
            for q, fit in study.truth_fits().items()}


def _figures(directory: str, study, maps: dict) -> list:
    from pathlib import Path

    from ...core.plotting import save
    from .figures import distribution_figure
    from .grid import DistributionGrid

    Path(directory).mkdir(parents=True, exist_ok=True)
    grid = DistributionGrid(study.base["eta_nodes"], study.base["h_nodes"])
    truth_snr = study.base["truth_snr"]
    paths = []
    for (q, snr), (mean, spread, count) in maps.items():
        fields = [("true f", study.truth_fields[q].reshape(grid.shape)),
                  (f"mean of {count} recoveries", mean.reshape(grid.shape)),
                  ("standard deviation", spread.reshape(grid.shape))]
        title = f"Q = {q:g}, SNR = {snr:g} (truth fitted at SNR {truth_snr:g})"
        figure = distribution_figure(fields, grid.eta, grid.h, title)
        name = f"pichon-thiebaut-truth{truth_snr:g}-q{q:g}-snr{snr:g}.png"
        paths.append(str(save(figure, Path(directory) / name)))
    return paths


def _paper(row: dict) -> str:
    if row["experiment"] == "noise-free":
        return f"< {PAPER_NOISE_FREE:.0e}"
    if row["experiment"] == "snr":
        return f"{PAPER_LAW[0] + PAPER_LAW[1] / row['snr']:.2e}"
    return ""


def table(report: dict) -> str:
    lines = [f"Pichon & Thiebaut 1997: iso-Q Kuzmin disk, {report['basis']}^2 nodes, "
             f"{report['samples']} x {report['samples']} data, {report['ranks']} rank(s); "
             f"f {report['normalisation']}"]
    for truth_snr, facts in report["truths"].items():
        lines.append(f"truth fitted as SNR {truth_snr} data: " + "; ".join(
            f"Q = {q} {fact['fit']}, roughness {fact['roughness'][0]:.3f} in eta, "
            f"{fact['roughness'][1]:.3f} in h" for q, fact in facts.items()))
    lines.append(f"{'experiment':11} {'truth':>5} {'Q':>5} {'SNR':>5} {'R_max':>5} "
                 f"{'method':24} {'error':>9} {'+-':>9} {'paper':>9} {'iters':>8} "
                 f"{'seconds':>8} converged")
    for row in report["rows"]:
        snr = f"{row['snr']:g}" if row["snr"] else "-"
        lines.append(f"{row['experiment']:11} {row['truth_snr']:5g} {row['q']:5g} {snr:>5} "
                     f"{row['r_max']:5g} {row['method']:24} {row['error_mean']:9.2e} "
                     f"{row['error_std']:9.1e} {_paper(row):>9} {row['iterations']:8.0f} "
                     f"{row['seconds']:8.2f} {row['converged']:9.0%}")
    for truth_snr, laws in report["laws"].items():
        for q, (a, b) in laws.items():
            lines.append(f"error law, truth fitted at SNR {truth_snr}, Q = {q}: {a:.2e} + "
                         f"{b:.2e} / SNR (paper {PAPER_LAW[0]:.1e} + {PAPER_LAW[1]:.1e} / SNR)")
    for path in report["figures"]:
        lines.append(f"wrote {path}")
    return "\n".join(lines)


def run(args) -> int:
    from ...core.reporting import run_reproduction

    check_arguments(args)
    return run_reproduction(args, lambda comm, say: run_experiment(comm, args, say), table)
