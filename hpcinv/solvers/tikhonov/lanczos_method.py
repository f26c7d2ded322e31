"""The ``lanczos`` method of ``Tikhonov``: one history row per Golub-Kahan step."""
from __future__ import annotations

from ...linalg.decompositions.golub_kahan import hybrid_tikhonov
from .methods import nan_if_none
from .choice import lanczos_choice_explained


def lanczos_method(solver, reduction, state, control) -> str | None:
    """Choose lambda by Lanczos bounds on the reduced problem and put the hybrid solution in
    ``state``; a stop reason when the control stopped the run (signal, wall time)."""
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

    explained = lanczos_choice_explained(
        reduction.operator, reduction.data, solver.rule, epsilon=solver.epsilon,
        noise_norm=solver.noise_norm, tau=solver.tau, trace=solver.trace,
        hutchinson_vectors=solver.hutchinson_vectors, seed=solver.seed,
        max_steps=min(solver.max_iterations, min(reduction.operator.shape)),
        reorthogonalize=solver.reorthogonalize, unfiltered=reduction.fixed, on_step=on_step)
    if "reason" in stopped:
        return stopped["reason"]
    choice, solver.no_lambda_reason = explained.lanczos, explained.reason
    solver.record_choice(choice.lam, steps=choice.k, matvecs=choice.matvecs,
                         converged=choice.converged)
    if choice.lam is None:
        x.zeroEntries()
    else:
        reduction.solution(choice.solution, x)
    return None

