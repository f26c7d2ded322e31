"""``hpcinv mock JOB --out CUBE.fits``: a galaxy job's mock galaxy as a datacube in the MUSE
layout (DATA, STAT, NOISEFREE), e.g. to run the real-data path (problem.cube) on it."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...core.jobspec import PROBLEMS, JobSpec
from ...core import petsc_env
from ...core.errors import InputError
from ...core.mpi import agree
from .datacube import rows_to_fits, write_cube_fits
from .mock import noise_deviation


def check_mock_job(spec: JobSpec) -> None:
    problem = spec.problem
    if problem["kind"] != "galaxy":
        raise InputError(("problem.kind", f"hpcinv mock writes the cube of a galaxy mock; "
                                          f"this job's problem is {problem['kind']!r}"))
    if problem["cube"]:
        raise InputError(("problem.cube", "this job reads a datacube; hpcinv mock needs a "
                                          "mock galaxy job (no cube)"))
    if problem["noise_level"] == 0:
        raise InputError(("problem.noise_level", "must be > 0: the cube's variance (STAT) "
                                                 "would be zero"))
    if problem["good_wavelengths"]:
        raise InputError(("problem.good_wavelengths", "a mock cube holds every observed "
                                                      "pixel; mask the job that reads it"))


def _check_target(path: str) -> None:
    if not path.endswith(".fits"):
        raise InputError(("--out", f"must end with .fits, got {path}"))
    existing = Path(path).resolve().parent
    while not existing.is_dir():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise InputError(("--out", f"cannot write to {existing}"))


def _gathered(rows: np.ndarray, mpi) -> np.ndarray | None:
    """A rank's rows, all of them in order on rank 0 (None elsewhere)."""
    parts = mpi.gather(rows, root=0)
    return np.concatenate(parts) if mpi.rank == 0 else None


def write_mock_cube(spec: JobSpec, path: str) -> Path:
    """Build the job's mock galaxy on all ranks; rank 0 writes the cube, its noise-free
    cube and the variance the mock's noise was drawn with."""
    check_mock_job(spec)
    comm = petsc_env.initialize().COMM_WORLD
    mpi = comm.tompi4py()
    agree(mpi, _check_target, path)     # ranks may see different file systems
    kind = PROBLEMS.get("galaxy", "problem.kind")
    problem = kind.build(agree(mpi, kind.prepare, spec.problem), comm)
    operator, equations = problem.operator, problem.wavelengths.size
    data = _gathered(operator.rows(problem.data, equations), mpi)
    clean = _gathered(operator.rows(problem.noise_free_data, equations), mpi)

    def write() -> None:
        if mpi.rank > 0:
            return
        grid, level = problem.derived_grid, spec.problem["noise_level"]
        nx, ny = grid.sky_x.size, grid.sky_y.size
        variance = noise_deviation(clean, level) ** 2
        cards = {"ORIGIN": ("hpcinv mock", "a galaxy job's mock galaxy"),
                 "MESH": Path(spec.problem["mesh"]).name, "ORDER": spec.problem["order"],
                 "SEED": spec.problem["seed"], "NOISELEV": (level, "noise / |noise-free|"),
                 "FLUXSCAL": (problem.attributes["flux_scale"], "template flux unit")}
        if spec.problem["instrumental_fwhm"]:
            cards["INSTFWHM"] = (spec.problem["instrumental_fwhm"], "[Angstrom] line-spread "
                                                                    "FWHM of the templates")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_cube_fits(path, rows_to_fits(data, nx, ny), rows_to_fits(variance, nx, ny),
                        problem.wavelengths, grid.sky_x, grid.sky_y,
                        noise_free=rows_to_fits(clean, nx, ny), cards=cards)

    agree(mpi, write)   # a failed write on rank 0 fails every rank
    return Path(path)
