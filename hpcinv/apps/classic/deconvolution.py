"""Gaussian deconvolution on 1-D and 2-D grids: the platform's built-in test problem.

The forward operator is the separable Gaussian blur (midpoint quadrature, zero boundary),
assembled as a distributed AIJ matrix.  Data are either synthesised from a built-in truth
with Gaussian noise of a given relative level (||e|| = noise_level ||A x_true||, seeded and
independent of the rank count), or read from an HDF5 file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.jobspec import Field
from ...operators.gaussian import gaussian_blur
from ...linalg.random import normal_slice
from ...core.errors import InputError
from ...core.io.inputs import read_hdf5_array
from ...core.problem import Problem
from .grid import Grid, load_grid


def shapes_truth(grid: Grid, start: int, stop: int) -> np.ndarray:
    """A piecewise-smooth test object: box, bump and hat in 1-D; disk, rectangle and
    Gaussian bump in 2-D (coordinates scaled to the unit box)."""
    unit = [(c - l) / (u - l) for c, l, u in zip(grid.centers(start, stop), grid.lower, grid.upper)]
    if len(unit) == 1:
        t = unit[0]
        return (((t > 0.15) & (t < 0.35)) * 1.0
                + 0.8 * np.exp(-0.5 * ((t - 0.6) / 0.04) ** 2)
                + 0.5 * np.maximum(0.0, 1 - np.abs(t - 0.8) / 0.07))
    y, x = unit[0], unit[1]
    disk = ((y - 0.35) ** 2 + (x - 0.35) ** 2 < 0.18 ** 2) * 1.0
    rectangle = ((y > 0.55) & (y < 0.85) & (x > 0.2) & (x < 0.45)) * 0.7
    bump = 0.9 * np.exp(-0.5 * ((y - 0.65) ** 2 + (x - 0.7) ** 2) / 0.08 ** 2)
    return disk + rectangle + bump


@dataclass
class _Prepared:
    grid: Grid
    values: dict
    data: np.ndarray | None      # the whole data vector when read from a file
    truth: np.ndarray | None


def _read_dataset(path: str, name: str, key: str, size: int, grid: Grid) -> np.ndarray:
    array = read_hdf5_array(path, name, key)
    if array.size != size or array.shape not in ((size,), grid.shape):
        raise InputError((key, f"dataset {name!r} in {path} has shape {array.shape}; the mesh "
                               f"needs {grid.shape} or ({size},)"))
    return array.ravel()


PARAMETERS = {
    "mesh": Field(str, help="grid mesh file (meshes/deconvolution/*.toml)", file=True),
    "sigma": Field(float, 0.02, "kernel standard deviation in domain units",
                   minimum=0, exclusive_minimum=True),
    "truncate": Field(float, 4.0, "kernel cut-off in standard deviations", minimum=1),
    "noise_level": Field(float, 0.01, "relative noise ||e||/||A x_true|| of synthetic "
                         "data, or the assumed relative noise of data from a file",
                         minimum=0, maximum=1),
    "seed": Field(int, 0, "seed of the synthetic noise", minimum=0),
    "data": Field(str, "", "HDF5 file with measured data (empty: synthesise data)",
                  file=True),
    "data_dataset": Field(str, "data", "dataset name of the data in that file"),
    "truth_dataset": Field(str, "", "optional dataset of the true solution in that file"),
}


def prepare(values: dict) -> _Prepared:
    """The grid and any data file, read and checked on this rank."""
    grid = load_grid(values["mesh"], "problem.mesh")
    if len(grid.shape) > 2:
        raise InputError(("problem.mesh", f"deconvolution needs a 1-D or 2-D grid, "
                                          f"got {len(grid.shape)}-D"))
    data = truth = None
    if values["data"]:
        path = values["data"]
        data = _read_dataset(path, values["data_dataset"], "problem.data", grid.size, grid)
        if values["truth_dataset"]:
            truth = _read_dataset(path, values["truth_dataset"], "problem.truth_dataset",
                                  grid.size, grid)
    elif values["truth_dataset"]:
        raise InputError(("problem.truth_dataset", "needs problem.data"))
    return _Prepared(grid, values, data, truth)


def build(prepared: _Prepared, comm) -> Problem:
    """The distributed problem (collective)."""
    grid, values = prepared.grid, prepared.values
    operator = gaussian_blur(comm, grid.shape, grid.spacing, values["sigma"], values["truncate"])
    truth, data = operator.create_vecs()
    start, stop = data.getOwnershipRange()
    if prepared.data is not None:
        data.getArray()[:] = prepared.data[start:stop]
        noise_norm = values["noise_level"] * data.norm()
        if prepared.truth is not None:
            truth.getArray()[:] = prepared.truth[start:stop]
        else:
            truth = None
    else:
        truth.getArray()[:] = shapes_truth(grid, *truth.getOwnershipRange())
        operator.mult(truth, data)
        noise = data.duplicate()
        noise.getArray()[:] = normal_slice(values["seed"], start, stop)
        noise_norm = values["noise_level"] * data.norm()
        noise.scale(noise_norm / noise.norm())
        data.axpy(1.0, noise)
    return Problem(operator=operator, data=data, noise_norm=noise_norm, truth=truth,
                   grid_shape=grid.shape,
                   attributes={"mesh": values["mesh"], "sigma": values["sigma"]})
