"""Seismic redatuming (Luiken's thesis, ch. 5): MDD of g under causality and reciprocity in
the three formulations of ``hpcinv.solvers.constrained`` (preconditioned LSQR, penalty LSQR
with rho = 1, KKT MINRES), on 1 and 2 ranks, on the thesis-size survey (151 receivers, 512
samples; 151 sources 1:1 and 38 sources 1:4).  Prints one JSON object last.

    .venv/bin/python benchmarks/redatuming.py [--mesh thesis-1x1] [--mesh-1x4 thesis-1x4]
        [--repeats 5] [--timed-iterations 10] [--max-iterations 100] [--noise-level 0.05]

``--mesh small --mesh-1x4 none`` is a run of about a minute.  Data: the ``mdd`` problem's
layered medium (thesis Example 5.2.1) with --noise-level band-limited noise, bins up to 3 x
the mesh's Ricker peak.  Constraints: reciprocity and causality with onsets at the direct
arrival between the two receivers in the datum's layer (c1 = 1800 m/s), taken 1 / peak
frequency early (half a Ricker wavelet's length, so that its first half is not cut).

* seconds_per_iteration: the median of the iteration times after the first (from the
  run's history) of a run of exactly --timed-iterations iterations without the truth, the
  slowest rank's: the first iteration holds the set-up (MINRES's work vectors on [g; mu]),
  and first touching new memory costs about 10 ms/MB on this machine.
* iterations_to_optimum: the iteration of least relative error ||g - g_true|| / ||g_true||
  of a run with the truth up to --max-iterations on 1 rank (semiconvergence); the 2-rank row
  reuses that count, and its error_at_optimum is that of its own run of that many.
* seconds_to_optimum: a run of exactly iterations_to_optimum, the least of --repeats.
* Timed is the solver's ``run`` only: not building the problem, the projector or the
  solver object.  Every timing is the slowest rank's; a run over 10 s is timed once
  (``reproduce_luiken_ch4.least_time``).
* peak_memory_mb_per_rank: resource.getrusage maxrss of each rank, a separate process per
  (mesh, formulation, ranks), so the formulations' extra vectors show.
* speedup_2_over_1: seconds per iteration on 1 rank over those on 2 ranks.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOLVERS = ("preconditioned", "penalty", "kkt")
PENALTY_RHO = 1.0
RANKS = (1, 2)
SEED = 0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _ratio_label(mesh) -> str:
    return f"1:{mesh.source_step}"


def _redatuming_setup(comm, mesh_path: str, noise_level: float):
    """(problem, P): the layered problem and the projector onto causal, reciprocal g."""
    from hpcinv.apps.seismic.layered import THESIS_VELOCITIES
    from hpcinv.apps.seismic.mesh import load_seismic_mesh
    from hpcinv.apps.seismic.problem import mdd_problem
    from hpcinv.operators.wavefield_constraints import (ConstraintProjection,
                                                        direct_arrival_onsets)

    mesh = load_seismic_mesh(mesh_path)
    problem = mdd_problem(comm, data="layered", mesh=mesh_path, noise_level=noise_level,
                          max_frequency=3.0 * mesh.peak_frequency, seed=SEED)
    operator = problem.operator
    datum_velocity = THESIS_VELOCITIES[1]
    onsets = direct_arrival_onsets(operator.domain_transform.n_a, operator.dr, operator.dt,
                                   datum_velocity, margin=1.0 / mesh.peak_frequency)
    projection = ConstraintProjection(operator.domain_transform, onsets=onsets,
                                      reciprocity=True)
    return problem, projection


def _solver(name: str, problem, projection, iterations: int):
    """The formulation with no discrepancy stop, so that it runs ``iterations``."""
    from hpcinv.solvers.constrained import FORMULATIONS

    weights = {"rho": PENALTY_RHO} if name == "penalty" else {}
    return FORMULATIONS[name](problem.operator, problem.data, projection, noise_norm=0.0,
                              max_iterations=iterations, **weights)


def _relative_error(estimate, truth) -> float:
    difference = estimate.copy()
    difference.axpy(-1.0, truth)
    return difference.norm() / truth.norm()


def _seconds_per_iteration(result) -> float:
    """The median wall time of one iteration after the first, from the run's history (the
    first holds the set-up: a KSP's work vectors, whose first touch of new memory is slow on
    some virtual machines and would swamp a short run's mean)."""
    import numpy as np

    steps = np.diff(np.asarray(result.history["seconds"], dtype=float))[1:]
    return float(np.median(steps)) if steps.size else float("nan")



