"""The convergence figure of any result: relative residual (and error) per iteration, with the
target the stopping rule aimed at: the discrepancy principle's tau*delta, or for the
penalised-likelihood kinds the root of their chi-square target."""
from __future__ import annotations

import numpy as np

from ..core.io.results import ResultProducts
from ..core.plotting import pyplot

RESIDUAL_LABEL = "relative residual ||Ax-b||/||b||"
# (history column, legend label) drawn beside the residual when the column has values.
OTHER_CURVES = (("relative_error", "relative error ||x-x_true||/||x_true||"),
                ("noise_free_residual", "residual vs noise-free data ||Ax-b_0||/||b_0||"))
TARGET_LABEL = "discrepancy target tau*delta"
# The penalized-* kinds stop at a chi-square N_e of noise-weighted residuals, not at tau*delta.
CHI_SQUARE_TARGET_LABEL = "chi-square target sqrt(N_e)"


def target_label(solver_kind: str | None) -> str:
    return CHI_SQUARE_TARGET_LABEL if str(solver_kind).startswith("penalized-") \
        else TARGET_LABEL


def iteration_label(solver_kind: str | None) -> str:
    # One PNKR history row is a loop of sweeps over all equations, not one update.
    return "loop" if solver_kind == "pnkr" else "iteration"


def run_title(attributes: dict) -> str:
    return (f"{attributes.get('problem_kind', 'unknown problem')} - "
            f"{attributes.get('solver_kind', 'unknown solver')}")


def relative_target(history: dict, target: float | None) -> float | None:
    """tau*delta relative to ||b|| (what the residual curve shows); None when the run had no
    discrepancy target (Tikhonov records 0)."""
    if not target or not np.isfinite(target) or target <= 0:
        return None
    absolute = np.asarray(history.get("residual_norm", []), dtype=float)
    relative = np.asarray(history.get("relative_residual", []), dtype=float)
    usable = np.isfinite(absolute) & np.isfinite(relative) & (absolute > 0)
    if not usable.any():
        return None
    # relative / absolute is 1/||b|| on every row; the last usable row is as good as any.
    row = np.flatnonzero(usable)[-1]
    return float(target * relative[row] / absolute[row])


def _has_values(history: dict, column: str) -> bool:
    return column in history and np.isfinite(np.asarray(history[column], dtype=float)).any()


def convergence_figure(result: ResultProducts):
    """The figure (not saved): semilog curves against the iteration, the target as a
    horizontal line, a title naming problem and solver kind."""
    history, attributes = result.history, result.attributes
    figure, axis = pyplot().subplots(figsize=(6, 4))
    iterations = history["iteration"]
    axis.semilogy(iterations, history["relative_residual"], label=RESIDUAL_LABEL)
    others = [(column, label) for column, label in OTHER_CURVES if _has_values(history, column)]
    for column, label in others:
        axis.semilogy(iterations, history[column], label=label)
    target = relative_target(history, attributes.get("discrepancy_target"))
    solver = attributes.get("solver_kind")
    if target is not None:
        axis.axhline(target, color="k", linestyle=":", label=target_label(solver))
    axis.set_xlabel(iteration_label(solver))
    axis.set_ylabel(RESIDUAL_LABEL if not others else "relative norm (dimensionless)")
    axis.set_title(run_title(attributes))
    axis.legend(fontsize=8)
    return figure
