"""Why the galaxy reconstruction converges slowly: the spectra of its two metric pencils and
where the discrepancy principle cuts them, per beta (the H^s derivative weight) and mock.

For the unconstrained Tikhonov problem min ||Y - U K^T||_N^2 + alpha ||U||_M^2 the
generalised eigenvalues lambda_i (sky: N against Psi) and mu_j (Theta: K^T K against Phi)
diagonalise everything (``SpectralTikhonov``): mode (i, j) has curvature lambda_i mu_j.  A
Kaczmarz or Landweber sweep in the metric M shrinks the error of mode (i, j) by about
1 - lambda_i mu_j / (lambda mu)_max, so resolving the modes the discrepancy alpha keeps
(lambda_i mu_j > alpha) takes of order (lambda mu)_max / alpha sweeps.  Printed per case:
the ranges, alpha at the discrepancy (tau = 1), that sweep count, how many Theta modes lie
above alpha, and the kinematic errors of the unconstrained solution (clipped at zero)
against the truth.  Prints JSON.

    .venv/bin/python benchmarks/galaxy_conditioning.py [--mesh demo] [--betas 0.01,1]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hpcinv  # noqa: E402,F401 - sets single-threaded BLAS before numpy loads
import numpy as np  # noqa: E402

JOB = """
[problem]
kind = "galaxy"
mesh = "{mesh}"
order = 1
beta = {beta}
noise_level = {noise}
mock = "{mock}"
[solver]
kind = "pnkr"
"""


def mock_problem(comm, mesh: str, beta: float, mock: str, noise: float = 0.01):
    """The galaxy problem of ``mock`` with ``noise`` on ``mesh`` (a name or file), s = 1."""
    from helpers import build_job
    from hpcinv.core.paths import resolve_galaxy_mesh

    text = JOB.format(mesh=resolve_galaxy_mesh(mesh, "--mesh"), beta=beta, mock=mock,
                      noise=noise)
    return build_job(comm, text)[1]


def measure(mesh: str, beta: float, mock: str) -> dict:
    from hpcinv.apps.galaxy.comparison_metrics import map_error, sky_mask
    from hpcinv.core.petsc_env import initialize
    from hpcinv.solvers.penalized.tensor_spectral import SpectralTikhonov

    problem = mock_problem(initialize().COMM_SELF, mesh, beta, mock)
    blocks = problem.block_rows
    spectral = SpectralTikhonov(blocks, problem.operator.rows(problem.data, blocks.equations))
    alpha = spectral.discrepancy_alpha(float(np.sum(blocks.equation_noise ** 2)))
    theta, sky = spectral.theta_values, spectral.sky_values
    solution = problem.truth.duplicate()
    problem.operator.rows(solution, blocks.theta_size)[:] = np.clip(
        spectral.local_solution(alpha), 0, None)
    products = problem.derived(solution)
    mask = sky_mask(products["truth_mass"])
    return {"mesh": mesh, "mock": mock, "beta": beta,
            "sky_lambda": [float(sky.min()), float(sky.max())],
            "theta_mu": [float(theta[theta > 0].min()), float(theta.max())],
            "alpha_discrepancy": alpha,
            "sweeps_to_resolve": float(sky.max() * theta.max() / alpha),
            "theta_modes_above_alpha": int(np.sum(sky.max() * theta > alpha)),
            "theta_modes": int(theta.size),
            **{f"{name}_rms_unconstrained": map_error(name, products[name],
                                                      products[f"truth_{name}"], mask)
               for name in ("mu_v", "sigma_v", "h3", "h4")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="demo")
    parser.add_argument("--betas", default="0.01,1")
    parser.add_argument("--mocks", default="three-component,bulge-counter-disk")
    args = parser.parse_args()
    rows = [measure(args.mesh, float(beta), mock) for mock in args.mocks.split(",")
            for beta in args.betas.split(",")]
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
