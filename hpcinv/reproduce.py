"""``hpcinv reproduce NAME``: experiments that reproduce a paper's reported figures and print
our numbers beside the paper's (``--json`` for machine-readable rows).

Each experiment lives in its application (``apps/<domain>/reproduce_<name>.py``) with
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; it is imported only
when chosen, so its dependencies (pPXF, say) are needed only then.  These are long runs:
they belong here, not in the tests.
"""
from __future__ import annotations

import importlib

EXPERIMENTS = {   # name -> module
    "pnkr-paper": "hpcinv.apps.galaxy.reproduce_pnkr_paper",
    "pnkr-vs-ppxf": "hpcinv.apps.galaxy.reproduce_pnkr_vs_ppxf",
    "luiken-ch3": "hpcinv.apps.classic.reproduce_luiken_ch3",
    "recycling": "hpcinv.apps.imaging.reproduce_recycling",
    "luiken-ch4": "hpcinv.apps.seismic.reproduce_luiken_ch4",
    "luiken-ch5": "hpcinv.apps.seismic.reproduce_luiken_ch5",
    "luiken-ch6": "hpcinv.apps.classic.reproduce_luiken_ch6",
    "pichon-thiebaut": "hpcinv.apps.disk.reproduce_pichon_thiebaut",
}


def experiment(name: str):
    return importlib.import_module(EXPERIMENTS[name])
