"""Products with A and A^T, and seconds, to choose Tikhonov's lambda: (a) the exact full SVD
where feasible, (b) Lanczos bounds, (c) the adaptive randomized SVD, on 1 and 2 ranks (each a
``hpcinv run`` of the ``tikhonov`` kind), and (d) scikit-learn's ``randomized_svd`` at the
rank (c) reached, as a serial peer (no power iterations, oversampling 10, like (c)).
Prints JSON.

    .venv/bin/python benchmarks/paramchoice.py [--gravity 1000 4000 16000]
        [--deblurring 256 512] [--ranks 1 2] [--rule dp] [--exact-limit 4000]
    .venv/bin/python benchmarks/paramchoice.py --rsvd-speed [--gravity 4000 16000]
        [--ranks 1 2] [--blocks 1 16] [--repeat 3]

Problems: gravity (depth 0.25, 1% noise; range-finder tolerance 1e-3) and 2-D Gaussian
deblurring (a blur of 3 pixels' standard deviation on the unit square, 1% noise; tolerance
1e-2).  The blur's spectrum decays slowly (a mildly ill-posed problem), so the range finder
does not compress it: it stops at its rank cap of --max-rank columns (``compressed`` false),
like the thesis' tomography.  The default rule is the discrepancy principle, which the
Lanczos bounds settle in the fewest steps on both problems.  ``seconds`` is the choice of
lambda and the solution (``solver_results.method_seconds``), without building the problem.

``--rsvd-speed`` times the decomposition alone on gravity: hpcinv's adaptive RSVD
(``randomized_svd``, tolerance 1e-3) for each ``--blocks`` size (1: Halko's one-vector
Alg. 4.2) on each rank count, against scikit-learn's ``randomized_svd`` at each rank reached
(serial, oversampling 10, no power iterations), best of ``--repeat`` runs, one BLAS thread
per process; ``error`` is ||A - U S V^T||_2 (20 power iterations from one start vector for
both).  Its ``ratios`` are hpcinv's seconds over scikit-learn's at the same rank and over
hpcinv's own on 1 rank.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hpcinv.core.io.results import read_summary  # noqa: E402
from workers import run_worker  # noqa: E402 - after the path set-up
from hpcinv.linalg.decompositions.rsvd import DEFAULT_BLOCK  # noqa: E402

GRAVITY_EPSILON = 1e-3   # the range-finder tolerance on gravity

GRAVITY = """
[problem]
kind = "gravity"
n = {size}
noise_level = 0.01
"""

DEBLURRING = """
[problem]
kind = "deconvolution"
mesh = "{mesh}"
sigma = {sigma}
noise_level = 0.01
"""

SOLVER = """
[solver]
kind = "tikhonov"
rule = "{rule}"
method = "{method}"
epsilon = {epsilon}
max_iterations = {max_rank}
[output]
path = "{output}"
store_data = false
"""


def run_job(problem_text: str, method: str, epsilon: float, ranks: int, workdir: Path,
            args) -> dict:
    output = workdir / f"{method}-{ranks}.h5"
    job = workdir / f"{method}-{ranks}.toml"
    job.write_text(problem_text + SOLVER.format(method=method, epsilon=epsilon, output=output,
                                                rule=args.rule, max_rank=args.max_rank))
    command = [sys.executable, "-m", "hpcinv", "run", str(job), "--quiet", "--overwrite"]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks)] + command
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")
    subprocess.run(command, check=True, env=env, cwd=ROOT, capture_output=True)
    results = read_summary(str(output))["solver_results"]
    output.unlink()
    row = {"method": method, "ranks": ranks, "lambda": results["lambda"],
           "matvecs": results.get("matvecs", 0),
           "rank_or_steps": results.get("rank", results.get("steps")),
           "seconds": round(results["method_seconds"], 3)}
    if method == "rsvd":
        row["compressed"] = results["compressed"]
    return row


def sklearn_peer(matrix, data, noise_norm: float, rank: int, rule: str) -> dict:
    """scikit-learn's randomized_svd at our RSVD's rank, the rule on its factors."""
    import numpy as np
    from sklearn.utils.extmath import randomized_svd

    from hpcinv.solvers.tikhonov.paramchoice import SpectralModel, choose_lambda

    started = time.perf_counter()
    left, singular, _ = randomized_svd(matrix, n_components=rank, n_oversamples=10, n_iter=0,
                                       random_state=0)
    lam = choose_lambda(SpectralModel(singular, left.T @ data, float(data @ data),
                                      matrix.shape[0]), rule, noise_norm=noise_norm)
    seconds = time.perf_counter() - started
    # Halko's range finder and the projection: (rank + 10) products with A and as many with A^T.
    return {"method": "sklearn_randomized_svd", "ranks": 1, "lambda": lam,
            "matvecs": 2 * (rank + 10), "rank_or_steps": rank, "seconds": round(seconds, 3),
            "note": f"numpy {np.__version__}, serial BLAS"}


def serial_problem(problem_text: str):
    """(matrix, data, noise norm) on one process for the peer: the job's own."""
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    import scipy.sparse as sp

    from hpcinv.core.jobspec import PROBLEMS, parse_spec

    spec = parse_spec(problem_text + '[solver]\nkind = "cgls"\n')
    kind = PROBLEMS.get(spec.problem["kind"], "problem.kind")
    problem = kind.build(kind.prepare(spec.problem), PETSc.COMM_SELF)
    mat = problem.operator.as_petsc_mat()
    if mat.getType().endswith("dense"):
        matrix = mat.getDenseArray().copy()
    else:
        indptr, indices, values = mat.getValuesCSR()
        matrix = sp.csr_matrix((values, indices, indptr), shape=mat.getSize())
    return matrix, problem.data.getArray().copy(), problem.noise_norm


