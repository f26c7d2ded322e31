"""Seismic MDD: hpcinv's block-Krylov and column-by-column CG against PyLops' MDD (LSQR) and a
pylops-mpi MPIMDC solve (CGLS) on 2 ranks, and the seconds of one MDC product (forward +
adjoint), on the thesis-size survey (151 receivers, 512 samples; 151 sources 1:1 and 38
sources 1:4).  Prints one JSON object last.

    .venv/bin/python benchmarks/mdd.py [--mesh thesis-1x1] [--mesh-1x4 thesis-1x4]
        [--repeats 10] [--max-pylops-iterations 100] [--max-column-iterations 50]

``--mesh small --mesh-1x4 none`` is a run of a minute.  Installs the peers into the venv when
missing (``hpcinv.apps.seismic.pylops_peer.install_arguments``: without dependencies, with
the venv's numpy pinned).  Data: the ``mdd`` problem's hyperbolic events, noise-free, bins up
to 3 x the Ricker peak (as ``hpcinv reproduce luiken-ch4``, whose experiment this reuses).

* block: one block step per frequency (the thesis); column: the fewest steps reaching the
  block method's error of g (or those of least error); both through ``BlockKrylovMDD``.
* pylops: LSQR steps of least error within --max-pylops-iterations (found by stepping PyLops'
  LSQR with the truth), then ``MDD`` timed with that count; ``seconds_to_block_error`` is
  the stepped LSQR's time to the block method's error (None when it never gets there).
* pylops_mpi: pylops-mpi's CGLS with MPIMDC on 2 ranks, as many steps as pylops'.
* mdc_seconds: one forward plus one adjoint product, the least of --repeats.
* Every timing is the least of --repeats runs, except that a run over 10 s is timed once
  (``reproduce_luiken_ch4.least_time``): the column and peer baselines.
* peak_memory_mb_per_rank: resource.getrusage maxrss of each run's ranks (a separate process
  per run, so the peers' memory is their own).
Ratios compare runs of this invocation.  Seconds are the slowest rank's.
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


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _experiment_arguments(args):
    from hpcinv.apps.seismic import reproduce_luiken_ch4 as ch4

    parser = argparse.ArgumentParser()
    ch4.add_arguments(parser)
    return parser.parse_args(["--quiet", "--repeats", str(args.repeats),
                              "--max-column-iterations", str(args.max_column_iterations),
                              "--max-pylops-iterations", str(args.max_pylops_iterations)])


def _seconds_of(product, repeats: int, mpi) -> float:
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import least_time

    return least_time(product, repeats, mpi)[1]


def _hpcinv_worker(experiment, args) -> dict:
    operator, mpi = experiment.operator, experiment.mpi
    g, p = operator.create_vecs()

    def forward_and_adjoint():
        operator.mult(experiment.problem.truth, p)
        operator.mult_transpose(p, g)

    result = {"mdc_seconds": _seconds_of(forward_and_adjoint, args.repeats, mpi)}
    block = experiment.krylov_row("block", 1)
    steps, note = experiment.column_iterations(block["relative_error"])
    column = experiment.krylov_row("column", steps, note)
    for row in (block, column):
        for key in ("frequency_relative_error", "deflated_rank", "method"):
            row.pop(key, None)
    result.update(block=block, column=column)
    return result


def _pylops_worker(experiment, args) -> dict:
    from hpcinv.apps.seismic import pylops_peer
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import gathered_arrays, pylops_row

    q, g, p, clean = gathered_arrays(experiment)
    n_f, dt, dr = experiment.operator.frequencies.size, experiment.operator.dt, \
        experiment.operator.dr
    operator = pylops_peer.mdc_operator(q, g.shape[1], n_f, dt, dr)
    model = pylops_peer.model_to_pylops(g)

    def forward_and_adjoint():
        operator.H @ (operator @ model)

    seconds = _seconds_of(forward_and_adjoint, args.repeats, experiment.mpi)
    row = pylops_row(experiment, q, g, p, clean, args.block_error)
    for key in ("frequency_relative_error", "lsqr_relative_error", "method"):
        row.pop(key, None)
    return {"mdc_seconds": seconds, "pylops": row}


def _pylops_mpi_worker(experiment, args) -> dict:
    import numpy as np

    from hpcinv.apps.seismic import pylops_peer
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import gathered_arrays, least_time

    q, g, p, _ = gathered_arrays(experiment)
    mpi = experiment.mpi
    n_f, dt, dr = experiment.operator.frequencies.size, experiment.operator.dt, \
        experiment.operator.dr
    operator = pylops_peer.mpimdc_operator(q, g.shape[1], n_f, dt, dr, mpi)
    model = pylops_peer.broadcast_array(pylops_peer.model_to_pylops(g), mpi)

    def forward_and_adjoint():
        operator.H @ (operator @ model)

    product = _seconds_of(forward_and_adjoint, args.repeats, mpi)
    estimate, best = least_time(
        lambda: pylops_peer.mpimdc_cgls(q, p, n_f, dt, dr, args.iterations, mpi),
        args.repeats, mpi)
    error = float(np.linalg.norm(estimate - g) / np.linalg.norm(g))
    return {"mdc_seconds": product,
            "pylops_mpi": {"seconds": best, "relative_error": error,
                           "iterations": args.iterations, "solver": "pylops_mpi.cgls",
                           "ranks": mpi.size}}


def _worker(args) -> None:
    import warnings

    from hpcinv.core.petsc_env import initialize

    PETSc = initialize()
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import Experiment

    warnings.simplefilter("ignore")      # pylops-mpi's casts of real arrays, per product
    experiment = Experiment(PETSc.COMM_WORLD, args.mesh_path, _experiment_arguments(args))
    run = {"hpcinv": _hpcinv_worker, "pylops": _pylops_worker,
           "pylops_mpi": _pylops_mpi_worker}[args.worker]
    result = run(experiment, args)
    result["peak_memory_mb"] = experiment.mpi.gather(_peak_mb(), root=0)
    if experiment.mpi.rank == 0:
        print(json.dumps(result))


def ensure_peers() -> None:
    """Install pylops and pylops-mpi into this venv when missing (numpy pinned)."""
    from hpcinv.apps.seismic import pylops_peer

    if pylops_peer.available("pylops") and pylops_peer.available("pylops_mpi"):
        return
    constraints = pylops_peer.numpy_constraint_file()
    if not constraints.exists():
        import numpy

        constraints.write_text(f"numpy=={numpy.__version__}\n")
    print(f"benchmark: installing {' '.join(pylops_peer.PEER_REQUIREMENTS)}", file=sys.stderr,
          flush=True)
    subprocess.run(pylops_peer.install_arguments(), check=True)


def _run_worker(kind: str, mesh_path: str, ranks: int, args, **extra) -> dict:
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--worker", kind, "--mesh-path", mesh_path,
               "--repeats", str(args.repeats), "--max-column-iterations",
               str(args.max_column_iterations), "--max-pylops-iterations",
               str(args.max_pylops_iterations)]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-n", str(ranks), *command]
    print(f"benchmark: {kind} on {ranks} rank(s), {Path(mesh_path).name}", file=sys.stderr,
          flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"benchmark: {kind} on {ranks} rank(s) failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ratio(a, b):
    return None if a is None or b is None or not b else round(a / b, 2)


def case(mesh_path: str, args) -> dict:
    one = _run_worker("hpcinv", mesh_path, 1, args)
    two = _run_worker("hpcinv", mesh_path, 2, args)
    block_error = one["block"]["relative_error"]
    peer = _run_worker("pylops", mesh_path, 1, args, block_error=block_error)
    iterations = peer["pylops"]["iterations"]
    peer_mpi = _run_worker("pylops_mpi", mesh_path, 2, args, iterations=iterations)
    pylops = peer["pylops"]
    result = {
        "mesh": Path(mesh_path).name,
        "block": one["block"], "column": one["column"],
        "block_2_ranks": two["block"],
        "pylops": pylops, "pylops_mpi": peer_mpi["pylops_mpi"],
        "mdc_seconds": {"hpcinv": {"1": one["mdc_seconds"], "2": two["mdc_seconds"]},
                        "pylops": {"1": peer["mdc_seconds"]},
                        "pylops_mpi": {"2": peer_mpi["mdc_seconds"]}},
        "peak_memory_mb_per_rank": {"hpcinv_1": one["peak_memory_mb"],
                                    "hpcinv_2": two["peak_memory_mb"],
                                    "pylops_1": peer["peak_memory_mb"],
                                    "pylops_mpi_2": peer_mpi["peak_memory_mb"]},
    }
    block_seconds = one["block"]["seconds"]
    result["ratios"] = {
        "column_over_block_seconds": _ratio(one["column"]["seconds"], block_seconds),
        "pylops_over_block_seconds": _ratio(pylops["seconds"], block_seconds),
        "pylops_to_block_error_over_block_seconds": _ratio(pylops.get("seconds_to_block_error"),
                                                           block_seconds),
        "pylops_over_hpcinv_mdc_1_rank": _ratio(peer["mdc_seconds"], one["mdc_seconds"]),
        "hpcinv_mdc_1_over_2_ranks": _ratio(one["mdc_seconds"], two["mdc_seconds"]),
        "block_1_over_2_ranks": _ratio(block_seconds, two["block"]["seconds"]),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="thesis-1x1", help="the 1:1 survey (thesis-1x1)")
    parser.add_argument("--mesh-1x4", default="thesis-1x4",
                        help="the 1:4 survey (thesis-1x4; none to skip)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--max-column-iterations", type=int, default=50)
    parser.add_argument("--max-pylops-iterations", type=int, default=100)
    parser.add_argument("--worker", choices=("hpcinv", "pylops", "pylops_mpi"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--mesh-path", help=argparse.SUPPRESS)
    parser.add_argument("--block-error", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--iterations", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    from hpcinv.apps.seismic.reproduce_luiken_ch4 import resolve_mesh

    ensure_peers()
    report = {"repeats": args.repeats, **case(resolve_mesh(args.mesh), args)}
    if args.mesh_1x4 != "none":
        report["ratio_1_4"] = case(resolve_mesh(args.mesh_1x4), args)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
