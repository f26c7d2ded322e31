"""``hpcinv reproduce NAME``: experiments that reproduce a paper's reported figures and print
our numbers beside the paper's (``--json`` for machine-readable rows).

Each experiment is a module here with ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; it is imported only when chosen, so its dependencies (pPXF, say) are
needed only then.  These are long runs: they belong here, not in the tests.
"""
from __future__ import annotations

import importlib

EXPERIMENTS = {   # name -> module in this package
    "pnkr-paper": "pnkr_paper",
    "pnkr-vs-ppxf": "pnkr_vs_ppxf",
    "luiken-ch3": "luiken_ch3",
}


def experiment(name: str):
    return importlib.import_module(f"{__name__}.{EXPERIMENTS[name]}")
