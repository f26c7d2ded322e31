"""Where hpcinv itself lives: the checkout of an editable install or a container, whose
jobs/ and meshes/ are data every job may read."""
from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent   # hpcinv/


def project_root() -> Path | None:
    """The checkout hpcinv runs from (editable installs, containers), if it ships jobs/."""
    root = _PACKAGE_DIR.parent
    return root if (root / "jobs").is_dir() else None
