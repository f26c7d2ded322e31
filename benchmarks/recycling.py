"""Seconds per iteration of augmented vs plain steepest descent, and the one-off cost of the
recycle space, on 1 and 2 ranks.  Prints JSON.

    .venv/bin/python benchmarks/recycling.py [--ranks 1 2] [--ks 37 198] [--iterations 100]
        [--problems ao blur]

Problems: ``ao`` is the 257^2 AO deconvolution (periodic FFT convolution; 257 is prime, so
each product is FFTW's slower prime-size path), ``blur`` the 500^2 Gaussian blur with
reflective boundaries (DCT).  Recycle spaces: for ``ao`` the k leading eigenvectors of the
PSF_0 operator as exact Fourier modes applied in the spectrum (``fourier-spectral``; only
for a k that takes whole cosine-sine pairs), as the same modes stored as vectors
(``fourier``) and by SLEPc EPS (complex pairs dropped, like the paper's ``eigs``); for
``blur`` the k leading eigenvectors of T^T T by SLEPc.
``build_seconds`` is the eigenvectors plus the thin QR T U = C R; ``seconds_per_iteration``
is the least of --repeats runs of --iterations steps (no truth, no residual check: the
method's own cost), and ``ratio`` divides it by plain SD's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _worker(args) -> None:
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    from mpi4py import MPI

    from hpcinv.linalg.operator import NormalOperator
    from hpcinv.apps.imaging import ao_problem, gaussian_blur_problem
    from hpcinv.solvers.framework.stopping import FixedIterations
    from hpcinv.solvers.recycling.augmented import AugmentedSteepestDescent
    from hpcinv.linalg.decompositions.eigen import eigenvectors
    from hpcinv.solvers.recycling.sources import fourier_space, reference_eigen_space
    from hpcinv.solvers.recycling.space import RecycleSpace

    comm = PETSc.COMM_WORLD
    rows = []

    def per_iteration(problem, space) -> float:
        best = float("inf")
        for _ in range(args.repeats):
            comm.barrier()
            started = time.perf_counter()
            AugmentedSteepestDescent(problem.operator, problem.data, space,
                                     max_iterations=args.iterations, stopping=FixedIterations(),
                                     defer_recycled_update=True).run()
            best = min(best, (time.perf_counter() - started) / args.iterations)
        return comm.tompi4py().allreduce(best, op=MPI.MAX)

    for name in args.problems:
        problem = (ao_problem(comm) if name == "ao" else gaussian_blur_problem(comm))
        plain = per_iteration(problem, RecycleSpace(problem.operator, []))
        rows.append({"problem": name, "n": problem.grid_shape[0], "ranks": comm.size, "k": 0,
                     "source": "none", "build_seconds": 0.0, "seconds_per_iteration": plain,
                     "ratio": 1.0})
        sources = ["fourier-spectral", "fourier", "slepc"] if name == "ao" else ["slepc"]
        for k in args.ks:
            for source in sources:
                comm.barrier()
                started = time.perf_counter()
                if source == "fourier-spectral":
                    space = fourier_space(problem, k)
                    if space is None:
                        continue            # k splits a cosine-sine pair
                elif name == "ao":
                    space = reference_eigen_space(problem, k, source, spectral=False)
                else:
                    space = RecycleSpace(problem.operator, eigenvectors(
                        NormalOperator(problem.operator), k, symmetric=True))
                build = time.perf_counter() - started
                seconds = per_iteration(problem, space)
                rows.append({"problem": name, "n": problem.grid_shape[0], "ranks": comm.size,
                             "k": space.k, "source": source, "build_seconds": round(build, 3),
                             "seconds_per_iteration": seconds, "ratio": seconds / plain})
                del space
    if comm.rank == 0:
        print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ks", type=int, nargs="+", default=[37, 198])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", nargs="+", default=["ao", "blur"], choices=("ao", "blur"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}
    worker = [sys.executable, __file__, "--worker", "--ks", *map(str, args.ks), "--iterations",
              str(args.iterations), "--repeats", str(args.repeats), "--problems", *args.problems]
    rows = []
    for ranks in args.ranks:
        command = worker if ranks == 1 else ["mpirun", "--oversubscribe", "-n", str(ranks),
                                             *worker]
        print(f"benchmark: {ranks} rank(s)", file=sys.stderr, flush=True)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"benchmark on {ranks} rank(s) failed:\n{result.stderr}")
        rows += json.loads(result.stdout.strip().splitlines()[-1])
    for row in rows:
        row["seconds_per_iteration"] = round(row["seconds_per_iteration"], 5)
        row["ratio"] = round(row["ratio"], 3)
    print(json.dumps({"iterations": args.iterations, "repeats": args.repeats, "rows": rows},
                     indent=1))


if __name__ == "__main__":
    main()
