"""Problems and solvers register by name, so new kinds plug in without touching the CLI.

Built-in kinds register when ``hpcinv.apps.kinds`` / ``hpcinv.solvers.kinds`` are imported
(the registries do so on first use); other packages can add kinds through the entry-point
groups ``hpcinv.problems`` and ``hpcinv.solvers``, or by calling ``register`` from a driver
script.
"""
from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

from ..errors import InputError
from .kinds import ProblemKind, SolverKind


class Registry:
    def __init__(self, what: str, builtin_module: str, base: type):
        self.what = what
        self._builtin_module = builtin_module
        self._base = base
        self._kinds: dict[str, type] = {}
        self._loaded = False

    def register(self, name: str):
        def decorate(cls):
            if not (isinstance(cls, type) and issubclass(cls, self._base)):
                raise TypeError(f"{self.what} kind {name!r}: {cls!r} is not a subclass of "
                                f"{self._base.__module__}.{self._base.__name__}")
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
            if entry.name not in self._kinds:
                try:
                    self.register(entry.name)(entry.load())
                except (ImportError, TypeError) as error:
                    # One broken plugin must not take the built-in kinds down with it.
                    print(f"hpcinv: warning: {self.what} kind {entry.name!r} from "
                          f"{entry.value} is not loaded: {error}", file=sys.stderr)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._kinds)

    def get(self, name: str, key: str):
        self._load()
        if name not in self._kinds:
            raise InputError((key, f"unknown {self.what} kind {name!r} "
                                   f"(known kinds: {', '.join(self.names())})"))
        return self._kinds[name]


PROBLEMS = Registry("problem", "hpcinv.apps.kinds", ProblemKind)
SOLVERS = Registry("solver", "hpcinv.solvers.kinds", SolverKind)
