"""Plain-text rendering of a result summary for ``hpcinv inspect``."""
from __future__ import annotations

import numpy as np


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


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
    residual = _finite(history.get("relative_residual", []))
    if residual.size:
        absolute = _finite(history.get("residual_norm", []))
        data_norm = absolute[-1] / residual[-1] if residual[-1] > 0 else float("nan")
        target = summary.get("discrepancy_target", float("nan")) / data_norm
        lines.append(f"residual     relative {residual[0]:.4e} -> {residual[-1]:.4e} "
                     f"(min {residual.min():.4e}); discrepancy target {target:.4e} "
                     f"relative, {summary.get('discrepancy_target', float('nan')):.4e} absolute")
    error = _finite(history.get("relative_error", []))
    if error.size:
        best = int(np.nanargmin(history["relative_error"]))
        lines.append(f"error        relative to truth {error[-1]:.4e} at stop; minimum "
                     f"{error.min():.4e} at iteration {int(history['iteration'][best])}")
    lines.append("datasets     " + " ".join(summary.get("datasets", [])))
    return "\n".join(lines)
