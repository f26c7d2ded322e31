"""Where the galaxy reconstructions' sigma_v error comes from: the LOSVD mass beyond 3 truth
dispersions (a low pedestal over the velocity range) and the dispersion within them, for
the demo's PNKR (block Kaczmarz of 32 wavelengths, tau 1.5) on noise-free data and with 1%
noise, after a number of loops or at the discrepancy stop, per mock.  The metrics are
``hpcinv reproduce pnkr-vs-ppxf``'s (``comparison_metrics``).  Prints JSON rows.

    mpirun -n 2 .venv/bin/python benchmarks/galaxy_pedestal.py [--mesh kinematics]
        [--mocks three-component,bulge-counter-disk] [--loops 50,300]
"""
from __future__ import annotations

import argparse
import json

# the path set-up, single-threaded BLAS, and the mocks' job
from galaxy_conditioning import mock_problem


def measure(mesh: str, mock: str, noise: float, loops: int) -> dict:
    from hpcinv.apps.galaxy.comparison_metrics import compare
    from hpcinv.core.petsc_env import initialize
    from hpcinv.solvers import IterationControl
    from hpcinv.solvers.kaczmarz.pnkr import PNKR

    comm = initialize().COMM_WORLD
    problem = mock_problem(comm, mesh, 0.01, mock, noise)
    method = PNKR(problem.operator, problem.data, problem.block_rows, tau=1.5, block=32,
                  block_update="projection", nesterov=False, truth=problem.truth,
                  max_iterations=loops)
    state = method.initial_state()
    reason = method.solve(state, IterationControl(comm, truth=problem.truth,
                                                  max_iterations=loops))
    products = problem.derived(state.vectors["x"])
    errors = compare(products, products, problem.derived_grid.theta_weights[0])
    return {"mesh": mesh, "mock": mock, "noise_level": noise, "loops": state.iteration,
            "stop": reason,
            "relative_error": float(state.history.columns["relative_error"][-1]),
            "wing_mass": errors["wing_mass"], "wing_mass_truth": errors["wing_mass_truth"],
            "sigma_v": errors["maps"]["sigma_v"], "sigma_v_core": errors["sigma_v_core"],
            "mu_v": errors["maps"]["mu_v"]}


def main() -> None:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="kinematics")
    parser.add_argument("--mocks", default="three-component,bulge-counter-disk")
    parser.add_argument("--loops", default="50,300")
    args = parser.parse_args()
    rows = [measure(args.mesh, mock, noise, int(loops)) for mock in args.mocks.split(",")
            for noise in (0.0, 0.01) for loops in args.loops.split(",")]
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
