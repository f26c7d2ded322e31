"""A least-squares PETSc KSP (KSPLSQR, KSPCGLS) with hpcinv's stopping rule as its
convergence test (``framework.ksp_driver``).

The options database reaches this KSP (``-ksp_monitor``, ``-ksp_view``, ``-ksp_lsqr_monitor``,
``-ksp_type`` among the least-squares types, a smaller ``-ksp_max_it``, ...) except what
decides convergence, which stays hpcinv's (``framework.ksp_options``).  A KSP's Krylov
vectors cannot be saved, so a resumed run restarts the Krylov space from the saved iterate
(``exact_resume = False``): it continues towards the same stopping rule, not along
bit-identical iterates; ``LSQR`` and ``CGLS`` resume exactly.
"""
from __future__ import annotations

from ...core.errors import ArgumentError
from ...core.petsc_options import LEAST_SQUARES_KSP_TYPES
from ..framework.ksp_driver import drive_ksp
from ..framework.method import IterativeMethod
from ...core.state import SolverState
from ..framework.stopping import StoppingRule

KSP_TYPES = LEAST_SQUARES_KSP_TYPES


class KSPLeastSquares(IterativeMethod):
    """PETSc's ``ksp_type`` (lsqr or cgls) on min ||A x - b|| from x = 0."""

    exact_resume = False

    def __init__(self, operator, data, *, ksp_type: str = "lsqr", tau: float = 1.02,
                 noise_norm: float = 0.0, max_iterations: int = 500,
                 stopping: StoppingRule | None = None):
        if ksp_type not in KSP_TYPES:
            raise ArgumentError("ksp_type", f"must be one of {', '.join(KSP_TYPES)}, got "
                                            f"{ksp_type!r}")
        super().__init__(operator, data, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations, stopping=stopping)
        self.ksp_type = ksp_type

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        return SolverState(vectors={"x": x})

    def solve(self, state: SolverState, control) -> str:
        from petsc4py import PETSc

        ksp = PETSc.KSP().create(comm=self.operator.comm)
        ksp.setOperators(self.operator.as_petsc_mat())
        ksp.setType(self.ksp_type)
        ksp.getPC().setType(PETSc.PC.Type.NONE)
        x = state.vectors["x"]
        residual = self.data.duplicate()

        def observe(its, rnorm):
            # Both methods update x in place.  KSPLSQR reports ||b - A x||, KSPCGLS
            # ||A^T (b - A x)||, so the stopping rule needs the residual itself.  The type is
            # asked, not self.ksp_type: -ksp_type may have changed it.
            if ksp.getType() != "lsqr":
                self.operator.mult(x, residual)
                residual.aypx(-1.0, self.data)
                rnorm = residual.norm()
            return rnorm, x

        try:
            return drive_ksp(ksp, self.data, x, state, control, self, observe=observe,
                             nonzero_guess=state.iteration > 0, from_options=True)
        finally:
            ksp.destroy()
