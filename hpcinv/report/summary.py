"""Plain-text rendering of a result summary for ``hpcinv inspect``."""
from __future__ import annotations

import numpy as np

from .convergence import relative_target, target_label


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _value(value) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    # Long values (a cube's WCS header, a list of files) belong to ``inspect --json``.
    return text if len(text) <= 60 else text[:57] + "..."


def _solver_lines(summary: dict) -> list[str]:
    """What the solver chose or found (the Tikhonov lambda and its rule, recycling spaces,
    ...), and the problem's parameters."""
    lines = []
    for label, key in (("solver", "solver_results"), ("problem", "problem_attributes")):
        values = dict(summary.get(key) or {})
        reason = values.pop("no_lambda_reason", None) if key == "solver_results" else None
        if values:
            lines.append(f"{label:12s} " + ", ".join(f"{name} {_value(value)}"
                                                      for name, value in values.items()))
        if reason:   # Tikhonov's rule found no lambda: the whole sentence
            lines.append(f"{'no lambda':12s} {reason}")
    return lines


def _residual_line(summary: dict, history: dict, residual: np.ndarray) -> str:
    text = (f"residual     relative {residual[0]:.4e} -> {residual[-1]:.4e} "
            f"(min {residual.min():.4e})")
    target = summary.get("discrepancy_target")
    relative = relative_target(history, target)
    if relative is None:
        # Parameter-choice rules (GCV, L-curve, ...) and fixed iteration counts have none.
        return text + "; no discrepancy target"
    return text + (f"; {target_label(summary.get('solver_kind'))} {relative:.4e} relative, "
                   f"{target:.4e} absolute")


def format_summary(path: str, summary: dict, history: dict) -> str:
    timings = summary.get("timings", {}) or {}
    versions = summary.get("versions", {}) or {}
    lines = [
        f"result       {path}",
        f"problem      {summary.get('problem_kind')}   solver {summary.get('solver_kind')}",
        f"iterations   {summary.get('iterations')}   stop reason {summary.get('stop_reason')}"
        f"   resumed {summary.get('resumed')}",
        f"solution     {summary.get('solution_size')} values, grid {tuple(summary.get('grid_shape', []))}",
        f"ranks        {summary.get('ranks')} on {', '.join(summary.get('hosts', []))}",
        f"started      {summary.get('started')}   finished {summary.get('finished')}",
        "timings      " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()),
        "versions     " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    lines += _solver_lines(summary)
    residual = _finite(history.get("relative_residual", []))
    if residual.size:
        lines.append(_residual_line(summary, history, residual))
    error = _finite(history.get("relative_error", []))
    if error.size:
        best = int(np.nanargmin(history["relative_error"]))
        lines.append(f"error        relative to truth {error[-1]:.4e} at stop; minimum "
                     f"{error.min():.4e} at iteration {int(history['iteration'][best])}")
    lines.append("datasets     " + " ".join(summary.get("datasets", [])))
    return "\n".join(lines)
