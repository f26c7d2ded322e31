"""Seconds to convergence of the penalised-likelihood methods on the disk problem (Pichon &
Thiebaut 1997): the six-direction scheme, with a seventh direction, TAO's BLMVM inside a
search on mu, the single-direction schemes of Eq. 30 and the quadratic solution of Eq. 23,
at 150 x 150 and 200 x 200 basis functions on 1 and 2 ranks, with their iterations, their
Eq. 44 error against the problem's truth and the peak memory of each rank.  Prints one JSON
object last.

    .venv/bin/python benchmarks/disk.py [--basis 150,200] [--ranks 1,2]
        [--methods subspace,subspace-memory,tao-blmvm,gradient-lucy,
                   gradient-cornwell-evans,quadratic]
        [--max-iterations 20000] [--subspace-iterations 3000] [--tao-iterations 5000]
        [--snr 30] [--seed 1] [--truth-cache DIR]

``--basis 40 --methods subspace,gradient-power`` is a run of under a minute.  Data: the
``disk`` kind's default simulation, the iso-Q Kuzmin disk (Q = 1.25) at --snr (30) with noise
seed --seed (1), 50 x 50 (R, v_phi) points out to R = 7; f on basis x basis bilinear
(eta, h) nodes (``eta_nodes = h_nodes = basis``).  Every method is the solver kind's
[solver] table with its defaults but for the keys shown:

* subspace: ``penalized-subspace`` (negentropy, floating prior; chi-square target
  N - sqrt(2 N)), max_iterations = --subspace-iterations; subspace-memory: the same with
  ``memory = true`` (the previous step as a seventh direction).
* tao-blmvm: ``penalized-tao``, tao_type = "blmvm", the same penalty, mu searched to the same
  target from the kind's first mu; tao_max_iterations = --tao-iterations (5000; BLMVM needs
  about 3800 at 150 x 150 to reach grtol 1e-7, and a solve stopped short goes on at the same
  mu in the next step).
* gradient-power, gradient-lucy, gradient-mem, gradient-cornwell-evans: ``penalized-gradient``
  with that metric (power: q = f^1.5, since f^1 is lucy's) at the mu the six-direction run on the same basis and ranks ended with
  (its result's attributes["mu"]), so that they minimise the same Q = L + mu R;
  max_iterations = --max-iterations.  Requesting one runs ``subspace`` first for its mu,
  also when it is not among --methods (then it is not reported).
* quadratic: ``penalized-quadratic`` (roughness ||D f||^2 by CG with Jacobi on the assembled
  A^T A + mu D^T D), mu searched to the same target; f may go negative.

What is measured:

* seconds: ``method.run()`` only, from a barrier to its end, the slowest rank's
  (``reproduce_luiken_ch4.least_time``, one run): not building the problem, the penalty or
  the method object (PenalizedQuadratic forms A^T A and D^T D when built).
* iterations: the method's iterations; for tao-blmvm and quadratic the TAO or KSP iterations
  summed over the search on mu (each costs about a gradient of Q), with the search's steps in
  outer_iterations and those of each step in inner_iterations (a TAO solve that stops at
  --tao-iterations has not reached its gradient tolerance).  reason: why the run stopped
  ("converged" / "chi_square": at the target, settled; "max_iterations": capped, so the
  seconds are not to convergence).  mu, chi_square, chi_square_target: the result's.
* error: Eq. 44, sum t |f - t| / sum t with t the problem's truth
  (``pichon_thiebaut_study.weighted_error``), in f's units (G = M = a = 1, mass-weighted).
* peak_memory_mb_per_rank: resource.getrusage maxrss of each rank, keyed "basis/method/ranks"
  (a list, one entry per rank): each (basis, method, ranks) runs in its own process (under
  mpirun for 2 ranks), so a method's own vectors and matrices show.  It includes the problem
  (kernel, data) and the imports, which every method shares.
* truth_fit: the truth is the negentropy fit of the Gaussian profiles made when a simulated
  disk is built (``truth.fitted_truth``, tens of seconds at 150 x 150).  It depends on the
  grid only, so it is fitted once per basis on 1 rank, in a process of its own (its seconds
  and peak memory are reported there), saved, and handed to every method's build through
  ``PreparedDisk.truth``: the 1- and 2-rank problems are then the same problem.  Saved under
  --truth-cache when given (reused by later invocations: delete it when the truth fit
  changes), else in a temporary folder.  weighted_mean: sum t^2 / sum t, the scale of the
  error (error / weighted_mean is a relative error).
* mu: the six-direction run's final mu per "basis/ranks", the gradients' weight.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# name -> the [solver] table (the gradients' mu and the iteration caps are added per run)
METHODS = {
    "subspace": {"kind": "penalized-subspace"},
    "subspace-memory": {"kind": "penalized-subspace", "memory": True},
    "tao-blmvm": {"kind": "penalized-tao", "tao_type": "blmvm"},
    "gradient-power": {"kind": "penalized-gradient", "metric": "power", "nu": 1.5},
    "gradient-lucy": {"kind": "penalized-gradient", "metric": "lucy"},
    "gradient-mem": {"kind": "penalized-gradient", "metric": "mem"},
    "gradient-cornwell-evans": {"kind": "penalized-gradient", "metric": "cornwell-evans"},
    "quadratic": {"kind": "penalized-quadratic"},
}
DEFAULT_METHODS = ("subspace", "subspace-memory", "tao-blmvm", "gradient-lucy",
                   "gradient-cornwell-evans", "quadratic")
TRUTH = "truth"     # the worker that fits and saves the truth


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _problem_table(args) -> dict:
    return {"kind": "disk", "eta_nodes": args.basis_nodes, "h_nodes": args.basis_nodes,
            "snr": args.snr, "seed": args.seed}


def _solver_table(method: str, args) -> dict:
    table = dict(METHODS[method])
    if table["kind"] == "penalized-subspace":
        table["max_iterations"] = args.subspace_iterations
    elif table["kind"] == "penalized-gradient":
        table.update(mu=args.mu, max_iterations=args.max_iterations)
    elif table["kind"] == "penalized-tao":
        table["tao_max_iterations"] = args.tao_iterations
    return table


def _build_problem(comm, spec, truth_path: str | None):
    """The disk problem of ``spec`` (collective): with the saved truth when ``truth_path``
    is given, else fitting it; the seconds of the build."""
    import time

    import numpy as np

    from hpcinv.core.jobspec import PROBLEMS
    from hpcinv.core.mpi import agree, global_max
    from hpcinv.linalg.layout import Layout

    kind = PROBLEMS.get(spec.problem["kind"], "problem.kind")
    mpi = comm.tompi4py()
    prepared = agree(mpi, kind.prepare, spec.problem)
    if truth_path:
        prepared.truth = Layout.default(comm, prepared.grid.size).vec_from(np.load(truth_path))
    mpi.Barrier()
    started = time.perf_counter()
    problem = kind.build(prepared, comm)
    return problem, global_max(mpi, time.perf_counter() - started)


def _worker(args) -> None:
    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    import numpy as np

    from hpcinv.apps.disk.pichon_thiebaut_study import weighted_error
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import least_time
    from hpcinv.core.jobspec import SOLVERS, spec_from_mapping
    from hpcinv.linalg.layout import Layout

    comm = PETSc.COMM_WORLD
    mpi = comm.tompi4py()
    method = args.worker
    solver_table = _solver_table("subspace" if method == TRUTH else method, args)
    spec = spec_from_mapping({"problem": _problem_table(args), "solver": solver_table})
    if method == TRUTH:
        problem, seconds = _build_problem(comm, spec, None)
        truth = Layout.of_vec(problem.truth).gather(problem.truth.getArray(readonly=True))
        if mpi.rank == 0:
            np.save(args.truth, truth)
        row = {"seconds": seconds}
    else:
        problem, _ = _build_problem(comm, spec, args.truth)
        solver = SOLVERS.get(spec.solver["kind"], "solver.kind").build(problem, spec.solver)
        result, seconds = least_time(solver.run, 1, mpi)
        attributes = result.attributes
        row = {"seconds": seconds, "iterations": result.iterations, "reason": result.reason,
               "error": weighted_error(result.x, problem.truth),
               "mu": attributes.get("mu"), "chi_square": attributes.get("chi_square"),
               "chi_square_target": attributes.get("chi_square_target")}
        inner = getattr(solver, "inner_iterations", None)
        if inner in attributes:      # TAO's or KSP's iterations over the search on mu
            row.update(iterations=int(attributes[inner]), outer_iterations=result.iterations,
                       inner_iterations=[int(count) for step, count in zip(
                           result.history["iteration"], result.history[inner]) if step > 0])
    row["peak_memory_mb"] = mpi.gather(round(_peak_mb(), 1), root=0)
    if mpi.rank == 0:
        print(json.dumps(row))


def _run_worker(method: str, basis: int, ranks: int, truth: Path, args,
                mu: float | None = None) -> dict:
    from helpers import clean_env

    command = [sys.executable, __file__, "--worker", method, "--basis-nodes", str(basis),
               "--truth", str(truth), "--snr", repr(args.snr), "--seed", str(args.seed),
               "--max-iterations", str(args.max_iterations), "--subspace-iterations",
               str(args.subspace_iterations), "--tao-iterations", str(args.tao_iterations)]
    if mu is not None:
        command += ["--mu", repr(mu)]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks), *command]
    print(f"benchmark: {method} at {basis} x {basis} on {ranks} rank(s)", file=sys.stderr,
          flush=True)
    env = clean_env(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        sys.exit(f"benchmark: {method} at {basis} x {basis} on {ranks} rank(s) failed:\n"
                 f"{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _truth_file(directory: Path, basis: int) -> Path:
    return directory / f"disk-truth-{basis}x{basis}.npy"


def case(basis: int, ranks: int, methods: list, truth: Path, args) -> tuple[list, dict, dict]:
    """(rows, peak memory per rank, the six-direction mu) of one basis on ``ranks``."""
    rows, memory, mu = [], {}, None
    needs_mu = any(METHODS[name]["kind"] == "penalized-gradient" for name in methods)
    order = (["subspace"] if needs_mu or "subspace" in methods else []) + \
        [name for name in methods if name != "subspace"]
    for method in order:
        row = _run_worker(method, basis, ranks, truth, args, mu=mu)
        if method == "subspace":
            mu = row["mu"]
            if method not in methods:
                continue
        memory[f"{basis}/{method}/{ranks}"] = row.pop("peak_memory_mb")
        row["seconds"] = round(row["seconds"], 3)
        rows.append({"basis": basis, "method": method, "ranks": ranks, **row})
    return rows, memory, {f"{basis}/{ranks}": mu} if mu is not None else {}


def _list(values: list, kind=str) -> list:
    """Repeatable, comma-separated option values, flattened."""
    return [kind(item) for value in values for item in str(value).split(",") if item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--basis", action="append",
                        help="basis functions per axis (eta_nodes = h_nodes); repeatable or "
                             "a comma list (default 150,200)")
    parser.add_argument("--ranks", default="1,2", help="rank counts, a comma list (1,2)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help=f"a comma list of {', '.join(METHODS)} (default "
                             f"{','.join(DEFAULT_METHODS)})")
    parser.add_argument("--max-iterations", type=int, default=20000,
                        help="iteration cap of the single-direction schemes")
    parser.add_argument("--subspace-iterations", type=int, default=3000,
                        help="iteration cap of the six- and seven-direction schemes")
    parser.add_argument("--tao-iterations", type=int, default=5000,
                        help="TAO iterations per solve of the search on mu (tao_max_iterations)")
    parser.add_argument("--snr", type=float, default=30.0, help="signal-to-noise of the data")
    parser.add_argument("--seed", type=int, default=1, help="seed of the noise")
    parser.add_argument("--truth-cache", help="folder to keep the fitted truths in (reused "
                                              "when there); default a temporary one")
    parser.add_argument("--worker", choices=(*METHODS, TRUTH), help=argparse.SUPPRESS)
    parser.add_argument("--basis-nodes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    parser.add_argument("--mu", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    import numpy as np

    try:
        bases = _list(args.basis or ["150,200"], int)
        ranks_list = _list([args.ranks], int)
    except ValueError as error:
        parser.error(f"--basis and --ranks take integers: {error}")
    methods = _list([args.methods])
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(METHODS)})")
    if any(n < 2 for n in bases) or any(r < 1 for r in ranks_list):
        parser.error("--basis must be >= 2 and --ranks >= 1")
    for name in ("max_iterations", "subspace_iterations", "tao_iterations"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    report = {"problem": {"kind": "disk", "snr": args.snr, "seed": args.seed,
                          "other_keys": "the disk kind's defaults"},
              "max_iterations": args.max_iterations,
              "subspace_iterations": args.subspace_iterations,
              "tao_iterations": args.tao_iterations,
              "truth_fit": {}, "mu": {}, "runs": [], "peak_memory_mb_per_rank": {}}
    with tempfile.TemporaryDirectory(prefix="disk-benchmark-") as scratch:
        directory = Path(args.truth_cache or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        for basis in bases:
            truth = _truth_file(directory, basis)
            if truth.exists():
                fit = {"cached": str(truth)}
            else:
                fit = _run_worker(TRUTH, basis, 1, truth, args)
                fit["seconds"] = round(fit["seconds"], 2)
            t = np.load(truth)
            fit["weighted_mean"] = float(t @ t / t.sum())
            report["truth_fit"][str(basis)] = fit
            for ranks in ranks_list:
                rows, memory, mu = case(basis, ranks, methods, truth, args)
                report["runs"] += rows
                report["peak_memory_mb_per_rank"].update(memory)
                report["mu"].update(mu)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