def _svd_error(operator, svd, iterations: int = 20) -> float:
    """||A - U diag(s) V^T||_2 from below, by power iteration on the distributed residual."""
    from hpcinv.linalg.random import fill_normal
    from hpcinv.linalg.vectors import combine_columns

    x, y = operator.create_vecs()
    fill_normal(x, 1)
    for _ in range(iterations):
        x.scale(1.0 / x.norm())
        operator.mult(x, y)
        y.axpy(-1.0, combine_columns(svd.U, svd.s * np.asarray(svd.V.dotVec(x))))
        operator.mult_transpose(y, x)
        x.axpy(-1.0, svd.combine(svd.s * svd.project(y)))
    return y.norm()


def _dense_svd_error(matrix, left, singular, right_t, iterations: int = 20) -> float:
    """The same for a dense matrix and numpy factors, from the same start vector."""
    from hpcinv.linalg.random import normal_slice

    x = normal_slice(1, 0, matrix.shape[1])
    for _ in range(iterations):
        x /= np.linalg.norm(x)
        y = matrix @ x - left @ (singular * (right_t @ x))
        x = matrix.T @ y - right_t.T @ (singular * (left.T @ y))
    return float(np.linalg.norm(y))


def _sklearn_speed(matrix, rank: int, repeat: int) -> dict:
    from sklearn.utils.extmath import randomized_svd

    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        left, singular, right_t = randomized_svd(matrix, n_components=rank, n_oversamples=10,
                                                 n_iter=0, random_state=0)
        seconds.append(time.perf_counter() - started)
    return {"rank": rank, "seconds": round(min(seconds), 4),
            "error": _dense_svd_error(matrix, left, singular, right_t)}


def speed_worker(args) -> None:
    """One rank count's --rsvd-speed timings (and, with --sklearn on 1 rank, the peer's),
    printed by rank 0 as one JSON line."""
    from mpi4py import MPI

    from hpcinv.apps.classic import gravity
    from hpcinv.core.petsc_env import initialize
    from hpcinv.linalg.decompositions.rsvd import randomized_svd

    PETSc = initialize()
    mpi = PETSc.COMM_WORLD.tompi4py()
    operator = gravity(PETSc.COMM_WORLD, n=args.size, noise_level=0.01).operator
    row = {"n": args.size, "ranks": mpi.size, "rsvd": []}
    for block in args.blocks:
        seconds = []
        for _ in range(args.repeat):
            mpi.Barrier()
            started = time.perf_counter()
            svd = randomized_svd(operator, epsilon=GRAVITY_EPSILON, max_rank=args.max_rank,
                                 block=block)
            seconds.append(mpi.allreduce(time.perf_counter() - started, op=MPI.MAX))
        row["rsvd"].append({"block": block, "rank": svd.rank, "matvecs": svd.matvecs,
                            "compressed": svd.compressed, "seconds": round(min(seconds), 4),
                            "error": _svd_error(operator, svd)})
    if args.sklearn:
        matrix = operator.as_petsc_mat().getDenseArray()   # 1 rank: the whole matrix
        row["sklearn"] = [_sklearn_speed(matrix, rank, args.repeat)
                          for rank in sorted({run["rank"] for run in row["rsvd"]})]
    if mpi.rank == 0:
        print(json.dumps(row))


