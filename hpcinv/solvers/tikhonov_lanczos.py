"""The ``lanczos`` method of the ``tikhonov`` kind: one history row per Golub-Kahan step."""
from __future__ import annotations

from .golub_kahan import hybrid_tikhonov
from .paramchoice.lanczos import lanczos_choice
from .tikhonov_methods import nan_if_none


def lanczos_method(solver, reduction, state, control) -> str | None:
    """Choose lambda by Lanczos bounds on the reduced problem and put the hybrid solution in
    ``state``; a stop reason when the control stopped the run (signal, wall time)."""
    values = solver.values
    stopped = {}
    x = state.vectors["x"]
    # The error against a known truth needs each step's solution in the unknown's space
    # (k axpys, plus L_A^+ for a general L); without a truth only the last one is formed.
    track_error = control.truth is not None

    def on_step(gk, row, bounds):
        k, lam_upper, lam_lower, gap = row
        state.iteration = k
        residual = gk.start_norm
        if lam_upper is not None:
            # ||A x - b|| of the hybrid solution is the bidiagonalisation's residual
            # (Theorem 1), no product with A needed.
            residual = bounds.galerkin_norms(lam_upper)[1]
            if track_error:
                reduction.solution(hybrid_tikhonov(gk, lam_upper), x)
        stop = control.record(state, residual, x,
                              **{"lambda": nan_if_none(lam_upper),
                                 "lambda_lower": nan_if_none(lam_lower), "bound_gap": gap})
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
    else:
        reduction.solution(choice.solution, x)
    return None

