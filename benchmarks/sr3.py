"""Seconds of SR3 and its baselines on total-variation tomography (Luiken's thesis, ch. 6.5):
hpcinv's inexact SR3 (Algorithm 8) and exact SR3 (LSQR to 1e-6 each outer step) on 1 and 2
ranks, ADMM, and PyProximal's SR3 (serial), at 128 x 128 and 256 x 256.  Prints one JSON
object last.

    .venv/bin/python benchmarks/sr3.py [--sizes 128,256] [--ranks 1,2] [--kappa 1]
        [--methods sr3-inexact,sr3-exact,sr3-inexact-penalized,pyproximal[,admm]]
        [--max-outer 20000]

``--sizes 32`` is a run of under a minute; ``--sizes 128`` took 8.6 minutes on 2 cores, and
the default (128 and 256, all four methods) takes over an hour.  The problem: parallel-beam CT of the Shepp-Logan
phantom, 18 angles in [0, 180), no noise, L = [I (x) D; D (x) I] (the ``luiken-ch6``
reproduction's tomography), the thesis' constrained form ||L x||_1 <= tau at the oracle
tau = ||L x_true||_1 for sr3-inexact, sr3-exact and admm (rho = kappa).  PyProximal's SR3
offers only the penalised form min 1/2 ||A x - b||^2 + lambda ||L x||_1, so it runs, with
hpcinv's inexact SR3 beside it (sr3-inexact-penalized, 1 rank), at lambda = kappa theta,
theta the final projection threshold of the 1-rank sr3-inexact run ("weight"): a constrained
fixed point with threshold theta is a penalised one at that lambda.  With noise-free data and
the oracle tau the exact theta is 0 (x_true fits with ||L x_true||_1 = tau), so this lambda
is set by where the constrained run stopped: the pair compares the two codes on one
penalised problem, not the two forms on one problem.  FISTA needs L = I and does not apply.

What is measured:

* seconds: ``method.run()`` only (PyProximal: its ``SR3`` call), the slowest rank's, not the
  problem's build; every SR3 stops by the same rule, ||v - w|| / max(1, ||w||) <= 1e-6
  (apg's, fixed in PyProximal), so the seconds are to the same objective accuracy, which
  ``objective_gap`` checks: (f - f_ref) / f(0), f_ref the least objective of the same form at
  that size and f(0) = 1/2 ||b||^2, since the constrained minimum is 0 (relaxed objectives;
  ADMM minimises the original one and is not compared).
* total_iterations: LSQR steps summed over the outer iterations (PyProximal's counted by
  ``hpcinv.apps.classic.pyproximal_peer``); outer_iterations beside them.
* peak_memory_mb_per_rank: getrusage maxrss of each rank, keyed "n/method/ranks"; each run
  is a process of its own (problem and imports included).
* ``--products``: milliseconds per product with A, A^T, L and L^T instead, per size and
  rank count (on 1 rank also scipy's, PyProximal's products) (what an LSQR step costs, and why 2 ranks gain little: see docs/relaxed.md).
* ratios: PyProximal's seconds over hpcinv's on 1 rank, in the same (penalised) form and to
  hpcinv's constrained run (the same fixed point); inexact SR3's 1-rank over 2-rank seconds;
  exact over inexact LSQR steps.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers import peak_mb, run_worker  # noqa: E402 - after the path set-up

METHODS = ("sr3-inexact", "sr3-exact", "sr3-inexact-penalized", "pyproximal", "admm")
DEFAULT_METHODS = METHODS[:4]
PRODUCTS = "products"
SERIAL = ("sr3-inexact-penalized", "pyproximal")   # the like-for-like pair, on 1 rank


def _worker(args) -> None:
    from hpcinv.core.mpi import global_max
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    mpi = PETSc.COMM_WORLD.tompi4py()
    from hpcinv.apps.classic.luiken_ch6_study import (Setting, admm_row, build_problem,
                                                      pyproximal_row, sr3_row)

    limits = {"max_outer": args.max_outer, "max_inner": args.max_inner}
    if args.worker == PRODUCTS:
        row = _product_times(PETSc, mpi, args.n)
    elif args.worker == "pyproximal":
        row = pyproximal_row("tomography", args.n, args.kappa, args.weight, **limits)
    else:
        setting = Setting("tomography", build_problem(PETSc.COMM_WORLD, "tomography", args.n))
        mpi.Barrier()
        if args.worker == "admm":
            row = admm_row(setting, args.kappa, **limits)
        else:
            row = sr3_row(setting, args.kappa, inexact=args.worker != "sr3-exact",
                          weight=args.weight if args.worker in SERIAL else None, **limits)
        row["seconds"] = global_max(mpi, row["seconds"])
    row["peak_memory_mb"] = mpi.gather(round(peak_mb(), 1), root=0)
    if mpi.rank == 0:
        print(json.dumps(row))


def _product_times(PETSc, mpi, n: int, repeats: int = 500) -> dict:
    """Milliseconds per product with A, A^T, L, L^T (the slowest rank's, from a barrier):
    what bounds an LSQR step, and how it scales with ranks."""
    from hpcinv.apps.classic.luiken_ch6_study import Setting, build_problem
    from hpcinv.core.mpi import global_max

    setting = Setting("tomography", build_problem(PETSc.COMM_WORLD, "tomography", n))
    A, L = setting.problem.operator, setting.L
    x, y = A.create_vecs()
    z = L.create_vecs()[1]
    for vec in (x, y, z):
        vec.set(1.0)
    products = {"A": lambda: A.mult(x, y), "A^T": lambda: A.mult_transpose(y, x),
                "L": lambda: L.mult(x, z), "L^T": lambda: L.mult_transpose(z, x)}
    if mpi.size == 1:   # the same products by scipy, as PyProximal makes them
        from hpcinv.apps.classic.pyproximal_peer import scipy_matrix

        scipy_a, scipy_l = scipy_matrix(A), scipy_matrix(L)
        xs, ys, zs = (vec.getArray().copy() for vec in (x, y, z))
        products.update({"scipy A": lambda: scipy_a @ xs, "scipy A^T": lambda: scipy_a.T @ ys,
                         "scipy L": lambda: scipy_l @ xs, "scipy L^T": lambda: scipy_l.T @ zs})
    row = {}
    for name, product in products.items():
        product()
        mpi.Barrier()
        started = time.perf_counter()
        for _ in range(repeats):
            product()
        row[name] = round(global_max(mpi, time.perf_counter() - started) / repeats * 1e3, 4)
    return {"milliseconds": row}


def _run(worker: str, n: int, ranks: int, args, weight: float | None = None) -> dict:
    arguments = ["--worker", worker, "--n", n, "--kappa", repr(args.kappa), "--max-outer",
                 args.max_outer, "--max-inner", args.max_inner]
    if weight is not None:
        arguments += ["--weight", repr(weight)]
    return run_worker(__file__, arguments, ranks, f"{worker} at {n} x {n}")


def _ratio(numerator, denominator):
    return round(numerator / denominator, 2) if numerator and denominator else None


def case(n: int, args, methods: list, ranks_list: list) -> tuple[list, dict, dict]:
    """The runs, the peak memory and the ratios at n x n."""
    started = time.perf_counter()
    runs, memory, weight = [], {}, None
    # The constrained inexact run on 1 rank first: its threshold gives the penalised twin.
    order = ["sr3-inexact"] + [method for method in methods if method != "sr3-inexact"]
    for method in order:
        rank_counts = [1] if method in SERIAL else ranks_list
        if method == "sr3-inexact":
            rank_counts = sorted({1, *ranks_list}) if method in methods else [1]
        for ranks in rank_counts:
            row = _run(method, n, ranks, args, weight if method in SERIAL else None)
            if method == "sr3-inexact" and ranks == 1:
                weight = args.kappa * row["threshold"]
                if "sr3-inexact" not in methods:
                    continue
            memory[f"{n}/{method}/{ranks}"] = row.pop("peak_memory_mb")
            runs.append({"problem": "tomography", "n": n, "method": method, "ranks": ranks,
                         "form": row["form"], "seconds": round(row["seconds"], 3),
                         "total_iterations": row["total"], "outer_iterations": row["outer"],
                         "objective": row["objective"],
                         "relative_objective": row["relative_objective"],
                         "relative_error": row["relative_error"], "reason": row["reason"]})
    for form in ("constrained", "penalized"):
        relaxed = [run for run in runs if run["form"] == form and run["method"] != "admm"]
        best = min((run["relative_objective"] for run in relaxed), default=None)
        for run in relaxed:   # relative to f(0): the constrained minimum is 0
            run["objective_gap"] = run["relative_objective"] - best

    def pick(method, ranks, key):
        return next((run[key] for run in runs if run["method"] == method
                     and run["ranks"] == ranks), None)

    peer = pick("pyproximal", 1, "seconds")
    ratios = {"pyproximal_over_penalized_inexact_1_rank": _ratio(
                  peer, pick("sr3-inexact-penalized", 1, "seconds")),
              "pyproximal_over_constrained_inexact_1_rank": _ratio(
                  peer, pick("sr3-inexact", 1, "seconds")),
              "inexact_1_over_2_ranks": _ratio(pick("sr3-inexact", 1, "seconds"),
                                               pick("sr3-inexact", 2, "seconds")),
              "exact_over_inexact_lsqr_steps": _ratio(pick("sr3-exact", 1, "total_iterations"),
                                                      pick("sr3-inexact", 1,
                                                           "total_iterations")),
              "weight": weight, "case_seconds": round(time.perf_counter() - started, 1)}
    return runs, memory, ratios


def _list(text: str, kind, allowed=None, flag: str = "") -> list:
    try:
        values = [kind(item) for item in text.split(",") if item.strip()]
    except ValueError:
        sys.exit(f"benchmark: {flag} must list {kind.__name__} values, got {text!r}")
    if not values or (allowed is not None and any(value not in allowed for value in values)):
        sys.exit(f"benchmark: {flag} must list values from {allowed}, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256", help="grid sides (128,256)")
    parser.add_argument("--ranks", default="1,2", help="rank counts of hpcinv's runs (1,2)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help=f"any of {','.join(METHODS)} (default all but admm)")
    parser.add_argument("--kappa", type=float, default=1.0, help="SR3's kappa, ADMM's rho (1)")
    parser.add_argument("--max-outer", type=int, default=20000)
    parser.add_argument("--max-inner", type=int, default=10000)
    parser.add_argument("--products", action="store_true",
                        help="only time the products with A, A^T, L, L^T per size and ranks")
    parser.add_argument("--worker", choices=METHODS + (PRODUCTS,), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--weight", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if not args.kappa > 0:
        sys.exit("benchmark: --kappa must be positive")
    sizes = _list(args.sizes, int, flag="--sizes")
    ranks_list = _list(args.ranks, int, flag="--ranks")
    methods = _list(args.methods, str, METHODS, "--methods")
    if "pyproximal" in methods:
        from hpcinv.apps.classic.pyproximal_peer import ensure_pyproximal

        ensure_pyproximal()   # once, before any timing
    if args.products:
        print(json.dumps({"product_milliseconds": {
            f"{n}/{ranks}": _run(PRODUCTS, n, ranks, args)["milliseconds"]
            for n in sizes for ranks in ranks_list}}, indent=1))
        return
    runs, memory, ratios = [], {}, {}
    for n in sizes:
        case_runs, case_memory, ratios[str(n)] = case(n, args, methods, ranks_list)
        runs += case_runs
        memory.update(case_memory)
    print(json.dumps({"kappa": args.kappa, "runs": runs, "ratios": ratios,
                      "peak_memory_mb_per_rank": memory}, indent=1))


if __name__ == "__main__":
    main()
