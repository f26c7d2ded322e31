"""PNKR cost per loop on a galaxy mesh (default ``paper``), for s = 0 and s = 1 on 1 and 2
ranks; the same against a straightforward implementation of the paper's eq. (4.27) with
dense Psi^-1 and Phi^-1 on a mesh where a whole loop of it fits, and on ``--mesh`` from a
few of its steps extrapolated to a loop (``--dense-steps``); bytes moved per loop against a
measured memory bandwidth; peak memory per rank; one s = 1 loop of the ``large`` mesh on 2
ranks.
Prints JSON.

    .venv/bin/python benchmarks/pnkr.py [--mesh paper] [--loops 2] [--dense-mesh demo]
                                        [--dense-steps 3] [--large-mesh large]

Loops run on noise-free data from u = 0, so every equation is updated (no skips): the
full cost of a loop.  Seconds per loop count the sweeps only, not the per-loop residual.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hpcinv  # noqa: E402,F401 - sets single-threaded BLAS before numpy loads
import numpy as np  # noqa: E402

JOB = """
[problem]
kind = "galaxy"
mesh = "meshes/galaxy/{mesh}.toml"
order = {order}
beta = 0.01
noise_level = 0.0
[solver]
kind = "pnkr"
step = "{step}"
nesterov = true
"""
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}


def _build(mesh: str, order: int, step: str = "projection"):
    from helpers import build_job
    from hpcinv.core.petsc_env import initialize

    petsc = initialize()
    return build_job(petsc.COMM_WORLD, JOB.format(mesh=mesh, order=order, step=step))


def stream_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Bytes per second of a = b + s c (two reads, one write) on arrays far beyond cache."""
    count = megabytes * 2 ** 20 // 8
    a, b, c = np.ones(count), np.ones(count), np.ones(count)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.multiply(c, 0.5, out=a)
        np.add(a, b, out=a)        # numpy needs two passes: 5 array transfers in all
        best = min(best, time.perf_counter() - start)
    return 5 * a.nbytes / best


def worker(mesh: str, order: int, loops: int) -> None:
    """Run under mpirun; rank 0 prints one JSON line."""
    from mpi4py import MPI

    _, problem, solver = _build(mesh, order)
    mpi = solver.mpi
    state = solver.initial_state()
    rng = np.random.default_rng(0)
    solver._loop(state, rng)                  # compiles the kernel, warms the caches
    state.iteration += 1
    mpi.Barrier()
    start = time.perf_counter()
    updated = 0
    for _ in range(loops):
        updated += solver._loop(state, rng)
        state.iteration += 1
    mpi.Barrier()
    seconds = (time.perf_counter() - start) / loops
    blocks = solver.blocks
    array_bytes = blocks.local_rows * blocks.theta_size * 8
    # an updated step reads U_k, U_{k-1} and writes U_{k+1}
    moved = mpi.allreduce(3 * array_bytes * updated / loops)
    # before the bandwidth probe, whose three 256 MB arrays would count as PNKR's memory
    peak = mpi.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                         op=MPI.MAX)
    mpi.Barrier()
    bandwidth = mpi.allreduce(stream_bandwidth())   # all ranks at once: the shared bound
    if mpi.rank == 0:
        print(json.dumps({"seconds_per_loop": seconds, "bytes_per_loop": moved,
                          "bandwidth": bandwidth, "peak_memory_mb_per_rank": peak,
                          "unknowns": problem.operator.shape[1],
                          "equations_updated": updated / loops}))


