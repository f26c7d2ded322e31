"""The disk problem kind's job keys and its first step: a thin disk's distribution function
f(eta, h) from azimuthal velocity profiles F(R, v_phi) = a f (Pichon & Thiebaut 1997).
``prepare`` reads and checks the potential, the grid and the data blocks on each rank;
``build.py`` makes the distributed, noise-weighted kernel, whose rows (the observed (R, v)
points of every slit) are split over the ranks.

Rows are divided by the data's standard deviations, so ||A f - b||^2 is the chi-square and
every least-squares and penalised-likelihood solver sees the statistics the paper uses.
Data are measured profiles (HDF5 or FITS, ``data.py``) or the iso-Q Kuzmin simulation:
a true DF fitted to the Gaussian profiles (``truth.py``), data a f_true plus the noise of
Eq. 45, truncated at r_max and with radius intervals missing on request.  Extra slits at
other sky angles (Appendix C) add their own blocks of rows.  f is normalised as the profiles
are: mass-weighted, int F dv_phi = Sigma(R), in units G = M = a = 1 for the Kuzmin disk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from ...core.errors import InputError
from ...core.jobspec import Field
from .data import read_profiles
from .grid import DistributionGrid
from .kernel import major_axis_rows
from .potential import KuzminPotential, TabulatedPotential
from .simulator import IsoQDisk, data_grid
from .slits import slit_geometry, slit_rows
from .truth import truth_points

# Simulation keys mean nothing beside measured data (problem.data): refused there.
SIMULATION_ONLY = ("data", ("",), "a simulation key, unused with measured data")
PARAMETERS = {
    "potential": Field(str, "kuzmin", "kuzmin (psi = G M / sqrt(R^2 + a^2), G = 1) or table",
                       choices=("kuzmin", "table")),
    "potential_table": Field(str, "", "potential = table: text file of two columns R, psi(R) "
                             "(R from 0, increasing; psi > 0)", file=True,
                             applies=("potential", ("table",))),
    "mass": Field(float, 1.0, "Kuzmin mass M", minimum=0, exclusive_minimum=True,
                  applies=("potential", ("kuzmin",))),
    "scale": Field(float, 1.0, "Kuzmin scale length a", minimum=0, exclusive_minimum=True,
                   applies=("potential", ("kuzmin",))),
    "eta_nodes": Field(int, 150, "nodes of f in eta = 1 - eps / eps_min(h) on [0, 1]",
                       minimum=2),
    "h_nodes": Field(int, 150, "nodes of f in angular momentum h on [h_min, h_max)", minimum=2),
    "h_min": Field(float, -2.0, "lowest h of the grid (negative: counter-rotating orbits)"),
    "h_max": Field(float, 3.0, "end of the h grid (excluded)"),
    "data": Field(str, "", "HDF5 or FITS file of measured major-axis profiles (empty: "
                  "simulate the iso-Q Kuzmin disk)", file=True),
    "toomre_q": Field(float, 1.25, "simulation: Toomre Q of the iso-Q disk", minimum=0,
                      exclusive_minimum=True, applies=SIMULATION_ONLY),
    "snr": Field(float, 30.0, "simulation: signal-to-noise of Eq. 45, sigma = F / snr + "
                 "max(F) sigma_background", minimum=0, exclusive_minimum=True,
                 applies=SIMULATION_ONLY),
    "sigma_background": Field(float, 1e-4, "simulation: noise floor relative to max(F) (> 0: "
                              "points no bound orbit reaches have F = 0)", minimum=0,
                              exclusive_minimum=True, applies=SIMULATION_ONLY),
    "noise": Field(bool, True, "simulation: add the noise (false: noise-free data, weighted "
                   "as if noisy)", applies=SIMULATION_ONLY),
    "seed": Field(int, 0, "simulation: seed of the noise", minimum=0, applies=SIMULATION_ONLY),
    "radii": Field(int, 50, "simulation: radii per slit, r_max (i + 1) / radii", minimum=1,
                   applies=SIMULATION_ONLY),
    "velocities": Field(int, 50, "simulation: velocities per radius, on [-v_esc, v_esc] at "
                        "the innermost radius", minimum=1, applies=SIMULATION_ONLY),
    "r_max": Field(float, 7.0, "simulation: outermost data radius", minimum=0,
                   exclusive_minimum=True, applies=SIMULATION_ONLY),
    "disk_edge": Field(float, 10.0, "simulation: the true DF is fitted to the profiles out "
                       "to this radius", minimum=0, exclusive_minimum=True,
                       applies=SIMULATION_ONLY),
    "truth_snr": Field(float, 10.0, "simulation: the true DF is fitted to the Gaussian "
                       "profiles weighted as data of this SNR", minimum=0,
                       exclusive_minimum=True, applies=SIMULATION_ONLY),
    "truth_chi_square": Field(float, 1.0, "simulation: chi-square per datum of that fit",
                              minimum=0, exclusive_minimum=True, applies=SIMULATION_ONLY),
    "missing": Field(list, [], "radius intervals without data, as pairs [r0, r1, r2, r3, "
                     "...]", items=float),
    "slit_angles": Field(list, [], "sky angles (degrees from the major axis, in (0, 90]) of "
                         "extra slits", items=float),
    "inclination": Field(float, 60.0, "disk inclination in degrees (90: edge-on), for the "
                         "extra slits", minimum=0, exclusive_minimum=True, maximum=90),
    "slit_data": Field(list, [], "measured data of the extra slits, one file per angle "
                       "(needs problem.data)", items=str),
}


@dataclass
class ProfileBlock:
    """One slit's data: ``angle`` (degrees, 0 = the major axis), the axes, and the profiles
    with variances where measured (None for a simulation: made from the truth)."""
    angle: float
    radii: np.ndarray
    velocities: np.ndarray
    mask: np.ndarray
    profiles: np.ndarray | None = None
    variances: np.ndarray | None = None

    @property
    def points(self) -> tuple:
        """(R, v) of the observed points, in C order of (radius, velocity)."""
        radius, velocity = np.meshgrid(self.radii, self.velocities, indexing="ij")
        return radius[self.mask], velocity[self.mask]


@dataclass
class PreparedDisk:
    values: dict
    potential: object
    grid: DistributionGrid
    blocks: list = field(default_factory=list)
    truth: object = None   # a simulation's f_true when already fitted (reproductions reuse it)
    truth_fit: str = "supplied"   # how its fit stopped ("converged", "max_iterations")

    def rows(self, start: int, stop: int) -> scipy.sparse.csr_matrix:
        """The kernel's rows [start, stop) of all blocks' observed points, in order."""
        pieces, offset = [], 0
        for block in self.blocks:
            radius, velocity = block.points
            low, high = max(start - offset, 0), min(stop - offset, radius.size)
            if low < high:
                pieces.append(block_rows(self.potential, self.grid, block.angle,
                                         radius[low:high], velocity[low:high],
                                         self.values["inclination"]))
            offset += radius.size
        if not pieces:
            return scipy.sparse.csr_matrix((0, self.grid.size))
        return scipy.sparse.vstack(pieces).tocsr()

    @property
    def count(self) -> int:
        return sum(int(block.mask.sum()) for block in self.blocks)


def block_rows(potential, grid, angle: float, radius, velocity, inclination: float):
    if angle == 0:
        return major_axis_rows(potential, grid, radius, velocity)
    return slit_rows(potential, grid, radius, velocity, angle, inclination)


def check_parameters(values: dict) -> list:
    problems = []
    if values["h_min"] >= values["h_max"]:
        problems.append(("problem.h_max", f"must exceed h_min = {values['h_min']:g}"))
    if values["potential"] == "table" and not values["potential_table"]:
        problems.append(("problem.potential_table", "is required for potential = table"))
    if len(values["missing"]) % 2:
        problems.append(("problem.missing", "needs pairs [r0, r1, ...]: an even count"))
    for angle in values["slit_angles"]:
        if not 0 < angle <= 90:
            problems.append(("problem.slit_angles", f"{angle:g} is not in (0, 90] degrees"))
    if values["data"] and len(values["slit_data"]) != len(values["slit_angles"]):
        problems.append(("problem.slit_data", f"needs one file per slit angle "
                                              f"({len(values['slit_angles'])}) with measured "
                                              f"data"))
    if values["slit_angles"] and values["inclination"] == 90:
        problems.append(("problem.inclination", "an edge-on disk (90) is a line on the sky: "
                                                "slits off the major axis see only its centre"))
    pairs = values["missing"]
    for low, high in zip(pairs[0::2], pairs[1::2]):
        if low > high:
            problems.append(("problem.missing", f"the interval [{low:g}, {high:g}] is "
                                                f"reversed"))
    if values["slit_data"] and not values["data"]:
        problems.append(("problem.slit_data", "measured slits need measured major-axis data "
                                              "(problem.data)"))
    return problems


def _potential(values: dict):
    if values["potential"] == "kuzmin":
        return KuzminPotential(values["mass"], values["scale"])
    path = values["potential_table"]
    try:
        table = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as error:
        raise InputError(("problem.potential_table", f"{path}: not a two-column table of "
                                                     f"numbers ({error})")) from error
    if table.shape[1] != 2:
        raise InputError(("problem.potential_table", f"{path}: needs two columns (R, psi), "
                                                     f"has {table.shape[1]}"))
    try:
        return TabulatedPotential(table[:, 0], table[:, 1])
    except ValueError as error:
        raise InputError(("problem.potential_table", f"{path}: {error}")) from error


def _missing(values: dict, radii: np.ndarray) -> np.ndarray:
    """True at the radii inside no missing interval."""
    keep = np.ones(radii.shape, bool)
    pairs = np.reshape(values["missing"], (-1, 2))
    for low, high in pairs:
        keep &= ~((radii >= low) & (radii <= high))
    return keep


def _simulated_blocks(values: dict, potential) -> list:
    radii, velocities = data_grid(values["radii"], values["velocities"], values["r_max"],
                                  potential=potential)
    mask = np.repeat(_missing(values, radii)[:, None], velocities.size, axis=1)
    return [ProfileBlock(angle, radii, velocities, mask)
            for angle in [0.0, *values["slit_angles"]]]


def _measured_blocks(values: dict) -> list:
    files = [("problem.data", values["data"], 0.0)] + [
        (f"problem.slit_data[{index}]", path, angle)
        for index, (path, angle) in enumerate(zip(values["slit_data"], values["slit_angles"]))]
    blocks = []
    for key, path, angle in files:
        measured = read_profiles(path, key)
        mask = measured.mask & _missing(values, measured.radii)[:, None]
        blocks.append(ProfileBlock(angle, measured.radii, measured.velocities, mask,
                                   measured.profiles, measured.variances))
    return blocks


def _check_ranges(prepared: PreparedDisk) -> None:
    """Radii and angular momenta the potential covers, and some data to fit."""
    potential, values = prepared.potential, prepared.values
    r_limit = potential.radius_range[1]
    key = "problem.data" if values["data"] else "problem.r_max"
    for block in prepared.blocks:
        # A slit off the major axis reaches the disk at radii stretched by r / R.
        reach = block.radii.max() * slit_geometry(block.angle, values["inclination"])[1]
        if reach > r_limit:
            raise InputError((key, f"the slit at {block.angle:g} degrees reaches disk radii up "
                                   f"to {reach:.6g}, outside the potential's table "
                                   f"(R <= {r_limit:.6g})"))
    h_limit = potential.angular_momentum_range()
    for name in ("h_min", "h_max"):
        if abs(values[name]) > h_limit:
            raise InputError((f"problem.{name}", f"|{values[name]:g}| exceeds the largest "
                                                 f"angular momentum of a circular orbit inside "
                                                 f"the potential's table ({h_limit:.6g})"))
    if prepared.count == 0:
        raise InputError(("problem.missing", "no data left: every radius is masked"))


def prepare(values: dict) -> PreparedDisk:
    """Potential, grid and data blocks, read and checked on this rank."""
    potential = _potential(values)
    if not values["data"] and not isinstance(potential, KuzminPotential):
        raise InputError(("problem.potential", "the simulation is the iso-Q Kuzmin disk: "
                                               "a tabulated potential needs problem.data"))
    grid = DistributionGrid(values["eta_nodes"], values["h_nodes"], values["h_min"],
                            values["h_max"])
    blocks = _measured_blocks(values) if values["data"] else _simulated_blocks(values, potential)
    prepared = PreparedDisk(values, potential, grid, blocks)
    _check_ranges(prepared)
    if not values["data"]:
        try:   # at the radii the truth's fit evaluates the profiles (the innermost are hottest)
            disk = IsoQDisk(potential, values["toomre_q"])
            disk.moments(np.unique(truth_points(disk, values["disk_edge"])[0]))
        except ValueError as error:
            raise InputError(("problem.toomre_q", str(error))) from error
    return prepared
