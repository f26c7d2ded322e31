"""``hpcinv reproduce luiken-ch3``: Luiken's thesis, chapter 3 (Tables 3.2-3.5): how close the
lambda chosen on a reduced model comes to the lambda of the exact functional, for GCV,
Reginska, quasi-optimality and the discrepancy principle, with the reduced model from
Lanczos (Golub-Kahan) bounds or from the adaptive randomized SVD.

* gravity (Regularization Tools, n = 1000, depth 0.25, L = I): the thesis states neither the
  noise level nor the truth; we use Regularization Tools' example-1 truth and relative noise
  ``--gravity-noise`` (default 1%).
* cross-well tomography (50 x 50 cells, 20 x 20 rays: 400 x 2500, L = the 2-D Laplacian
  with zero boundary, invertible, so the standard form is A L^-1 as in the thesis): the
  thesis' noise delta = 0.1 is per datum on data of its own scale; we use relative noise
  ``--tomography-noise`` (default 10%).  The range finder samples A^T (the thesis' variant
  for underdetermined problems).

Per realisation (noise seed 0, 1, ...): the exact lambda from the full SVD of the
(standard-form) operator, gathered densely (these problems are small); the Lanczos lambda
from ``lanczos_choice`` at tolerance epsilon (Ritz-value trace for GCV unless ``--trace
hutchinson``); the RSVD lambda from the adaptive range finder at tolerance epsilon (absolute,
Halko's ||A - Q Q^T A|| <= epsilon, as the thesis indexes its tables) and Halko's Alg. 5.1.
The discrepancy principle uses tau = 1 and the realised noise norm.  Reported: mean and
standard deviation of |lambda - lambda*| / lambda* and the mean reduced dimension k.
"""
from __future__ import annotations

import json

import numpy as np

HELP = ("Luiken thesis ch. 3, Tables 3.2-3.5: lambda by Lanczos bounds vs RSVD against the "
        "exact functionals (gravity, cross-well tomography)")

RULES = ("gcv", "reginska", "qo", "dp")

# Thesis Tables 3.2-3.5: (error mean, error std, k) for Lanczos and RSVD.  None: not given.
THESIS = {
    ("gravity", 1e-1): {"gcv": ((1.3e-2, 1.2e-2, 11.9), (1.1e-2, 1.2e-2, 15)),
                        "reginska": ((2.4e-3, 2.5e-3, None), (4.0e-4, 9.0e-5, 15)),
                        "qo": ((8.3e-3, 8.8e-3, 9), (8.5e-3, 5.1e-3, 15)),
                        "dp": ((6.1e-4, 1.6e-3, 7.5), (1.4e-2, 1.3e-2, 15))},
    ("gravity", 1e-2): {"gcv": ((1.2e-3, 1.1e-3, 14.2), (1.3e-3, 1.8e-3, 18)),
                        "reginska": ((9.5e-4, 1.4e-3, 9.5), (1.6e-5, 1.1e-5, 18)),
                        "qo": ((1.1e-3, 2.2e-3, 9.6), (3.2e-5, 1.7e-5, 18)),
                        "dp": ((7.5e-6, 1.4e-5, 8.4), (1.6e-4, 4.7e-5, 18))},
    ("gravity", 1e-3): {"gcv": ((2.5e-4, 2.1e-4, 15.5), (7.8e-4, 2.4e-3, 21)),
                        "reginska": ((2.4e-5, 2.5e-5, 10), (6.4e-7, 7.9e-7, 21)),
                        "qo": ((9.0e-5, 1.2e-4, 9.9), (3.1e-5, 1.9e-5, 21)),
                        "dp": ((2.5e-8, 1.8e-7, 9.9), (4.3e-5, 5.3e-5, 21))},
    # Table 3.5 (Lanczos only; row labels lost in the source, presumably GCV, Reginska, DP;
    # QO had no minimiser; the epsilon is not stated); the RSVD did not compress.
    ("tomography", None): {"gcv": ((2.4e-1, 1.7e-1, 15), None),
                           "reginska": ((3.1e-3, 6.5e-3, 9.4), None),
                           "dp": ((None, None, 20.7), None)},
}


