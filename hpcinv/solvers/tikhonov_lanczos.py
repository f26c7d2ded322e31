"""The ``lanczos`` method of the ``tikhonov`` kind: one history row per Golub-Kahan step."""
from __future__ import annotations

import numpy as np

from .golub_kahan import hybrid_tikhonov, projected_tikhonov
from .paramchoice.lanczos import lanczos_choice


def lanczos_method(solver, reduction, state, control) -> str | None:
    """Choose lambda by Lanczos bounds on the reduced problem and put the hybrid solution in
    ``state``; a stop reason when the control stopped the run (signal, wall time)."""
    values = solver.values
    stopped = {}
    x = state.vectors["x"]

    def on_step(gk, row):
        k, lam_upper, lam_lower, gap = row
        state.iteration = k
        residual = gk.start_norm
        if lam_upper is not None:
            # Each row shows the hybrid solution of the current lambda^U; its residual
            # ||B y - ||b|| e1|| is the bidiagonalisation's, no product with A needed.
            reduction.solution(hybrid_tikhonov(gk, lam_upper), x)
            residual = _projected_residual(gk, lam_upper)
        stop = control.record(state, residual, x,
                              **{"lambda": _nan(lam_upper), "lambda_lower": _nan(lam_lower),
                                 "bound_gap": gap})
        if stop:
            stopped["reason"] = stop
        return bool(stop)

    choice = lanczos_choice(
        reduction.operator, reduction.data, values["rule"], epsilon=values["epsilon"],
        noise_norm=solver.problem.noise_norm, tau=values["tau"], trace=values["trace"],
        hutchinson_vectors=values["hutchinson_vectors"], seed=values["seed"],
        max_steps=min(values["max_iterations"], min(reduction.operator.shape)),
        reorthogonalize=values["reorthogonalize"], unfiltered=reduction.fixed, on_step=on_step)
    if "reason" in stopped:
        return stopped["reason"]
    solver.chosen.update({"lambda": choice.lam, "rule": values["rule"], "method": "lanczos",
                          "steps": choice.k, "matvecs": choice.matvecs,
                          "converged": choice.converged})
    if choice.lam is None:
        x.zeroEntries()
    return None


def _projected_residual(gk, lam: float) -> float:
    bidiagonal = gk.bidiagonal()
    y = projected_tikhonov(bidiagonal, gk.start_norm, lam)
    residual = bidiagonal @ y
    residual[0] -= gk.start_norm
    return float(np.linalg.norm(residual))


def _nan(value):
    return float("nan") if value is None else value
