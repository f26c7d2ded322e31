"""``hpcinv reproduce NAME``: experiments that reproduce a paper's reported figures and print
our numbers beside the paper's (``--json`` for machine-readable rows).

Each experiment is a module here with ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; it is imported only when chosen, so its dependencies (pPXF, say) are
needed only then.  These are long runs: they belong here, not in the tests.
"""
from __future__ import annotations

import importlib
import math
import sys

EXPERIMENTS = {   # name -> module in this package
    "pnkr-paper": "pnkr_paper",
    "pnkr-vs-ppxf": "pnkr_vs_ppxf",
    "luiken-ch3": "luiken_ch3",
    "recycling": "recycling",
}


def experiment(name: str):
    return importlib.import_module(f"{__name__}.{EXPERIMENTS[name]}")


def rank0_progress(comm, quiet: bool):
    """``say(message)``: a progress line on rank 0's stderr unless ``quiet``."""
    def say(message: str) -> None:
        if comm.rank == 0 and not quiet:
            print(f"hpcinv: {message}", file=sys.stderr, flush=True)
    return say


def json_safe(row: dict) -> dict:
    """The row with non-finite floats as None (JSON has no NaN)."""
    return {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in row.items()}
