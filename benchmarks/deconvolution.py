"""Seconds per iteration of CGLS, LSQR and PETSc KSPLSQR (kind ksp) on 2-D Gaussian deconvolution,
on 1 and 2 ranks.  Prints JSON.

    .venv/bin/python benchmarks/deconvolution.py [--size 256] [--iterations 50]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpcinv.core.io.results import read_summary  # noqa: E402

JOB = """
[problem]
kind = "deconvolution"
mesh = "{mesh}"
sigma = 0.01
noise_level = 0.0
[solver]
kind = "{solver}"
max_iterations = {iterations}
[output]
path = "{output}"
store_data = false
"""


def measure(solver: str, ranks: int, size: int, iterations: int, workdir: Path) -> dict:
    mesh = workdir / f"square-{size}.toml"
    mesh.write_text(f"[grid]\nshape = [{size}, {size}]\n")
    output = workdir / f"{solver}-{ranks}.h5"
    job = workdir / f"{solver}-{ranks}.toml"
    job.write_text(JOB.format(mesh=mesh, solver=solver, iterations=iterations, output=output))
    command = [sys.executable, "-m", "hpcinv", "run", str(job), "--quiet", "--overwrite"]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks)] + command
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")
    subprocess.run(command, check=True, env=env, cwd=ROOT, capture_output=True)
    summary = read_summary(str(output))
    solve = summary["timings"]["solve_seconds"]
    return {"solver": solver, "ranks": ranks, "unknowns": size * size,
            "iterations": summary["iterations"], "solve_seconds": round(solve, 4),
            "seconds_per_iteration": round(solve / summary["iterations"], 6),
            "setup_seconds": round(summary["timings"]["setup_seconds"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rows = [measure(solver, ranks, args.size, args.iterations, Path(directory))
                for solver in ("cgls", "lsqr", "ksp") for ranks in args.ranks]
    print(json.dumps({"benchmark": "deconvolution", "grid": [args.size, args.size],
                      "sigma": 0.01, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
