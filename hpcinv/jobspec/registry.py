"""Problems and solvers register by name, so new kinds plug in without touching the CLI.

Built-in kinds register when ``hpcinv.problems`` / ``hpcinv.solvers`` are imported; other
packages can add kinds through the entry-point groups ``hpcinv.problems`` and
``hpcinv.solvers``, or by calling ``register`` from a driver script.
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ..runtime.errors import InputError


class Registry:
    def __init__(self, what: str, builtin_module: str):
        self.what = what
        self._builtin_module = builtin_module
        self._kinds: dict[str, type] = {}
        self._loaded = False

    def register(self, name: str):
        def decorate(cls):
            self._kinds[name] = cls
            cls.kind = name
            return cls
        return decorate

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        importlib.import_module(self._builtin_module)
        for entry in entry_points(group=f"hpcinv.{self.what}s"):
            self._kinds.setdefault(entry.name, entry.load())

    def names(self) -> list[str]:
        self._load()
        return sorted(self._kinds)

    def get(self, name: str, key: str):
        self._load()
        if name not in self._kinds:
            raise InputError((key, f"unknown {self.what} kind {name!r} "
                                   f"(known kinds: {', '.join(self.names())})"))
        return self._kinds[name]


PROBLEMS = Registry("problem", "hpcinv.problems")
SOLVERS = Registry("solver", "hpcinv.solvers")
