"""Regular grids described by small TOML files in meshes/.

    [grid]
    shape = [64, 64]          # nodes per axis (C order: the last axis varies fastest)
    lower = [0.0, 0.0]        # domain box; cell-centred nodes
    upper = [1.0, 1.0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.jobspec.schema import Field, validate_table
from ...core.errors import InputError
from ...core.io.inputs import read_toml_file

GRID_SCHEMA = {
    "shape": Field(list, help="nodes per axis", items=int, minimum=1, length=(1, 2, 3)),
    "lower": Field(list, None, "lower corner of the domain (default 0)", items=float),
    "upper": Field(list, None, "upper corner of the domain (default 1)", items=float),
}


@dataclass(frozen=True)
class Grid:
    shape: tuple
    lower: tuple
    upper: tuple

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> tuple:
        return tuple((u - l) / n for l, u, n in zip(self.lower, self.upper, self.shape))

    def centers(self, start: int, stop: int) -> list[np.ndarray]:
        """Coordinates (one array per axis) of the flat C-ordered nodes [start, stop)."""
        index = np.unravel_index(np.arange(start, stop), self.shape)
        return [l + (i + 0.5) * h for l, i, h in zip(self.lower, index, self.spacing)]


def load_grid(path: str, key: str) -> Grid:
    """Read a grid mesh; problems are reported as ``key (path): grid.field: message``."""
    data = read_toml_file(path, key, "mesh")
    table = data.get("grid")
    if not isinstance(table, dict):
        raise InputError((key, f"mesh {path} has no [grid] table"))
    values, problems = validate_table(table, GRID_SCHEMA, "grid")
    dims = len(values["shape"]) if isinstance(values.get("shape"), list) else 0
    for name, default in (("lower", 0.0), ("upper", 1.0)):
        if not problems and values[name] is None:
            values[name] = [default] * dims
        elif not problems and len(values[name]) != dims:
            problems.append((f"grid.{name}", f"expected {dims} entries like grid.shape"))
    if not problems and any(u <= l for l, u in zip(values["lower"], values["upper"])):
        problems.append(("grid.upper", "must exceed grid.lower on every axis"))
    if problems:
        raise InputError([(key, f"mesh {path}: {k}: {m}") for k, m in problems])
    return Grid(tuple(values["shape"]), tuple(map(float, values["lower"])),
                tuple(map(float, values["upper"])))
