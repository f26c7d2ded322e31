"""Where relative input paths (meshes, data, templates) are looked up.

A job names ``mesh = "meshes/..."`` relative to the project, but runs from anywhere (a SLURM
work directory, a container's /data).  Lookup order: the path as given (absolute or relative
to the working directory), the job file's directory, each directory of ``HPCINV_PATH``
(colon-separated), the hpcinv source tree of an editable install, and ``<prefix>/share/hpcinv``
where a wheel installs meshes/ and jobs/.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .installation import project_root
from .sandbox import readable


def search_dirs(spec_dir: Path | None = None) -> list[Path]:
    dirs = [Path.cwd()]
    if spec_dir is not None:
        dirs.append(Path(spec_dir))
    dirs += [Path(d) for d in os.environ.get("HPCINV_PATH", "").split(os.pathsep) if d]
    root = project_root()
    if root is not None:
        dirs.append(root)
    dirs.append(Path(sys.prefix) / "share" / "hpcinv")
    return dirs


def resolve_input(name: str, spec_dir: Path | None = None) -> str | None:
    """Absolute path of an existing input file (one the sandbox lets a job read), or
    None."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return str(path) if readable(str(path)) and path.is_file() else None
    for directory in search_dirs(spec_dir):
        candidate = directory / path
        # In service mode, places outside the sandbox are not even looked at.
        if readable(str(candidate)) and candidate.is_file():
            return str(candidate.resolve())
    return None


def resolve_galaxy_mesh(name: str, key: str) -> str:
    """A galaxy mesh given by name (paper, demo, kinematics, large, tiny) or as a file; InputError under
    ``key`` when there is neither."""
    from .errors import InputError

    path = resolve_input(name) or resolve_input(f"meshes/galaxy/{name}.toml")
    if path is None:
        raise InputError((key, f"no mesh file {name} and no meshes/galaxy/{name}.toml"))
    return path
