"""Seconds of SR3 and its baselines on total-variation tomography (Luiken's thesis, ch. 6.5):
hpcinv's inexact SR3 (Algorithm 8), exact SR3 (LSQR to 1e-6 each outer step) and ADMM on 1
and 2 ranks, and PyProximal's SR3 (serial), at 128 x 128 and 256 x 256.  Prints one JSON
object last.

    .venv/bin/python benchmarks/sr3.py [--sizes 128,256] [--ranks 1,2] [--kappa 1]
        [--methods sr3-inexact,sr3-exact,admm,pyproximal] [--max-outer 20000]

``--sizes 32`` is a run of under a minute.  The problem: parallel-beam CT of the Shepp-Logan
phantom, 18 angles in [0, 180), no noise, L = [I (x) D; D (x) I] (the ``luiken-ch6``
reproduction's tomography).  PyProximal's SR3 offers only the penalised form
min 1/2 ||A x - b||^2 + lambda ||L x||_1, so every method solves that one, at the lambda whose
SR3 fixed point is the constrained one at the oracle tau = ||L x_true||_1: lambda = kappa
theta, theta the final projection threshold of an inexact constrained SR3 run on 1 rank
("weight"; its own seconds are not counted).  FISTA needs L = I and does not apply.

What is measured:

* seconds: ``method.run()`` only (PyProximal: its ``SR3`` call), the slowest rank's, not the
  problem's build; every method stops by its own rule at the same apg tolerance 1e-6 on
  ||v - w|| / max(1, ||w||) (fixed in PyProximal), so the seconds are to the same objective
  accuracy, which ``objective_gap`` checks: |f - f_best| / f_best against the least SR3
  objective at that size (ADMM minimises the original objective instead, not compared).
* total_iterations: LSQR steps summed over the outer iterations (PyProximal's counted by
  ``hpcinv.apps.classic.pyproximal_peer``); outer_iterations beside them.
* peak_memory_mb_per_rank: getrusage maxrss of each rank, keyed "n/method/ranks"; each run
  is a process of its own (problem and imports included).
* ratios: PyProximal's seconds over hpcinv's inexact SR3 on 1 rank (target >= 3 at 128),
  inexact SR3's 1-rank over 2-rank seconds (target >= 1.6), exact over inexact LSQR steps.
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

HPCINV_METHODS = ("sr3-inexact", "sr3-exact", "admm")
METHODS = HPCINV_METHODS + ("pyproximal",)
ORACLE = "oracle"


def _worker(args) -> None:
    from hpcinv.core.mpi import global_max
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    mpi = PETSc.COMM_WORLD.tompi4py()
    from hpcinv.apps.classic.luiken_ch6_study import (Setting, admm_row, build_problem,
                                                      pyproximal_row, sr3_row)

    limits = {"max_outer": args.max_outer, "max_inner": args.max_inner}
    if args.worker == "pyproximal":
        row = pyproximal_row("tomography", args.n, args.kappa, args.weight, **limits)
    else:
        setting = Setting("tomography", build_problem(PETSc.COMM_WORLD, "tomography", args.n))
        mpi.Barrier()
        if args.worker == ORACLE:
            row = sr3_row(setting, args.kappa, inexact=True, **limits)
            row["weight"] = args.kappa * row["threshold"]
        elif args.worker == "admm":
            row = admm_row(setting, args.kappa, weight=args.weight, **limits)
        else:
            row = sr3_row(setting, args.kappa, inexact=args.worker == "sr3-inexact",
                          weight=args.weight, **limits)
        row["seconds"] = global_max(mpi, row["seconds"])
    row["peak_memory_mb"] = mpi.gather(round(peak_mb(), 1), root=0)
    if mpi.rank == 0:
        print(json.dumps(row))


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
    oracle = _run(ORACLE, n, 1, args)
    weight = oracle["weight"]
    runs, memory = [], {}
    for method in methods:
        for ranks in ([1] if method == "pyproximal" else ranks_list):
            row = _run(method, n, ranks, args, weight)
            memory[f"{n}/{method}/{ranks}"] = row.pop("peak_memory_mb")
            runs.append({"problem": "tomography", "n": n, "method": method, "ranks": ranks,
                         "seconds": round(row["seconds"], 3), "total_iterations": row["total"],
                         "outer_iterations": row["outer"], "objective": row["objective"],
                         "relative_error": row["relative_error"], "reason": row["reason"]})
    relaxed = [run for run in runs if run["method"] != "admm"]
    best = min(run["objective"] for run in relaxed) if relaxed else None
    for run in relaxed:
        run["objective_gap"] = abs(run["objective"] - best) / best if best else None

    def pick(method, ranks, key):
        return next((run[key] for run in runs if run["method"] == method
                     and run["ranks"] == ranks), None)

    ratios = {"pyproximal_over_inexact_1_rank": _ratio(pick("pyproximal", 1, "seconds"),
                                                       pick("sr3-inexact", 1, "seconds")),
              "inexact_1_over_2_ranks": _ratio(pick("sr3-inexact", 1, "seconds"),
                                               pick("sr3-inexact", 2, "seconds")),
              "exact_over_inexact_lsqr_steps": _ratio(pick("sr3-exact", 1, "total_iterations"),
                                                      pick("sr3-inexact", 1,
                                                           "total_iterations")),
              "weight": weight, "oracle_seconds": round(oracle["seconds"], 3),
              "case_seconds": round(time.perf_counter() - started, 1)}
    return runs, memory, ratios


def _list(text: str, kind, allowed=None, flag: str = "") -> list:
    values = [kind(item) for item in text.split(",") if item.strip()]
    if not values or (allowed is not None and any(value not in allowed for value in values)):
        sys.exit(f"benchmark: {flag} must list values from {allowed}, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256", help="grid sides (128,256)")
    parser.add_argument("--ranks", default="1,2", help="rank counts of hpcinv's runs (1,2)")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"any of {','.join(METHODS)} (default all)")
    parser.add_argument("--kappa", type=float, default=1.0, help="SR3's kappa, ADMM's rho (1)")
    parser.add_argument("--max-outer", type=int, default=20000)
    parser.add_argument("--max-inner", type=int, default=10000)
    parser.add_argument("--worker", choices=METHODS + (ORACLE,), help=argparse.SUPPRESS)
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
    runs, memory, ratios = [], {}, {}
    for n in sizes:
        case_runs, case_memory, ratios[str(n)] = case(n, args, methods, ranks_list)
        runs += case_runs
        memory.update(case_memory)
    print(json.dumps({"kappa": args.kappa, "runs": runs, "ratios": ratios,
                      "peak_memory_mb_per_rank": memory}, indent=1))


if __name__ == "__main__":
    main()
