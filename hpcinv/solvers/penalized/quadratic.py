"""The direct linear solution of a penalised likelihood with a quadratic penalty
R(f) = ||D f||^2 (Pichon & Thiebaut 1997, Eq. 23):

    f = (A^T A + mu D^T D)^-1 A^T b,

by PETSc KSP (CG by default), at a given mu or at each trial of the search on mu toward a
target chi-square (``mu_search``), warm-started from the previous solution.  Nothing keeps
f positive: the solution is linear in the data and may have negative entries.

When A and D are both assembled (``MatOperator``), A^T A and D^T D are formed once as AIJ
matrices and each step solves with their sum, so any preconditioner works, direct ones
included (``-penalized_quadratic_pc_type lu -penalized_quadratic_pc_factor_mat_solver_type
mumps``); otherwise the system is the matrix-free operator A^T A + mu D^T D, without a
preconditioner unless the options choose one that needs no entries.  Options behind the
prefix ``penalized_quadratic_`` are read after hpcinv's settings, so they win.
"""
from __future__ import annotations

from ...core.errors import ArgumentError, RuntimeFailure, check_count, check_number
from ...core.petsc_options import petsc_input_errors
from ...linalg.operator import MatOperator, NormalOperator, Operator
from ..framework.ksp_driver import ksp_stop_reason
from .mu_search import PenalizedIteration

OPTIONS_PREFIX = "penalized_quadratic_"


class PenalizedQuadratic(PenalizedIteration):
    """min ||A f - b||^2 + mu ||D f||^2 by one KSP solve per step, with mu searched so that
    the chi-square reaches ``chi_square_target`` (``PenalizedIteration``; None: mu fixed,
    one solve).  ``penalty`` is D (an Operator) or a penalty with a ``difference_operator``
    (``penalties.Roughness``: the same R, so mu means the same as for ``PenalizedTAO``).
    Each solve stops at a relative residual ``ksp_rtol``; reaching ``ksp_max_iterations``
    first, or any other KSP failure, is a RuntimeFailure (Eq. 23 was not solved).  The run
    starts from f = 0, and nothing keeps f positive."""

    inner_iterations = "ksp_iterations"

    def __init__(self, operator, data, penalty, *, chi_square_target: float | None,
                 mu: float | None = None, tolerance: float = 1e-3, ksp_rtol: float = 1e-10,
                 ksp_max_iterations: int = 10000, max_iterations: int = 30):
        super().__init__(operator, data, chi_square_target=chi_square_target, mu=mu,
                         tolerance=tolerance, max_iterations=max_iterations)
        differences = getattr(penalty, "difference_operator", penalty)
        if not isinstance(differences, Operator):
            raise ArgumentError("penalty", f"expected an Operator D or a penalty with a "
                                           f"difference_operator, got {type(penalty).__name__}")
        if differences.domain_layout != operator.domain_layout:
            raise ArgumentError("penalty", f"D must split its {differences.shape[1]} columns "
                                           f"as the operator splits its {operator.shape[1]}")
        self.differences = differences
        self.ksp_rtol = check_number("ksp_rtol", ksp_rtol, positive=True)
        self.ksp_max_iterations = check_count("ksp_max_iterations", ksp_max_iterations, 1)
        self._rhs, self._image = differences.create_vecs()
        operator.mult_transpose(data, self._rhs)   # A^T b
        self._normal = _assembled_normals(operator, differences)

    def start(self):
        return self.operator.create_vecs()[0]

    def penalty_value(self, f) -> float:
        self.differences.mult(f, self._image)
        return self._image.dot(self._image)

    def penalty_curvature(self, f, e) -> float:
        self.differences.mult(e, self._image)
        return 2.0 * self._image.dot(self._image)

    def minimise(self, f, mu: float) -> int:
        from petsc4py import PETSc

        system = self._system(mu)
        ksp = PETSc.KSP().create(comm=self.operator.comm)
        try:
            ksp.setOptionsPrefix(OPTIONS_PREFIX)
            ksp.setOperators(system.as_petsc_mat())
            ksp.setType(PETSc.KSP.Type.CG)
            ksp.getPC().setType(PETSc.PC.Type.JACOBI if self._normal
                                else PETSc.PC.Type.NONE)
            ksp.setTolerances(rtol=self.ksp_rtol, atol=0.0, max_it=self.ksp_max_iterations)
            ksp.setInitialGuessNonzero(True)
            # A preconditioner the options chose that cannot work on this system (lu on a
            # matrix-free one) fails in the solve's setup: bad input too.
            with petsc_input_errors():
                ksp.setFromOptions()
                ksp.solve(self._rhs, f)
            code = ksp.getConvergedReason()
            if code < 0:
                raise RuntimeFailure(f"KSP {ksp.getType()} at mu = {mu:.6g} did not solve "
                                     f"(A^T A + mu D^T D) f = A^T b: {ksp_stop_reason(code)}")
            return ksp.getIterationNumber()
        finally:
            ksp.destroy()
            if self._normal:
                system.mat.destroy()

    def _system(self, mu: float) -> Operator:
        """A^T A + mu D^T D: a new AIJ Mat (the caller destroys it) or matrix-free."""
        if not self._normal:
            return NormalOperator(self.operator) + mu * NormalOperator(self.differences)
        from petsc4py import PETSc

        likelihood, penalty = self._normal
        mat = likelihood.duplicate(copy=True)
        mat.axpy(mu, penalty, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
        mat.setOption(PETSc.Mat.Option.SPD, True)
        return MatOperator(mat)


def _assembled_normals(operator, differences) -> tuple:
    """(A^T A, D^T D) as AIJ Mats when both operators are assembled, else ()."""
    if not (isinstance(operator, MatOperator) and isinstance(differences, MatOperator)):
        return ()
    return tuple(_aij(matrix.mat.transposeMatMult(matrix.mat))
                 for matrix in (operator, differences))


def _aij(mat):
    """``mat`` converted in place to AIJ (a dense product), the type every preconditioner
    and direct solver takes.  petsc4py's ``convert`` without ``out`` converts in place."""
    if "aij" not in mat.getType():
        mat.convert("aij")
    return mat
