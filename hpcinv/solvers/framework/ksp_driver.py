"""The one adapter between a PETSc KSP and hpcinv's iteration protocol.

A KSP runs its own loop; its convergence test is the only place hpcinv sees each iterate.
``drive_ksp`` installs one that records the history row (``IterationControl.record``:
progress, checkpoints, signals, wall time), asks the method's ``StoppingRule`` and applies the
iteration limit, so a KSP-based method behaves like a step-based one.  A KSP's Krylov
vectors cannot be saved: a resumed run restarts the Krylov space from the saved iterate
(iteration numbers continue from ``state.iteration``).

The options database is read first (``ksp_options``) and hpcinv's test, tolerances, norm
type and initial guess are installed after it: PETSc resets a KSP's convergence test whenever
an option changes its type, and options such as ``-ksp_rtol`` or ``-ksp_norm_type`` would
otherwise replace what the test relies on.
"""
from __future__ import annotations

from .control import NON_FINITE

# Readable stop reasons for a KSP that ended without hpcinv's test deciding, by the
# attribute names of petsc4py's ``KSP.ConvergedReason``; any other reason is its name in
# lower case (``diverged_dtol``, ``converged_happy_breakdown``, ...).
_READABLE_REASONS = {
    "DIVERGED_MAX_IT": "max_iterations",          # KSP_DIVERGED_ITS: -ksp_max_it reached
    "DIVERGED_BREAKDOWN": "breakdown",
    "DIVERGED_BREAKDOWN_BICG": "breakdown",
    "DIVERGED_INDEFINITE_MAT": "indefinite_matrix",
    "DIVERGED_INDEFINITE_PC": "indefinite_preconditioner",
    "DIVERGED_PCSETUP_FAILED": "preconditioner_setup_failed",
    # The same failure as a non-finite residual in hpcinv's record: check_finite fails the run.
    "DIVERGED_NANORINF": NON_FINITE,
}


def ksp_stop_reason(code: int) -> str:
    """The stop reason of a KSP that ended with ``KSPConvergedReason`` ``code`` on its own."""
    from petsc4py import PETSc

    reasons = PETSc.KSP.ConvergedReason
    # petsc4py is built against the PETSc it runs, so it names every code; sorted picks one
    # name where it has aliases (CONVERGED_ITERATING, ITERATING).
    names = sorted(name for name in vars(reasons)
                   if name.isupper() and getattr(reasons, name) == code)
    if not names:   # a reason newer than this petsc4py
        return f"ksp_reason_{code}"
    return _READABLE_REASONS.get(names[0], names[0].lower())


def drive_ksp(ksp, rhs, start, state, control, method, *, observe, nonzero_guess: bool,
              from_options: bool = False, norm_type=None) -> str:
    """Solve the least-squares ``ksp`` for ``rhs`` from the initial guess ``start`` (updated
    in place; zero unless ``nonzero_guess``) and return the stop reason; ``method`` (an
    IterativeMethod) decides when its iterates have converged or reached its limit
    (``stop_reason``).  With ``from_options`` the options database configures the KSP first
    (``-ksp_monitor``, ``-ksp_type``, a smaller ``-ksp_max_it``, ...; ``ksp_options``).

    ``observe(its, rnorm)`` returns (||A x - b||, x) for the KSP's iteration ``its``: the
    true residual of the iterate the method reports (``rnorm`` is the KSP's norm, by default
    the unpreconditioned one: LSQR's residual, CGLS's normal-equation residual) and that
    iterate.  Iteration 0 of a resumed run is the saved iterate, already in the history, and
    is not recorded again.  ``norm_type`` (a ``KSP.NormType``) replaces that norm for a KSP
    that lacks it (PETSc 3.18's MINRES has only the preconditioned one)."""
    from petsc4py import PETSc

    offset = state.iteration
    max_it = max(method.max_iterations - offset, 1)
    if from_options:
        from .ksp_options import configure_from_options

        max_it = configure_from_options(ksp, max_it)
    outcome = {"reason": None, "residual": float("nan"), "its": None}
    reasons = PETSc.KSP.ConvergedReason

    def record(its, rnorm):
        residual, x = observe(its, rnorm)
        outcome["residual"], outcome["its"] = residual, its
        state.iteration = offset + its
        if its > 0 or len(state.history) == 0:
            return residual, control.record(state, residual, x)
        return residual, None

    def converged(ksp, its, rnorm):
        residual, stop = record(its, rnorm)
        if stop:
            outcome["reason"] = stop
            return reasons.CONVERGED_ITS
        stop = method.stop_reason(state, residual)
        if stop is None:
            return reasons.ITERATING
        outcome["reason"] = stop
        return reasons.CONVERGED_ITS if stop == "max_iterations" else reasons.CONVERGED_ATOL

    ksp.setTolerances(rtol=0.0, atol=0.0, max_it=max_it)
    # LSQR and CGLS support only the unpreconditioned norm (CGLS also none), and only with a
    # left (or no) preconditioner; observe reads it.
    ksp.setPCSide(PETSc.PC.Side.LEFT)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED if norm_type is None else norm_type)
    ksp.setInitialGuessNonzero(nonzero_guess)
    ksp.setConvergenceTest(converged)
    if from_options:
        from ...core.petsc_options import petsc_input_errors

        # The KSP sets itself up here: a preconditioner the options chose that cannot work
        # on this operator (-pc_type jacobi on a matrix-free one) is bad input.
        with petsc_input_errors():
            ksp.solve(rhs, start)
    else:
        ksp.solve(rhs, start)
    if outcome["its"] != ksp.getIterationNumber():
        # The KSP returned an iterate its test never saw (it stopped on its own first): the
        # history and the iteration count end at the iterate the method returns.
        _, outcome["reason"] = record(ksp.getIterationNumber(), ksp.getResidualNorm())
    reason = outcome["reason"] or ksp_stop_reason(ksp.getConvergedReason())
    control.finish(state, outcome["residual"])
    return reason
