"""matplotlib without a display: new figures, labelled image panels, and saving a figure."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_panel(axis, values, *, title: str, colorbar_label: str, xlabel: str, ylabel: str,
                **imshow):
    """``values`` drawn on ``axis`` with a labelled colour bar; ``imshow`` takes matplotlib's
    keywords (extent, origin, cmap, vmin, vmax).  Returns the image."""
    image = axis.imshow(values, **imshow)
    colorbar = axis.figure.colorbar(image, ax=axis, shrink=0.8)
    colorbar.set_label(colorbar_label)
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    return image


def symmetric_limits(values) -> dict:
    """vmin/vmax centred on 0, for differences drawn with a diverging colour map."""
    finite = np.abs(np.asarray(values)[np.isfinite(values)])
    spread = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return {"vmin": -spread, "vmax": spread}


def save(figure, target: Path) -> Path:
    """Write ``figure`` to ``target`` (format from the suffix) and release it."""
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    pyplot().close(figure)
    return target
