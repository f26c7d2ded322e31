"""Products with A and A^T, and seconds, to choose Tikhonov's lambda: (a) the exact full SVD
where feasible, (b) Lanczos bounds, (c) the adaptive randomized SVD, on 1 and 2 ranks (each a
``hpcinv run`` of the ``tikhonov`` kind), and (d) scikit-learn's ``randomized_svd`` at the
rank (c) reached, as a serial peer (no power iterations, oversampling 10, like (c)).
Prints JSON.

    .venv/bin/python benchmarks/paramchoice.py [--gravity 1000 4000 16000]
        [--deblurring 256 512] [--ranks 1 2] [--rule dp] [--exact-limit 4000]

Problems: gravity (depth 0.25, 1% noise; range-finder tolerance 1e-3) and 2-D Gaussian
deblurring (a blur of 3 pixels' standard deviation on the unit square, 1% noise; tolerance
1e-2).  The blur's spectrum decays slowly (a mildly ill-posed problem), so the range finder
does not compress it: it stops at its rank cap of --max-rank columns (``compressed`` false),
like the thesis' tomography.  The default rule is the discrepancy principle, which the
Lanczos bounds settle in the fewest steps on both problems.  ``seconds`` is the choice of
lambda and the solution (``solver_results.method_seconds``), without building the problem.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpcinv.core.io.results import read_summary  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gravity", type=int, nargs="*", default=[1000, 4000, 16000])
    parser.add_argument("--deblurring", type=int, nargs="*", default=[256, 512])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--exact-limit", type=int, default=4000,
                        help="largest n for the exact SVD (dense LAPACK, O(n^3))")
    parser.add_argument("--no-peer", action="store_true", help="skip scikit-learn")
    parser.add_argument("--rule", default="dp", choices=("dp", "gcv", "reginska", "qo"))
    parser.add_argument("--max-rank", type=int, default=400,
                        help="Golub-Kahan steps and range-finder columns at most (400)")
    args = parser.parse_args()
    cases = [("gravity", n, GRAVITY.format(size=n), 1e-3) for n in args.gravity]
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