def _worker(args) -> None:
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import least_time
    from hpcinv.core.mpi import global_max

    comm = PETSc.COMM_WORLD
    mpi = comm.tompi4py()
    problem, projection = _redatuming_setup(comm, args.mesh_path, args.noise_level)

    def timed_run(iterations: int):
        """(the last run's result, its least seconds); each run starts from g = 0."""
        solver = _solver(args.worker, problem, projection, iterations)
        return least_time(solver.run, args.repeats, mpi)

    timed, _ = timed_run(args.timed_iterations)
    row = {"seconds_per_iteration": global_max(mpi, _seconds_per_iteration(timed)),
           "timed_iterations": timed.iterations}
    if args.optimum_iterations:
        optimum = args.optimum_iterations
    else:
        search = _solver(args.worker, problem, projection, args.max_iterations)
        optimum = search.run(truth=problem.truth).semiconvergence_iteration
    row["iterations_to_optimum"] = optimum
    if optimum == 0:    # the zero start is the best: nothing to time
        row.update(seconds_to_optimum=0.0, error_at_optimum=1.0)
    else:
        result, row["seconds_to_optimum"] = timed_run(optimum)
        row["error_at_optimum"] = _relative_error(result.x, problem.truth)
    row["peak_memory_mb"] = mpi.gather(_peak_mb(), root=0)
    if mpi.rank == 0:
        print(json.dumps(row))


def _run_worker(solver: str, mesh_path: str, ranks: int, args, optimum: int = 0) -> dict:
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--worker", solver, "--mesh-path", mesh_path,
               "--repeats", str(args.repeats), "--timed-iterations",
               str(args.timed_iterations), "--max-iterations", str(args.max_iterations),
               "--noise-level", str(args.noise_level), "--optimum-iterations", str(optimum)]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks), *command]
    print(f"benchmark: {solver} on {ranks} rank(s), {Path(mesh_path).name}", file=sys.stderr,
          flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"benchmark: {solver} on {ranks} rank(s) failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def case(mesh_path: str, args) -> tuple[list, dict, dict]:
    """(rows, peak memory per rank, speedups) of one survey."""
    from hpcinv.apps.seismic.mesh import load_seismic_mesh

    ratio = _ratio_label(load_seismic_mesh(mesh_path))
    rows, memory, speedup = [], {}, {}
    for solver in SOLVERS:
        optimum, per_iteration = 0, {}
        for ranks in RANKS:
            row = _run_worker(solver, mesh_path, ranks, args, optimum)
            optimum = row["iterations_to_optimum"]
            memory[f"{solver}/{ratio}/{ranks}"] = row.pop("peak_memory_mb")
            per_iteration[ranks] = row["seconds_per_iteration"]
            rows.append({"solver": solver, "ratio": ratio, "ranks": ranks, **row})
        speedup[f"{solver}/{ratio}"] = round(per_iteration[1] / per_iteration[2], 2)
    return rows, memory, speedup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="thesis-1x1", help="the 1:1 survey (thesis-1x1)")
    parser.add_argument("--mesh-1x4", default="thesis-1x4",
                        help="the 1:4 survey (thesis-1x4; none to skip)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the least counts")
    parser.add_argument("--timed-iterations", type=int, default=10,
                        help="iterations of the runs timed for seconds per iteration")
    parser.add_argument("--max-iterations", type=int, default=100,
                        help="search limit of the iteration of least error")
    parser.add_argument("--noise-level", type=float, default=0.05,
                        help="relative noise ||e|| / ||p|| of the data")
    parser.add_argument("--worker", choices=SOLVERS, help=argparse.SUPPRESS)
    parser.add_argument("--mesh-path", help=argparse.SUPPRESS)
    parser.add_argument("--optimum-iterations", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("repeats", "timed_iterations", "max_iterations"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 <= args.noise_level < 1:
        parser.error("--noise-level must be in [0, 1)")
    if args.worker:
        _worker(args)
        return
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import resolve_mesh

    meshes = [args.mesh] + ([args.mesh_1x4] if args.mesh_1x4 != "none" else [])
    report = {"repeats": args.repeats, "timed_iterations": args.timed_iterations,
              "max_iterations": args.max_iterations, "noise_level": args.noise_level,
              "meshes": meshes, "runs": [], "peak_memory_mb_per_rank": {},
              "speedup_2_over_1": {}}
    for mesh in meshes:
        rows, memory, speedup = case(resolve_mesh(mesh), args)
        report["runs"] += rows
        report["peak_memory_mb_per_rank"].update(memory)
        report["speedup_2_over_1"].update(speedup)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
