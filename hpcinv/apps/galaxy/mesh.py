"""Galaxy meshes (meshes/galaxy/*.toml): the sky grid Omega, the velocity grid, which SSP
templates span (metallicity, age), and the observed wavelengths.

    [omega]                     # sky positions on [-1, 1]^2
    nodes = [26, 26]
    [velocity]                  # line-of-sight velocity, km/s
    nodes = 27
    range = [-1000.0, 1000.0]
    [populations]               # the (metallicity, age) nodes are the library's grid
    library = "miles"           # "miles" (fetched at set-up), "synthetic", or a directory
    metallicity_stride = 1      # keep every k-th metallicity / age of the library
    age_stride = 1
    [wavelength]                # observed pixels, uniform in ln(lambda)
    range = [4800.0, 5700.0]    # Angstrom
    velscale = 75.0             # km/s per pixel
    [quadrature]
    velocity_points = 8         # Gauss-Legendre points per velocity cell
"""
from __future__ import annotations

from dataclasses import dataclass

from ...core.jobspec.schema import Field, validate_tables
from ...core.errors import InputError
from ...core.io.inputs import read_toml_file

SCHEMA = {
    "omega": {"nodes": Field(list, help="nodes per sky axis", items=int, minimum=2, length=(2,)),
              "range": Field(list, [-1.0, 1.0], "extent of both sky axes", items=float,
                             length=(2,))},
    "velocity": {"nodes": Field(int, help="velocity nodes", minimum=2),
                 "range": Field(list, [-1000.0, 1000.0], "km/s", items=float, length=(2,))},
    "populations": {"library": Field(str, "miles", "miles, synthetic, or a FITS directory"),
                    "metallicity_stride": Field(int, 1, minimum=1),
                    "age_stride": Field(int, 1, minimum=1)},
    "wavelength": {"range": Field(list, [4800.0, 5700.0], "Angstrom", items=float,
                                  length=(2,), minimum=0, exclusive_minimum=True),
                   "velscale": Field(float, 75.0, "km/s per pixel", minimum=0,
                                     exclusive_minimum=True)},
    "quadrature": {"velocity_points": Field(int, 8, minimum=1, maximum=64)},
}


@dataclass(frozen=True)
class GalaxyMesh:
    omega_nodes: tuple
    omega_range: tuple
    velocity_nodes: int
    velocity_range: tuple
    library: str
    metallicity_stride: int
    age_stride: int
    wavelength_range: tuple
    velscale: float
    velocity_points: int
    source: str


def _increasing_ranges(values: dict) -> list:
    return [(f"{table}.range", f"must be increasing, got {list(table_values['range'])}")
            for table, table_values in values.items()
            if "range" in table_values and table_values["range"][1] <= table_values["range"][0]]


def _mesh(values: dict, source: str) -> GalaxyMesh:
    return GalaxyMesh(
        omega_nodes=tuple(values["omega"]["nodes"]), omega_range=tuple(values["omega"]["range"]),
        velocity_nodes=values["velocity"]["nodes"],
        velocity_range=tuple(values["velocity"]["range"]),
        library=values["populations"]["library"],
        metallicity_stride=values["populations"]["metallicity_stride"],
        age_stride=values["populations"]["age_stride"],
        wavelength_range=tuple(values["wavelength"]["range"]),
        velscale=values["wavelength"]["velscale"],
        velocity_points=values["quadrature"]["velocity_points"], source=source)


def load_galaxy_mesh(path: str, key: str = "problem.mesh") -> GalaxyMesh:
    values, problems = validate_tables(read_toml_file(path, key, "mesh"), SCHEMA)
    problems += _increasing_ranges(values)
    if problems:
        raise InputError([(key, f"mesh {path}: {k}: {m}") for k, m in problems])
    return _mesh(values, str(path))


def base_mesh(**keys) -> GalaxyMesh:
    """A mesh of the schema's defaults with the velocity and population keys set (as
    keyword arguments named like GalaxyMesh's fields), checked as a mesh file's values are,
    errors naming ``hpcinv mesh``'s flags (``hpcinv mesh from-cube`` starts from one)."""
    tables = {"omega": {"nodes": [2, 2]},
              "velocity": {"nodes": keys.pop("velocity_nodes"),
                           "range": list(keys.pop("velocity_range"))},
              "populations": {name: keys.pop(name) for name in
                              ("library", "metallicity_stride", "age_stride") if name in keys}}
    if keys:
        raise TypeError(f"base_mesh: unknown keys {sorted(keys)}")
    values, problems = validate_tables(tables, SCHEMA)
    problems += _increasing_ranges(values)
    if problems:
        raise InputError([("--" + key.split(".")[-1].replace("_", "-")
                           if key.startswith("populations") else "--" + key.replace(".", "-"),
                           message) for key, message in problems])
    return _mesh(values, "")
