"""Package exports that load their module on first use (PEP 562), so importing a package for
one name does not import all of its siblings (numba for PNKR, scipy for the problems)."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict):
    """(``__getattr__``, ``__dir__``) for the package ``package`` whose attribute ``name``
    is ``exports[name]`` (a module relative to the package) ``.name``."""
    def __getattr__(name: str):   # noqa: N807 - the module hook's name
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name], package), name)

    def __dir__():   # noqa: N807
        return sorted(exports)

    return __getattr__, __dir__
