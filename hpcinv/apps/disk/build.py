"""The disk problem kind's second step (``problem.py`` has the first): the kernel's rows of
all slits split over the ranks as one AIJ Mat, divided by the data's standard deviations,
and for a simulation the fitted truth, a f_true and Eq. 45's noise."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.problem import Problem
from ...linalg.dense import aij_matrix
from ...linalg.layout import Layout
from ...linalg.operator import MatOperator
from ...solvers.penalized.capabilities import PenaltyGrid
from .grid import DistributionGrid
from .problem import PreparedDisk
from .simulator import IsoQDisk, noise_sigma, noisy_profiles
from .truth import fitted_truth


@dataclass
class DiskProblem(Problem):
    """The disk problem plus what the result's products need."""
    prepared: PreparedDisk = None
    sigma: np.ndarray = None           # every point's standard deviation (replicated)
    profiles: np.ndarray = None        # every point's datum, unweighted (replicated)

    def derived(self, solution) -> dict:
        grid = self.prepared.grid
        layout = Layout.of_vec(solution)
        f = layout.gather(solution.getArray(readonly=True))
        model = self.operator.create_vecs()[1]
        self.operator.mult(solution, model)
        rows = Layout.of_vec(model)
        fitted = rows.gather(model.getArray(readonly=True)) * self.sigma
        products = {"distribution_function": f.reshape(grid.shape), "eta": grid.eta,
                    "h": grid.h}
        offset = 0
        for number, block in enumerate(self.prepared.blocks):
            count = int(block.mask.sum())
            for name, values in (("model", fitted), ("data", self.profiles),
                                 ("sigma", self.sigma)):
                plane = np.full(block.mask.shape, np.nan)
                plane[block.mask] = values[offset:offset + count]
                products[f"slit{number}_{name}"] = plane
            products[f"slit{number}_radii"] = block.radii
            products[f"slit{number}_velocities"] = block.velocities
            offset += count
        model.destroy()
        return products


def _kernel(comm, prepared: PreparedDisk):
    rows = Layout.default(comm, prepared.count)
    return aij_matrix(comm, (prepared.count, prepared.grid.size),
                      prepared.rows(rows.start, rows.stop)), rows


def _simulate(comm, prepared: PreparedDisk, kernel, rows: Layout):
    """(profiles, sigma, truth Vec, noise-free profiles): a f_true plus Eq. 45's noise."""
    values, grid = prepared.values, prepared.grid
    if prepared.truth is None:
        prepared.truth, prepared.truth_fit = fitted_truth(comm, IsoQDisk(prepared.potential, values["toomre_q"]),
                                      grid, penalty_grid(grid), disk_edge=values["disk_edge"],
                                      snr=values["truth_snr"],
                                      chi_square_per_datum=values["truth_chi_square"])
    truth = prepared.truth.copy()
    clean = kernel.createVecLeft()
    kernel.mult(truth, clean)
    noise_free = rows.gather(clean.getArray(readonly=True))
    clean.destroy()
    sigma = np.empty_like(noise_free)
    offset = 0
    for block in prepared.blocks:
        piece = slice(offset, offset + int(block.mask.sum()))
        sigma[piece] = noise_sigma(noise_free[piece], values["snr"], values["sigma_background"])
        offset = piece.stop
    profiles = (noisy_profiles(noise_free, sigma, values["seed"]) if values["noise"]
                else noise_free.copy())
    return profiles, sigma, truth, noise_free


def penalty_grid(grid: DistributionGrid) -> PenaltyGrid:
    return PenaltyGrid(grid.shape, grid.spacing, grid.cuts)


def build(prepared: PreparedDisk, comm) -> DiskProblem:
    """The distributed, noise-weighted problem (collective)."""
    kernel, rows = _kernel(comm, prepared)
    truth = noise_free = None
    if prepared.values["data"]:
        profiles = np.concatenate([block.profiles[block.mask] for block in prepared.blocks])
        sigma = np.sqrt(np.concatenate([block.variances[block.mask]
                                        for block in prepared.blocks]))
        noise_norm = float(np.sqrt(profiles.size))
    else:
        profiles, sigma, truth, noise_free = _simulate(comm, prepared, kernel, rows)
        noise_norm = float(np.linalg.norm((profiles - noise_free) / sigma))
    weights = rows.vec_from(1.0 / sigma)
    kernel.diagonalScale(L=weights)
    weights.destroy()
    data = rows.vec_from(profiles / sigma)
    clean = rows.vec_from(noise_free / sigma) if noise_free is not None else None
    grid = prepared.grid
    return DiskProblem(
        operator=MatOperator(kernel), data=data, noise_norm=noise_norm, truth=truth,
        grid_shape=grid.shape, noise_free_data=clean,
        capabilities=(penalty_grid(grid),),
        attributes={"data_count": prepared.count, "truth_fit": prepared.truth_fit,
                    "eta_nodes": grid.shape[0],
                    "h_nodes": grid.shape[1], "h_range": [grid.h[0], prepared.values["h_max"]],
                    "slit_angles": [block.angle for block in prepared.blocks],
                    "normalisation": "mass-weighted: int F dv_phi = Sigma(R)"},
        prepared=prepared, sigma=sigma, profiles=profiles)
