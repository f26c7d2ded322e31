"""matplotlib without a display, and saving a figure."""
from __future__ import annotations

from pathlib import Path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(plt, figure, target: Path) -> Path:
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target