def add_arguments(parser) -> None:
    parser.add_argument("--problems", default="gravity,tomography",
                        help="gravity, tomography or both (default)")
    parser.add_argument("--epsilons", default="1e-1,1e-2,1e-3",
                        help="tolerances (default 1e-1,1e-2,1e-3)")
    parser.add_argument("--realisations", type=int, default=10,
                        help="noise realisations (default 10)")
    parser.add_argument("--gravity-n", type=int, default=1000, help="gravity size (1000)")
    parser.add_argument("--gravity-noise", type=float, default=0.01,
                        help="relative noise of the gravity data (default 0.01)")
    parser.add_argument("--tomography-noise", type=float, default=0.1,
                        help="relative noise of the tomography data (default 0.1)")
    parser.add_argument("--trace", default="ritz", choices=("ritz", "hutchinson"),
                        help="GCV's trace estimate with Lanczos (default ritz)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _parse_problems(text: str) -> list[str]:
    from ...core.errors import InputError

    names = [name.strip() for name in text.split(",") if name.strip()]
    bad = [name for name in names if name not in ("gravity", "tomography")]
    if bad or not names:
        raise InputError(("--problems", f"choose from gravity, tomography; got {text!r}"))
    return names


def _parse_epsilons(text: str) -> list[float]:
    from ...core.errors import InputError

    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or not all(0 < value < 1 for value in values):
        raise InputError(("--epsilons", f"comma-separated numbers in (0, 1), got {text!r}"))
    return values


def _problems(args, comm, names):
    """(name, builder(seed) -> Problem) of the chosen experiments."""
    from . import crosswell, gravity

    builders = {
        "gravity": lambda seed: gravity(comm, n=args.gravity_n, noise_level=args.gravity_noise,
                                        seed=seed),
        "tomography": lambda seed: crosswell(comm, n=50, sources=20, receivers=20,
                                             noise_level=args.tomography_noise, seed=seed,
                                             regularization="laplacian2d"),
    }
    return [(name, builders[name]) for name in names]


def _relative_error(lam, exact):
    if lam is None or exact is None:
        return None
    return abs(lam - exact) / exact


def _run_problem(name, build, args, epsilons, say):
    from ...linalg.dense import dense_matrix
    from ...linalg.layout import Layout
    from ...solvers.tikhonov.paramchoice import SpectralModel, choose_lambda
    from ...solvers.tikhonov.paramchoice.lanczos import lanczos_choice
    from ...core.petsc_env import release_memory
    from ...linalg.decompositions.rsvd import randomized_svd
    from ...solvers.framework.capabilities import Regularization
    from ...solvers.tikhonov.solver import Tikhonov

    samples = {}   # (rule, method, epsilon) -> list of (error, k)
    left = singular = None
    for seed in range(args.realisations):
        problem = build(seed)
        reduction = Tikhonov(problem.operator, problem.data, regularization=problem.require(
            Regularization).operator).reduction()
        operator, data = reduction.operator, reduction.data
        # The last realisation's problem, now dropped: no solver run here releases it.
        release_memory(operator.comm)
        if singular is None:   # the matrix is the same in every realisation
            left, singular, _ = np.linalg.svd(dense_matrix(operator), full_matrices=False)
        whole = Layout.of_vec(data).gather(data.getArray())
        exact_model = SpectralModel(singular, left.T @ whole, float(whole @ whole),
                                    operator.shape[0], unfiltered=reduction.fixed)
        noise = problem.noise_norm
        exact = {rule: choose_lambda(exact_model, rule, noise_norm=noise) for rule in RULES}
        rows, columns = operator.shape
        for epsilon in epsilons:
            # The thesis' one-vector Alg. 4.2 (block 1), so the ranks compare with its k.
            svd = randomized_svd(operator, epsilon=epsilon, seed=seed, transpose=rows < columns,
                                 block=1)
            model = reduction.model(svd)
            for rule in RULES:
                lam = choose_lambda(model, rule, noise_norm=noise)
                # A basis of every direction is no compression, even when the finder's
                # tolerance holds there (its samples then vanish).
                compressed = svd.compressed and svd.rank < min(rows, columns)
                samples.setdefault((rule, "rsvd", epsilon), []).append(
                    (_relative_error(lam, exact[rule]), svd.rank, compressed))
                choice = lanczos_choice(operator, data, rule, epsilon=epsilon, noise_norm=noise,
                                        trace=args.trace, seed=seed, unfiltered=reduction.fixed)
                samples.setdefault((rule, "lanczos", epsilon), []).append(
                    (_relative_error(choice.lam, exact[rule]), choice.k, True))
        say(f"{name}: realisation {seed + 1}/{args.realisations} done")
    return [_summary(name, key, values) for key, values in samples.items()]


def _summary(name, key, values) -> dict:
    rule, method, epsilon = key
    errors = np.array([error for error, _, _ in values if error is not None])
    ks = np.array([k for _, k, _ in values], dtype=float)
    return {"problem": name, "rule": rule, "method": method, "epsilon": epsilon,
            "lambda_rel_error_mean": float(errors.mean()) if errors.size else None,
            "lambda_rel_error_std": float(errors.std()) if errors.size else None,
            "k_mean": float(ks.mean()), "k_std": float(ks.std()),
            "found": int(errors.size), "realisations": len(values),
            "compressed": all(flag for _, _, flag in values)}


def _cell(mean, std) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1e} +- {std:.1e}" if std is not None else f"{mean:.1e}"


