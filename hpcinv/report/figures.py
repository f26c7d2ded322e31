"""``hpcinv plot``: figures (PNG) and FITS images from a result file (serial; no MPI needed).

Every result gets a convergence figure from /history; a problem kind adds its own
(``ProblemKind.figures``: the galaxy app's maps, LOSVDs and FITS maps).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.io.results import read_products
from ..core.plotting import pyplot, save


def convergence_figure(history: dict, target: Path) -> Path:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    iterations = history["iteration"]
    axis.semilogy(iterations, history["relative_residual"], label="relative residual")
    if np.isfinite(history.get("relative_error", [np.nan])).any():
        axis.semilogy(iterations, history["relative_error"], label="relative error")
    if "noise_free_residual" in history:
        axis.semilogy(iterations, history["noise_free_residual"],
                      label="residual vs noise-free data")
    axis.set_xlabel("iteration (PNKR: loop)")
    axis.legend()
    return save(plt, figure, target)


def plot_result(path: str, directory: str | None = None) -> list[Path]:
    """Write every figure (and FITS image) for a result; returns the files written."""
    from ..core.jobspec import PROBLEMS

    derived, history, attributes = read_products(path)
    out = Path(directory) if directory else Path(path).parent
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    written = []
    if history:
        written.append(convergence_figure(history, out / f"{stem}-convergence.png"))
    kind = attributes.get("problem_kind")
    if kind in PROBLEMS.names():
        written += PROBLEMS.get(kind, "problem_kind").figures(derived, out, stem)
    return written