def _ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator and denominator else None


def speed_comparison(args) -> dict:
    """--rsvd-speed: the workers' rows and hpcinv's seconds over scikit-learn's (same rank)
    and over its own on 1 rank."""
    rows, ratios = [], []
    for size in args.gravity:
        arguments = ["--rsvd-worker", "--size", size, "--max-rank", args.max_rank,
                     "--repeat", args.repeat, "--blocks", *args.blocks]
        runs = {ranks: run_worker(__file__, arguments + (["--sklearn"] if ranks == 1 else []),
                                  ranks, f"RSVD speed at n = {size}")
                for ranks in sorted({1, *args.ranks})}
        peers = {peer["rank"]: peer for peer in runs[1]["sklearn"]}
        for peer in peers.values():
            rows.append({"method": "sklearn_randomized_svd", "n": size, "ranks": 1, **peer})
        for ranks, run in runs.items():
            for timing, serial in zip(run["rsvd"], runs[1]["rsvd"]):
                rows.append({"method": "rsvd", "n": size, "ranks": ranks, **timing})
                peer = peers.get(timing["rank"], {})
                ratios.append({"n": size, "ranks": ranks, "block": timing["block"],
                               "rank": timing["rank"],
                               "seconds_over_sklearn": _ratio(timing["seconds"],
                                                              peer.get("seconds")),
                               "error_over_sklearn": _ratio(timing["error"], peer.get("error")),
                               "seconds_over_1_rank": _ratio(timing["seconds"],
                                                             serial["seconds"])})
    return {"mode": "rsvd-speed", "epsilon": GRAVITY_EPSILON, "cpu": os.cpu_count(),
            "blas_threads_per_process": 1, "rows": rows, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gravity", type=int, nargs="*",
                        help="sizes n (1000 4000 16000; with --rsvd-speed 4000 16000)")
    parser.add_argument("--deblurring", type=int, nargs="*", default=[256, 512])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--exact-limit", type=int, default=4000,
                        help="largest n for the exact SVD (dense LAPACK, O(n^3))")
    parser.add_argument("--no-peer", action="store_true", help="skip scikit-learn")
    parser.add_argument("--rule", default="dp", choices=("dp", "gcv", "reginska", "qo"))
    parser.add_argument("--max-rank", type=int, default=400,
                        help="Golub-Kahan steps and range-finder columns at most (400)")
    parser.add_argument("--rsvd-speed", action="store_true",
                        help="time the adaptive RSVD alone against scikit-learn on gravity "
                             "(sizes from --gravity, default 4000 16000)")
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, DEFAULT_BLOCK],
                        help=f"--rsvd-speed: range-finder block sizes (1 {DEFAULT_BLOCK})")
    parser.add_argument("--repeat", type=int, default=3,
                        help="--rsvd-speed: runs per timing, the fastest kept (3)")
    parser.add_argument("--rsvd-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sklearn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rsvd_worker:
        speed_worker(args)
        return
    if args.rsvd_speed:
        args.gravity = [4000, 16000] if args.gravity is None else args.gravity
        print(json.dumps(speed_comparison(args), indent=1))
        return
    sizes = [1000, 4000, 16000] if args.gravity is None else args.gravity
    cases = [("gravity", n, GRAVITY.format(size=n), GRAVITY_EPSILON) for n in sizes]
    for size in args.deblurring:
        mesh = ROOT / "meshes" / "deconvolution" / f"square-{size}.toml"
        if not mesh.exists():
            parser.error(f"no mesh {mesh.relative_to(ROOT)}")
        cases.append(("deblurring", size, DEBLURRING.format(mesh=mesh, sigma=3.0 / size), 1e-2))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for kind, size, problem_text, epsilon in cases:
            unknowns = size if kind == "gravity" else size * size
            methods = ["lanczos", "rsvd"] + (["svd"] if unknowns <= args.exact_limit else [])
            results = [run_job(problem_text, method, epsilon, ranks, Path(scratch), args)
                       for method in methods for ranks in args.ranks]
            if not args.no_peer:
                rsvd_rank = next(r["rank_or_steps"] for r in results if r["method"] == "rsvd")
                results.append(sklearn_peer(*serial_problem(problem_text), rsvd_rank, args.rule))
            for result in results:
                rows.append({"problem": kind, "unknowns": unknowns, "epsilon": epsilon,
                             **result})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"rule": args.rule, "cpu": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
