"""What the benchmarks that run each case in a process of its own share: launching a worker
(this script again, under mpirun for several ranks, one BLAS thread per rank so that ranks
are the only parallelism) and reading the JSON line it prints last, and its peak memory."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_mb() -> float:
    """This process's peak resident memory (getrusage maxrss, KiB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_worker(script: str, arguments: list, ranks: int, label: str) -> dict:
    """Run ``script`` with ``arguments`` on ``ranks`` ranks; its last stdout line parsed as
    JSON.  A failed worker ends the benchmark with its stderr."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import clean_env

    command = [sys.executable, script, *map(str, arguments)]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks), *command]
    print(f"benchmark: {label} on {ranks} rank(s)", file=sys.stderr, flush=True)
    result = subprocess.run(command, env=clean_env(OMP_NUM_THREADS="1",
                                                   OPENBLAS_NUM_THREADS="1"),
                            cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"benchmark: {label} on {ranks} rank(s) failed:\n{result.stderr[-4000:]}")
    lines = result.stdout.strip().splitlines()
    if not lines:
        sys.exit(f"benchmark: {label} on {ranks} rank(s) printed nothing:\n"
                 f"{result.stderr[-4000:]}")
    return json.loads(lines[-1])
