"""The Kaczmarz family on the galaxy mocks: PNKR with one equation per step (the exact
projection, no extrapolation: the demo's until block steps) against Nesterov extrapolation
with and without adaptive restart, blocks of equations averaged (Cimmino/SIRT; one block of
all equations is one simultaneous step per loop) and block Kaczmarz (the projection onto a
block), all in one run on the same ranks, so that their ratios are comparable on a noisy
machine.

Per variant: the stop (discrepancy at tau, ``--tau`` unless the variant names its own, or
the loop/second cap), loops, seconds, the relative residual against the data and against
the noise-free data (the paper's measure), the relative error against the truth at the
stop and its minimum, and the seconds each variant took to reach the first variant's final
error (``seconds_to_baseline_error``; null: never) with its ratio to the first variant's
seconds.  Prints JSON rows.

    mpirun -n 2 .venv/bin/python benchmarks/pnkr_variants.py [--mesh demo]
        [--mocks three-component,bulge-counter-disk] [--tau 2.2] [--max-loops 6000]
        [--max-seconds 60]
"""
from __future__ import annotations

import argparse
import json
import sys

# the path set-up, single-threaded BLAS, and the mocks' job
from galaxy_conditioning import mock_problem
import numpy as np

BASELINE = {"nesterov": False}
VARIANTS = {
    "pnkr (one equation per step, no extrapolation)": BASELINE,
    "nesterov": {"nesterov": True},
    "nesterov, adaptive restart": {"nesterov": True, "restart": True},
    "block 8, average": {"nesterov": False, "block": 8},
    "block 32, average": {"nesterov": False, "block": 32},
    "all equations, average (SIRT), omega 1.9": {"nesterov": False, "block": 10 ** 6,
                                                 "omega": 1.9},
    "all equations, average, Nesterov + restart": {"nesterov": True, "restart": True,
                                                    "block": 10 ** 6},
    "block 8, projection": {"nesterov": False, "block": 8, "block_update": "projection"},
    "block 32, projection": {"nesterov": False, "block": 32, "block_update": "projection"},
    "block 32, projection, Nesterov + restart": {"nesterov": True, "restart": True,
                                                 "block": 32, "block_update": "projection"},
    "block 32, projection, cutoff 1e-2": {"nesterov": False, "block": 32,
                                          "block_update": "projection", "block_cutoff": 1e-2},
    "block 32, projection, cutoff 1e-4": {"nesterov": False, "block": 32,
                                          "block_update": "projection", "block_cutoff": 1e-4},
    "block 128, projection": {"nesterov": False, "block": 128, "block_update": "projection"},
    "block 32, projection, tau 1.5 (the demo's)": {"nesterov": False, "block": 32,
                                                   "block_update": "projection", "tau": 1.5},
    "all equations, projection": {"nesterov": False, "block": 10 ** 6,
                                  "block_update": "projection"},
}


def run_variant(problem, options: dict, tau: float, max_loops: int, max_seconds: float):
    from hpcinv.solvers import IterationControl
    from hpcinv.solvers.kaczmarz.pnkr import PNKR

    options = dict(options)                 # a variant may name its own tau
    method = PNKR(problem.operator, problem.data, problem.block_rows,
                  tau=options.pop("tau", tau), truth=problem.truth, max_iterations=max_loops,
                  **options)
    comm = problem.operator.comm
    control = IterationControl(comm, truth=problem.truth, max_iterations=max_loops,
                               wall_time=max_seconds)
    state = method.initial_state()
    reason = method.solve(state, control)
    history = state.history.arrays()
    return reason, history, method.residual_scale()


def first_time_within(history: dict, error: float):
    hits = np.flatnonzero(history["relative_error"] <= error)
    return float(history["seconds"][hits[0]]) if hits.size else None


def measure(mesh: str, mock: str, tau: float, max_loops: int, max_seconds: float) -> list:
    from hpcinv.core.petsc_env import initialize

    comm = initialize().COMM_WORLD
    problem = mock_problem(comm, mesh, 0.01, mock)
    rows, baseline = [], None
    for name, options in VARIANTS.items():
        reason, history, scale = run_variant(problem, options, tau, max_loops, max_seconds)
        errors = history["relative_error"]
        row = {"mesh": mesh, "mock": mock, "variant": name, "options": options,
               "stop": reason, "loops": int(history["iteration"][-1]),
               "seconds": round(float(history["seconds"][-1]), 2),
               "relative_residual": float(history["residual_norm"][-1] / scale),
               "noise_free_residual": float(history["noise_free_residual"][-1]),
               "relative_error": float(errors[-1]),
               "min_relative_error": float(errors.min()),
               "min_error_loop": int(history["iteration"][int(np.argmin(errors))])}
        if baseline is None:
            baseline = row
        reached = first_time_within(history, baseline["relative_error"])
        row["seconds_to_baseline_error"] = None if reached is None else round(reached, 2)
        row["time_ratio_to_baseline"] = None if reached is None else \
            round(reached / max(baseline["seconds"], 1e-9), 3)
        rows.append(row)
        if comm.rank == 0:
            print(f"benchmark: {mock}: {name}: {row['stop']} after {row['loops']} loops, "
                  f"{row['seconds']} s, error {row['relative_error']:.4f}", file=sys.stderr,
                  flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="demo")
    parser.add_argument("--mocks", default="three-component,bulge-counter-disk")
    parser.add_argument("--tau", type=float, default=2.2)
    parser.add_argument("--max-loops", type=int, default=6000)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    rows = [row for mock in args.mocks.split(",")
            for row in measure(args.mesh, mock, args.tau, args.max_loops, args.max_seconds)]
    from mpi4py import MPI
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
