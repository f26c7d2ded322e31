"""A least-squares PETSc KSP (KSPLSQR, KSPCGLS) with the discrepancy principle as its
convergence test.

Everything in the job's [petsc] table reaches this KSP (``ksp_monitor``, ``ksp_view``,
``ksp_lsqr_monitor``, ...).  A KSP's Krylov vectors cannot be saved, so a resumed run
restarts the Krylov space from the checkpointed iterate (``exact_resume = False``): it
continues towards the same stopping rule, not along bit-identical iterates; the kinds
``lsqr`` and ``cgls`` resume exactly.
"""
from __future__ import annotations

from ..jobspec import SOLVERS, Field
from .base import COMMON_PARAMETERS, IterativeSolver
from .state import SolverState


@SOLVERS.register("ksp")
class KSPLeastSquares(IterativeSolver):
    parameters = {**COMMON_PARAMETERS,
                  "ksp_type": Field(str, "lsqr", "PETSc least-squares Krylov method",
                                    choices=("lsqr", "cgls"))}
    exact_resume = False

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        return SolverState(vectors={"x": x})

    def solve(self, state: SolverState, control) -> str:
        from petsc4py import PETSc

        comm = self.operator.comm
        ksp = PETSc.KSP().create(comm=comm)
        ksp.setOperators(self.operator.as_petsc_mat())
        ksp.setType(self.values["ksp_type"])
        ksp.getPC().setType(PETSc.PC.Type.NONE)
        offset = state.iteration
        ksp.setTolerances(rtol=0.0, atol=0.0, divtol=PETSc.DEFAULT,
                          max_it=max(self.max_iterations - offset, 0))
        ksp.setInitialGuessNonzero(offset > 0)
        x = state.vectors["x"]
        outcome = {"reason": "max_iterations", "residual": float("nan")}
        residual = self.problem.data.duplicate()

        def converged(ksp, its, rnorm):
            # Both methods update x in place.  KSPLSQR reports ||b - A x||, KSPCGLS
            # ||A^T (b - A x)||, so the discrepancy principle needs the residual itself.
            if ksp.getType() != "lsqr":
                self.operator.mult(x, residual)
                residual.aypx(-1.0, self.problem.data)
                rnorm = residual.norm()
            state.iteration = offset + its
            outcome["residual"] = rnorm
            if its > 0 or len(state.history) == 0:
                stop = control.record(state, rnorm, x)
                if stop:
                    outcome["reason"] = stop
                    return PETSc.KSP.ConvergedReason.CONVERGED_ITS
            if rnorm <= self.target:
                outcome["reason"] = "discrepancy"
                return PETSc.KSP.ConvergedReason.CONVERGED_ATOL
            if state.iteration >= self.max_iterations:
                outcome["reason"] = "max_iterations"
                return PETSc.KSP.ConvergedReason.CONVERGED_ITS
            return PETSc.KSP.ConvergedReason.ITERATING

        ksp.setConvergenceTest(converged)
        ksp.setFromOptions()
        ksp.solve(self.problem.data, x)
        reason = ksp.getConvergedReason()
        if reason < 0 and outcome["reason"] == "max_iterations":
            outcome["reason"] = f"ksp_diverged_{reason}"
        control.finish(state, outcome["residual"])
        ksp.destroy()
        return outcome["reason"]