def dense_reference(mesh: str, loops: int, steps: int | None = None) -> dict:
    """The paper's step (4.27) with dense M^-1 = Psi^-1 (x) Phi^-1 (constant step, s = 1),
    against hpcinv's rank-one constant step on the same mesh, 1 rank.  With ``steps``, the
    dense method runs only that many equations and its loop is extrapolated from them
    (``extrapolated_from_steps``): on the paper mesh one dense loop takes minutes."""
    _, problem, solver = _build(mesh, 1, step="constant")
    blocks = solver.blocks
    psi_inverse = np.linalg.inv(blocks.spatial_metric.toarray())
    phi_inverse = np.linalg.inv(blocks.theta_metric.toarray())
    gram = blocks.data_gram.toarray()
    kernel, cube = blocks.kernel, solver.operator.rows(problem.data, blocks.equations)
    u = np.zeros((blocks.spatial_size, blocks.theta_size))
    omega = solver.omega
    order = np.random.default_rng(0).permutation(blocks.equations)
    equations = order[:steps] if steps else np.tile(order, loops)
    start = time.perf_counter()
    for r in equations:
        g = cube[:, r] - u @ kernel[r]                       # N^-1 (w_r - H_r u)
        gradient = np.outer(gram @ g, kernel[r])             # H_r^T g as an N x L array
        u = np.maximum(u + omega * psi_inverse @ gradient @ phi_inverse, 0)
    dense = (time.perf_counter() - start) / len(equations) * blocks.equations
    state = solver.initial_state()
    rng = np.random.default_rng(0)
    solver._loop(state, rng)
    start = time.perf_counter()
    for _ in range(loops):
        solver._loop(state, rng)
    ours = (time.perf_counter() - start) / loops
    return {"mesh": mesh, "seconds_per_loop": dense, "hpcinv_seconds_per_loop": ours,
            "ratio": dense / ours, "equations_per_loop": blocks.equations,
            **({"extrapolated_from_steps": steps} if steps else {})}


def _run_worker(mesh: str, order: int, ranks: int, loops: int) -> dict:
    command = [sys.executable, __file__, "--worker", "--mesh", mesh, "--order", str(order),
               "--loops", str(loops)]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks)] + command
    done = subprocess.run(command, env=dict(os.environ, **MPI_ENV), cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesh", default="paper")
    parser.add_argument("--dense-mesh", default="demo")
    parser.add_argument("--dense-steps", type=int, default=3,
                        help="equations of the dense step timed on --mesh, extrapolated to "
                             "a loop (0: skip)")
    parser.add_argument("--large-mesh", default="large",
                        help="also run s = 1 on this mesh on 2 ranks ('' to skip)")
    parser.add_argument("--loops", type=int, default=2)
    parser.add_argument("--order", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.mesh, args.order, args.loops)
        return
    runs = {(order, ranks): _run_worker(args.mesh, order, ranks, args.loops)
            for order in (0, 1) for ranks in (1, 2)}
    best = runs[(1, 2)]
    report = {
        "mesh": args.mesh,
        "unknowns": {f"s{order}": runs[(order, 1)]["unknowns"] for order in (0, 1)},
        "seconds_per_loop": {f"s{order}": {str(ranks): round(runs[(order, ranks)]
                                                             ["seconds_per_loop"], 3)
                                           for ranks in (1, 2)} for order in (0, 1)},
        "s1_over_s0": {str(ranks): round(runs[(1, ranks)]["seconds_per_loop"]
                                         / runs[(0, ranks)]["seconds_per_loop"], 3)
                       for ranks in (1, 2)},
        "speedup_2_ranks": {f"s{order}": round(runs[(order, 1)]["seconds_per_loop"]
                                               / runs[(order, 2)]["seconds_per_loop"], 3)
                            for order in (0, 1)},
        "dense_reference": {key: round(value, 3) if isinstance(value, float) else value
                            for key, value in dense_reference(args.dense_mesh,
                                                              args.loops).items()},
        **({"dense_reference_extrapolated": {
            key: round(value, 3) if isinstance(value, float) else value
            for key, value in dense_reference(args.mesh, 1, args.dense_steps).items()}}
           if args.dense_steps else {}),
        "bytes_per_loop_s1": best["bytes_per_loop"],
        "measured_bandwidth_gb_s_2_ranks": round(best["bandwidth"] / 1e9, 2),
        "bandwidth_fraction": round(best["bytes_per_loop"] / best["seconds_per_loop"]
                                    / best["bandwidth"], 3),
        "peak_memory_mb_per_rank": round(max(run["peak_memory_mb_per_rank"]
                                             for run in runs.values()), 1),
    }
    if args.large_mesh:
        large = _run_worker(args.large_mesh, 1, 2, 1)
        report["large_mesh"] = {"mesh": args.large_mesh, "ranks": 2,
                                "unknowns": large["unknowns"],
                                "seconds_per_loop": round(large["seconds_per_loop"], 3),
                                "peak_memory_mb_per_rank":
                                    round(large["peak_memory_mb_per_rank"], 1)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
