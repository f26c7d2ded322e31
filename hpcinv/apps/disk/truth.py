"""The true distribution function of a simulated disk (Pichon & Thiebaut 1997, Sect. 4.2.2):
no closed-form DF gives the Gaussian profiles of Eqs. 39-43, so the paper defines the truth
as the inversion of noise-free profiles.  Here: the negentropy fit with the floating prior of
the Gaussian profiles out to the disk's edge, weighted as data of signal-to-noise ``snr``
(Eq. 45, with a noise floor of 1e-2 of the peak instead of 1e-4), to
``chi_square_per_datum`` per datum.  Data made from it (a f_true) are exactly
representable, as the paper's are.

The Gaussians are not the profiles of any bound f >= 0: their tails pass the escape speed,
and at SNR 100 even the best non-negative least-squares fit on 150 x 150 nodes leaves a
chi-square of 25 per datum (and still 2 at SNR 10), mostly in the tails near the escape
speed, where the floor of 1e-4 demands a fit to 1e-4 of the peak.  The fit therefore
weighs them as data of SNR ``snr`` (the disk kind's default 10; ``reproduce
pichon-thiebaut`` uses 70) with a floor of 1e-2 of the peak, where one chi-square per datum
is reachable (150 x 150 nodes: 3-6 s for Q = 1 to 1.75 at SNR 70), and samples each
radius's profile across its own bound range (-v_esc(R), v_esc(R)), where every point
informs f.  The tighter the fit, the rougher f_true where the Gaussians stray furthest from
a DF's profiles: at SNR 70 the summed |second differences| of f_true over its mass are
0.009 (eta) and 0.04 (h) for Q = 1 and 1.25, but 0.07 / 0.12 at Q = 1.5 and 0.17 / 0.25 at
Q = 1.75 (0.07 / 0.11 at SNR 30), a roughness no regularised inversion of noisy data keeps.
"""
from __future__ import annotations

import numpy as np

from ...linalg.dense import aij_matrix
from ...linalg.layout import Layout
from ...linalg.operator import MatOperator
from ...solvers.penalized.capabilities import PenaltyGrid
from ...solvers.penalized.penalties import FloatingNegentropy
from ...solvers.penalized.subspace import SubspaceDescent
from .kernel import major_axis_rows
from .simulator import IsoQDisk

TRUTH_ITERATIONS = 3000
TRUTH_FLOOR = 1e-2
TRUTH_SAMPLES = 50    # radii, and velocities per radius, of the profiles fitted


def truth_points(disk: IsoQDisk, disk_edge: float, samples: int = TRUTH_SAMPLES):
    """(R, v) of the fitted profiles, flat: radii edge (i + 1) / n, and at each the centres
    of n equal cells of (-v_esc(R), v_esc(R))."""
    radii = disk_edge * np.arange(1, samples + 1) / samples
    cells = (np.arange(samples) + 0.5) / samples
    escape = np.sqrt(2.0 * disk.potential.psi(radii))
    velocities = escape[:, None] * (2.0 * cells[None, :] - 1.0)
    return np.repeat(radii, samples), velocities.ravel()


def fitted_truth(comm, disk: IsoQDisk, grid, penalty_grid: PenaltyGrid, *, disk_edge: float,
                 snr: float, chi_square_per_datum: float):
    """(f_true, the fit's stop reason): a Vec in the default layout of ``grid`` (collective).
    A fit stopped at its iteration limit is still a smooth positive DF whose profiles are
    close to the Gaussians; the reason goes to the problem's attributes."""
    radius, velocity = truth_points(disk, disk_edge)
    rows = Layout.default(comm, radius.size)
    mine = slice(rows.start, rows.stop)
    values = np.concatenate([disk.profiles(np.array([r]), np.array([v]))[0]
                             for r, v in zip(radius[mine], velocity[mine])]) \
        if rows.local_size else np.empty(0)
    # Eq. 45's floor is relative to the largest profile value, of all ranks.
    peak = comm.tompi4py().allreduce(float(values.max(initial=0.0)), op=_max())
    sigma = values / snr + TRUTH_FLOOR * peak   # Eq. 45 with a floor of 1e-2, not 1e-4
    local = major_axis_rows(disk.potential, grid, radius[mine], velocity[mine])
    weighted = local.multiply((1.0 / sigma)[:, None]).tocsr()
    operator = MatOperator(aij_matrix(comm, (rows.size, grid.size), weighted))
    data = rows.create_vec()
    data.getArray()[:] = values / sigma
    template = operator.create_vecs()[0]
    method = SubspaceDescent(operator, data, FloatingNegentropy(template, penalty_grid),
                             chi_square_target=chi_square_per_datum * rows.size,
                             max_iterations=TRUTH_ITERATIONS, memory=True)
    result = method.run()
    operator.mat.destroy()
    return result.x, result.reason


def _max():
    from mpi4py import MPI

    return MPI.MAX
