"""The capability penalised-likelihood solvers read from a problem: the unknown's mesh."""
from __future__ import annotations

from dataclasses import dataclass

from ...core.problem import Capability


@dataclass
class PenaltyGrid(Capability):
    """The mesh the unknown lives on, for penalties that couple neighbours (a floating
    prior's smoothing, roughness): ``shape`` (C order, the unknown's ordering), ``spacing``
    per axis, and ``cuts``, pairs (axis, index) across which nothing is coupled: entries
    index - 1 and index along that axis are treated as the ends of two independent
    pieces (the disk's h = 0, where the distribution function has a cusp)."""
    description = "a penalty grid (the unknown's mesh, its spacing and cuts)"
    examples = "disk"

    shape: tuple
    spacing: tuple = ()
    cuts: tuple = ()

    def __post_init__(self):
        self.shape = tuple(int(n) for n in self.shape)
        self.spacing = tuple(float(s) for s in self.spacing) or (1.0,) * len(self.shape)
        self.cuts = tuple((int(axis), int(index)) for axis, index in self.cuts)
        if len(self.spacing) != len(self.shape):
            raise ValueError(f"spacing: one per axis ({len(self.shape)}), got {self.spacing}")
        for axis, index in self.cuts:
            if not (0 <= axis < len(self.shape) and 0 < index < self.shape[axis]):
                raise ValueError(f"cuts: ({axis}, {index}) is not inside the shape {self.shape}")

    @classmethod
    def of_problem(cls, problem) -> "PenaltyGrid":
        """The problem's grid, else its ``grid_shape`` with unit spacing, else one axis."""
        grid = problem.capability(cls)
        if grid is not None:
            return grid
        shape = tuple(problem.grid_shape) or (problem.operator.shape[1],)
        if _product(shape) != problem.operator.shape[1]:
            shape = (problem.operator.shape[1],)
        return cls(shape)


def _product(shape) -> int:
    size = 1
    for n in shape:
        size *= int(n)
    return size