def _k_cell(row) -> str:
    k = f"{row['k_mean']:.1f} +- {row['k_std']:.1f}"
    return k if row["compressed"] else k + " (no compression)"


def _thesis_cells(problem, epsilon, rule) -> tuple[str, str]:
    table = THESIS.get((problem, epsilon)) or THESIS.get((problem, None)) or {}
    entry = table.get(rule)
    if entry is None:
        return "not reported", "not reported"
    cells = []
    for values in entry:
        if values is None:
            cells.append("failed" if problem == "tomography" else "-")
            continue
        mean, std, k = values
        cells.append(f"{_cell(mean, std)}, k {k if k is not None else '-'}")
    return cells[0], cells[1]


def table(rows) -> str:
    lines = [f"{'problem':10s} {'eps':>6s} {'rule':8s} | {'Lanczos error':>19s} "
             f"{'k':>12s} | {'RSVD error':>19s} {'k':>26s} | thesis Lanczos / thesis RSVD"]
    index = {(r["problem"], r["epsilon"], r["rule"], r["method"]): r for r in rows}
    for problem, epsilon, rule in sorted({(r["problem"], r["epsilon"], r["rule"]) for r in rows},
                                         key=lambda t: (t[0], -t[1], RULES.index(t[2]))):
        lanczos, rsvd = index[(problem, epsilon, rule, "lanczos")], \
            index[(problem, epsilon, rule, "rsvd")]
        thesis_lanczos, thesis_rsvd = _thesis_cells(problem, epsilon, rule)
        missing = "" if lanczos["found"] == lanczos["realisations"] else \
            f" ({lanczos['realisations'] - lanczos['found']} no minimiser)"
        lines.append(
            f"{problem:10s} {epsilon:6.0e} {rule:8s} | "
            f"{_cell(lanczos['lambda_rel_error_mean'], lanczos['lambda_rel_error_std']):>19s} "
            f"{_k_cell(lanczos):>12s} | "
            f"{_cell(rsvd['lambda_rel_error_mean'], rsvd['lambda_rel_error_std']):>19s} "
            f"{_k_cell(rsvd):>26s} | {thesis_lanczos} / {thesis_rsvd}{missing}")
    return "\n".join(lines)


def run(args) -> int:
    from ...core import petsc_env
    from ...core.errors import EXIT_OK, InputError
    from ...core.mpi import report_and_exit
    from ...core.reporting import json_safe, rank0_progress

    names = _parse_problems(args.problems)
    epsilons = _parse_epsilons(args.epsilons)
    if args.realisations < 1:
        raise InputError(("--realisations", "must be >= 1"))
    comm = petsc_env.initialize().COMM_WORLD

    say = rank0_progress(comm, args.quiet)

    try:
        rows = []
        for name, build in _problems(args, comm, names):
            rows += _run_problem(name, build, args, epsilons, say)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm.tompi4py())
    if comm.rank == 0:
        if args.json:
            print(json.dumps({"ranks": comm.size, "realisations": args.realisations,
                              "gravity_noise": args.gravity_noise,
                              "tomography_noise": args.tomography_noise, "trace": args.trace,
                              "rows": [json_safe(row) for row in rows]}, indent=1))
        else:
            print(f"Luiken ch. 3: relative error of lambda against the exact functional's, "
                  f"{args.realisations} noise realisations, {comm.size} rank(s); gravity "
                  f"n = {args.gravity_n} noise {args.gravity_noise:g}, tomography noise "
                  f"{args.tomography_noise:g}, GCV trace {args.trace}")
            print(table(rows))
    return EXIT_OK

