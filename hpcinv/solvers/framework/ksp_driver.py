"""The one adapter between a PETSc KSP and hpcinv's iteration protocol.

A KSP runs its own loop; its convergence test is the only place hpcinv sees each iterate.
``drive_ksp`` installs one that records the history row (``IterationControl.record``:
progress, checkpoints, signals, wall time), asks the method's ``StoppingRule`` and applies the
iteration limit, so a KSP-based method behaves like a step-based one.  A KSP's Krylov
vectors cannot be saved: a resumed run restarts the Krylov space from the saved iterate
(iteration numbers continue from ``state.iteration``).
"""
from __future__ import annotations


def drive_ksp(ksp, rhs, start, state, control, method, *, observe, nonzero_guess: bool,
              from_options: bool = False) -> str:
    """Solve ``ksp`` for ``rhs`` from the initial guess ``start`` (updated in place; zero
    unless ``nonzero_guess``) and return the stop reason; ``method`` (an IterativeMethod)
    decides when its iterates have converged or reached its limit (``stop_reason``).  With
    ``from_options`` the options database configures the KSP last (``-ksp_monitor``, ...).

    ``observe(its, rnorm)`` returns (||A x - b||, x) for the KSP's iteration ``its``: the
    true residual of the iterate the method reports (KSPs report different norms: LSQR the
    residual, CGLS the normal-equation residual) and that iterate.  Iteration 0 of a resumed
    run is the saved iterate, already in the history, and is not recorded again."""
    from petsc4py import PETSc

    offset = state.iteration
    outcome = {"reason": None, "residual": float("nan")}
    reasons = PETSc.KSP.ConvergedReason

    def converged(ksp, its, rnorm):
        residual, x = observe(its, rnorm)
        outcome["residual"] = residual
        state.iteration = offset + its
        if its > 0 or len(state.history) == 0:
            stop = control.record(state, residual, x)
            if stop:
                outcome["reason"] = stop
                return reasons.CONVERGED_ITS
        stop = method.stop_reason(state, residual)
        if stop is None:
            return reasons.ITERATING
        outcome["reason"] = stop
        return reasons.CONVERGED_ITS if stop == "max_iterations" else reasons.CONVERGED_ATOL

    ksp.setTolerances(rtol=0.0, atol=0.0, divtol=PETSc.DEFAULT,
                      max_it=max(method.max_iterations - offset, 1))
    ksp.setInitialGuessNonzero(nonzero_guess)
    ksp.setConvergenceTest(converged)
    if from_options:
        from ...core.petsc_options import petsc_input_errors

        with petsc_input_errors():   # a bad option value is bad input
            ksp.setFromOptions()
    ksp.solve(rhs, start)
    reason = outcome["reason"]
    if reason is None:
        # The KSP ended without our test deciding (a breakdown, or its own limit).
        code = ksp.getConvergedReason()
        reason = f"ksp_diverged_{code}" if code < 0 else "ksp_stopped"
    control.finish(state, outcome["residual"])
    return reason
