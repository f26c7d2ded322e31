"""``hpcinv plot``: figures (PNG) and FITS images from a result file (serial; no MPI needed).

Every result gets ``<stem>-convergence.png`` (``convergence.py``); a result on a grid of one
or two dimensions ``<stem>-solution.png`` (``solution_figure.py``); a problem kind adds its
own files through ``ProblemKind.figures`` (the galaxy app's maps, LOSVDs and FITS maps),
which receives the whole ``ResultProducts`` (derived arrays, history, attributes).
"""
from __future__ import annotations

from pathlib import Path

from ..core.io.results import ResultProducts, read_result
from ..core.plotting import save
from .convergence import convergence_figure
from .solution_figure import solution_figure


def common_figures(result: ResultProducts) -> dict:
    """{file suffix: figure} of what every kind of result gets."""
    figures = {}
    if result.history:
        figures["convergence"] = convergence_figure(result)
    solution = solution_figure(result)
    if solution is not None:
        figures["solution"] = solution
    return figures


def plot_result(path: str, directory: str | None = None) -> list[Path]:
    """Write every figure (and FITS image) for a result; returns the files written."""
    from ..core.jobspec import PROBLEMS

    result = read_result(path)
    out = Path(directory) if directory else Path(path).parent
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    written = [save(figure, out / f"{stem}-{suffix}.png")
               for suffix, figure in common_figures(result).items()]
    kind = result.attributes.get("problem_kind")
    if kind in PROBLEMS.names():
        written += PROBLEMS.get(kind, "problem_kind").figures(result, out, stem)
    return written
