"""Memory estimate of the ``disk`` problem kind from its values alone: the kernel's rows
touch at most two h nodes and the eta nodes above eta_c, so at most 2 K entries each (the
estimate counts them all); the data, weights and truth vectors; and, for a simulation, the
truth's fit (a kernel of the disk-edge profiles and the subspace method's vectors)."""
from __future__ import annotations

from ...core.errors import InputError
from ...core.memory import MemoryEstimate, assembled_sparse, vectors
from .data import read_profiles
from .problem import check_parameters

# The six-direction fit of the truth: its directions, curvatures and work vectors.
_TRUTH_VECTORS = 18


def disk_memory(values: dict) -> MemoryEstimate | None:
    if check_parameters(values):
        return None
    slits = 1 + len(values["slit_angles"])
    n = values["eta_nodes"] * values["h_nodes"]
    if values["data"]:
        try:
            rows = sum(read_profiles(path).profiles.size
                       for path in [values["data"], *values["slit_data"]])
        except InputError:
            return None   # validation reports it
    else:
        rows = values["radii"] * values["velocities"] * slits
    distributed = assembled_sparse(rows, 2 * values["eta_nodes"] * rows) + vectors(4, rows) \
        + vectors(3, n)
    if not values["data"]:
        truth_rows = values["radii"] * values["velocities"]
        distributed += (assembled_sparse(truth_rows, 2 * values["eta_nodes"] * truth_rows)
                        + vectors(_TRUTH_VECTORS, n) + assembled_sparse(n, 9 * n))
    return MemoryEstimate(distributed, vectors(6, rows), keys=("problem.eta_nodes",
                                                                "problem.h_nodes"),
                          rows=rows, columns=n,
                          facts={"grid_shape": (values["eta_nodes"], values["h_nodes"]),
                                 "row_entries": 2 * values["eta_nodes"]})
