"""The solution of a grid problem: images of solution, truth and error on a 2-D grid
(deblurring, tomography, adaptive optics, ...), a line plot of solution and truth in 1-D.

The truth is in a result only when the job stored its data (``[output] store_data``, the
default) and the problem knows one.  Grids of more dimensions (the galaxy's 5-D
distribution) are left to the problem kind's own figures.
"""
from __future__ import annotations

import numpy as np

from ..core.io.results import ResultProducts
from ..core.plotting import image_panel, pyplot, symmetric_limits
from .convergence import run_title

# Matrix order, as the grid is stored: element [i, j] in row i, column j, row 0 on top.
ROW_LABEL = "pixel index i (grid axis 0)"
COLUMN_LABEL = "pixel index j (grid axis 1)"
VALUE_LABEL = "value"
INDEX_LABEL = "unknown index"


def _panels(solution: np.ndarray, truth: np.ndarray | None) -> list[tuple]:
    """(title, values, colour-bar label, imshow keywords) per panel; solution and truth share
    one colour scale so their intensities compare, the error is centred on 0."""
    if truth is None:
        return [("solution", solution, VALUE_LABEL, {})]
    both = np.concatenate([solution.ravel(), truth.ravel()])
    shared = {"vmin": float(np.nanmin(both)), "vmax": float(np.nanmax(both))}
    error = solution - truth
    return [("solution", solution, VALUE_LABEL, shared),
            ("truth", truth, VALUE_LABEL, shared),
            ("error (solution - truth)", error, "solution - truth",
             {"cmap": "RdBu_r", **symmetric_limits(error)})]


def image_figure(solution: np.ndarray, truth: np.ndarray | None, title: str):
    panels = _panels(solution, truth)
    figure, axes = pyplot().subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8),
                                     squeeze=False)
    for axis, (name, values, label, keywords) in zip(axes[0], panels):
        image_panel(axis, values, title=name, colorbar_label=label, xlabel=COLUMN_LABEL,
                    ylabel=ROW_LABEL, origin="upper", **keywords)
    figure.suptitle(title)
    return figure


def line_figure(solution: np.ndarray, truth: np.ndarray | None, title: str):
    figure, axis = pyplot().subplots(figsize=(6, 4))
    if truth is not None:
        axis.plot(truth, "k-", label="truth")
    axis.plot(solution, "C1--" if truth is not None else "C1-", label="solution")
    axis.set_xlabel(INDEX_LABEL)
    axis.set_ylabel(VALUE_LABEL)
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure


def solution_figure(result: ResultProducts):
    """The figure (not saved), or None for grids of more than two dimensions and for a file
    without /solution."""
    shape = result.grid_shape
    if len(shape) > 2:
        return None
    solution, truth = result.vector("solution"), result.vector("truth")
    if solution is None:
        return None
    title = run_title(result.attributes)
    if len(shape) == 2:
        return image_figure(solution.reshape(shape),
                            None if truth is None else truth.reshape(shape), title)
    return line_figure(solution, truth, title)
