"""Solver state that can be saved and restored exactly, with the per-iteration history."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HISTORY_FIELDS = ("iteration", "residual_norm", "relative_residual", "discrepancy_target",
                  "relative_error", "seconds")


@dataclass
class History:
    """Per-iteration records: the HISTORY_FIELDS of every solver plus any columns a solver
    adds (NaN where a row lacks them).  ``relative_error`` is NaN when the truth is unknown;
    ``seconds`` counts solve time since the first start, across restarts."""
    columns: dict = field(default_factory=lambda: {name: [] for name in HISTORY_FIELDS})

    def append(self, **row) -> None:
        count = len(self)
        for name in row:
            self.columns.setdefault(name, [float("nan")] * count)
        for name, values in self.columns.items():
            values.append(row.get(name, float("nan")))

    def __len__(self) -> int:
        return len(self.columns["iteration"])

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(values, dtype=np.int64 if name == "iteration" else float)
                for name, values in self.columns.items()}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "History":
        return cls({name: list(np.asarray(values).tolist()) for name, values in arrays.items()})


@dataclass
class SolverState:
    """Everything a solver needs to continue: distributed vectors (PETSc Vecs), replicated
    scalars, the iteration counter, an optional RNG state (JSON-able) and the history."""
    vectors: dict = field(default_factory=dict)
    scalars: dict = field(default_factory=dict)
    iteration: int = 0
    rng: dict | None = None
    history: History = field(default_factory=History)
    # {vector name: its natural_row_ranges}, for a vector whose Vec order depends on the
    # number of ranks (SR3's y in L's range): checkpoints store it in that natural order,
    # so a run resumes on any number of ranks.
    orders: dict = field(default_factory=dict)
    seconds: float = 0.0   # solve time spent before this session (earlier runs)
