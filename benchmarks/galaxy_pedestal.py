"""Where the galaxy reconstructions' sigma_v error comes from: the LOSVD mass beyond 3 truth
dispersions (a low pedestal over the velocity range), the dispersion within them, and which
stellar populations ([M/H], age) carry that pedestal's light, for the demo's PNKR (block
Kaczmarz of 32 wavelengths, tau 1.5) on noise-free data and with 1% noise, after a number
of loops or at the discrepancy stop, and for tensor-tikhonov (``--tikhonov``, 1% noise),
per mock.  The metrics are ``hpcinv reproduce pnkr-vs-ppxf``'s (``comparison_metrics``).
Prints JSON rows.

    mpirun -n 2 .venv/bin/python benchmarks/galaxy_pedestal.py [--mesh kinematics]
        [--mocks three-component,bulge-counter-disk] [--loops 50,300] [--tikhonov]
"""
from __future__ import annotations

import argparse
import json

# the path set-up, single-threaded BLAS, and the mocks' job
from galaxy_conditioning import mock_problem
import numpy as np


def wing_light_by_population(problem, solution, products) -> dict:
    """The light beyond 3 truth dispersions of each sky point with mass (``sky_mask``), per
    ([M/H], age), as a fraction of all light there: the reconstruction's and the truth's
    ([M/H] rows, age columns, both ascending)."""
    from hpcinv.apps.galaxy.comparison_metrics import CORE_SIGMAS, sky_mask

    grid, blocks = problem.derived_grid, problem.block_rows
    layout = blocks.spatial_layout
    shown = sky_mask(products["truth_mass"]).ravel()[layout.local_slice]
    mean = products["truth_mu_v"].ravel()[layout.local_slice][shown]
    sigma = products["truth_sigma_v"].ravel()[layout.local_slice][shown]
    far = np.abs(grid.velocity[None] - mean[:, None]) > CORE_SIGMAS * sigma[:, None]
    w_v, w_z, w_t = grid.theta_weights
    shares = {}
    for name, vec in (("reconstruction", solution), ("truth", problem.truth)):
        f = np.clip(problem.operator.rows(vec, blocks.theta_size)[shown], 0, None).reshape(
            -1, *grid.theta_shape)
        light = np.einsum("nvzt,zt,v,z,t->nvzt", f, grid.light, w_v, w_z, w_t, optimize=True)
        wing = layout.mpi.allreduce(np.einsum("nvzt,nv->zt", light, far))
        total = layout.mpi.allreduce(float(light.sum()))
        shares[name] = np.round(wing / total, 4).tolist()
    return shares


def measure(mesh: str, mock: str, noise: float, loops: int, solver: str) -> dict:
    from hpcinv.apps.galaxy.comparison_metrics import compare
    from hpcinv.core.petsc_env import initialize
    from hpcinv.solvers import IterationControl
    from hpcinv.solvers.kaczmarz.pnkr import PNKR
    from hpcinv.solvers.penalized.tensor_tikhonov import TensorTikhonovTAO

    comm = initialize().COMM_WORLD
    problem = mock_problem(comm, mesh, 0.01, mock, noise)
    if solver == "pnkr":
        method = PNKR(problem.operator, problem.data, problem.block_rows, tau=1.5, block=32,
                      block_update="projection", nesterov=False, truth=problem.truth,
                      max_iterations=loops)
    else:   # the demo's tensor-tikhonov: the discrepancy at tau = 1
        method = TensorTikhonovTAO(problem.operator, problem.data, problem.block_rows,
                                   tau=1.0, tolerance=1e-2, max_iterations=loops)
    state = method.initial_state()
    reason = method.solve(state, IterationControl(comm, truth=problem.truth,
                                                  max_iterations=loops))
    products = problem.derived(state.vectors["x"])
    errors = compare(products, products, problem.derived_grid.theta_weights[0])
    return {"mesh": mesh, "mock": mock, "solver": solver, "noise_level": noise,
            "iterations": state.iteration, "stop": reason,
            "relative_error": float(state.history.columns["relative_error"][-1]),
            "wing_mass": errors["wing_mass"], "wing_mass_truth": errors["wing_mass_truth"],
            "sigma_v": errors["maps"]["sigma_v"], "sigma_v_core": errors["sigma_v_core"],
            "mu_v": errors["maps"]["mu_v"],
            "wing_light_by_population": wing_light_by_population(
                problem, state.vectors["x"], products)}


def main() -> None:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="kinematics")
    parser.add_argument("--mocks", default="three-component,bulge-counter-disk")
    parser.add_argument("--loops", default="50,300")
    parser.add_argument("--tikhonov", action="store_true",
                        help="also tensor-tikhonov at the discrepancy (1%% noise)")
    args = parser.parse_args()
    cases = [(mock, "pnkr", noise, int(loops)) for mock in args.mocks.split(",")
             for noise in (0.0, 0.01) for loops in args.loops.split(",")]
    if args.tikhonov:
        cases += [(mock, "tensor-tikhonov", 0.01, 60) for mock in args.mocks.split(",")]
    rows = [measure(args.mesh, mock, noise, loops, solver)
            for mock, solver, noise, loops in cases]
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
