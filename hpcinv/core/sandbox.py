"""Service mode: hpcinv run on behalf of other users may touch only the directories its
operator allows.

``HPCINV_SANDBOX`` (or ``--sandbox DIR``, which sets it) lists directories separated by
``:``.  When set, every input a job names must resolve, after symbolic links, inside one of
them or inside hpcinv's own data (its meshes/ and jobs/), and every output inside one of
them; ``[petsc]`` options that name files or start programs are refused
(``core.petsc_options``).  Refusals do not say whether a file outside exists.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .installation import project_root

ENV = "HPCINV_SANDBOX"


def directories() -> list[str]:
    """The allowed directories (real paths); empty when service mode is off."""
    return [os.path.realpath(os.path.expanduser(d))
            for d in os.environ.get(ENV, "").split(os.pathsep) if d]


def active() -> bool:
    return bool(directories())


def enable(directory: str) -> None:
    """Add ``directory`` to the allowed ones (the ``--sandbox`` option; under mpirun every
    rank parses the same command line, so every rank calls this)."""
    current = os.environ.get(ENV, "")
    os.environ[ENV] = os.pathsep.join(d for d in (current, directory) if d)


def _installation_data() -> list[str]:
    roots = [Path(sys.prefix) / "share" / "hpcinv"]
    root = project_root()
    if root is not None:
        roots += [root / "meshes", root / "jobs"]
    return [os.path.realpath(r) for r in roots]


def _inside(path: str, allowed: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == d or real.startswith(d.rstrip(os.sep) + os.sep) for d in allowed)


def readable(path: str) -> bool:
    """True when a job may read ``path`` (always, outside service mode)."""
    allowed = directories()
    return not allowed or _inside(path, allowed + _installation_data())


def input_refusal(path: str) -> str | None:
    if readable(path):
        return None
    return f"{path} is outside the directories this service may read ({ENV})"


def output_refusal(path: str) -> str | None:
    allowed = directories()
    if not allowed or _inside(path, allowed):
        return None
    return f"{path} is outside the directories this service may write ({ENV})"
