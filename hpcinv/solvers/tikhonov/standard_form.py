"""The standard-form transformation of general-form Tikhonov (Elden; Hansen), matrix-free.

min ||A x - b||^2 + lam ||L x||^2 becomes min ||A L_A^+ y - b||^2 + lam ||y||^2 with
x = L_A^+ y + x_N, where W is an orthonormal basis of N(L) and

    L_A^+ = (I - W (A W)^+ A) L^+,    x_N = W (A W)^+ b

(thesis section 1.4).  ``StandardForm`` is the operator A L_A^+ (m x p), so any standard-form
method (LSQR, KSP, RSVD, Golub-Kahan) runs on it unchanged; x_N depends on the data, so
``back_transform(y, b)`` takes b.  A W has only the few columns of
W, so (A W)^+ = G^{-1} (A W)^T with the q x q Gram matrix G formed from dot products once.
N(A) and N(L) must intersect trivially (G invertible), as for any general-form problem with a
unique solution.

L^+ y, the minimum-norm least-squares solution of L x = y, by a PETSc KSP (options prefix
``prefix``), chosen from rank(L) = n - len(null_basis):
  * p = n and N(L) = {0}: L is invertible, L^+ = L^{-1}, one LU factorization (MUMPS);
  * rank(L) = p < n (full row rank, e.g. 1-D difference operators): L^+ = L^T (L L^T)^{-1},
    L L^T assembled and factored once by Cholesky (MUMPS);
  * otherwise (rank deficient both ways, e.g. the 2-D gradient [I (x) D; D (x) I]): CG on
    L^T L with W attached as its null space, so the iterate stays orthogonal to N(L) (the
    minimum-norm solution); ``rtol`` sets how accurately.
The factorizations need L assembled (AIJ); a matrix-free L, or ``full_row_rank=False``, takes
the CG route, which only multiplies by L and L^T.  MUMPS makes the factorizations parallel.
"""
from __future__ import annotations

import numpy as np

from ...linalg.layout import Layout
from ...linalg.operator import Composed, MatOperator, Operator, is_matrix_free
from ...linalg.vectors import dots
from .choice import LambdaChoice, lanczos_choice_explained


class LAPseudoInverse(Operator):
    """L_A^+ = (I - W (A W)^+ A) L^+ (p -> n), the A-weighted pseudo-inverse of L."""

    def __init__(self, A: Operator, L: Operator, null_basis=(), full_row_rank: bool | None = None,
                 rtol: float = 1e-12, prefix: str = "standard_form_"):
        (_, n), (p, n_L) = A.shape, L.shape
        if n_L != n:
            raise ValueError(f"L: needs the {n} columns of A, has {n_L}")
        super().__init__(A.domain_layout, L.range_layout)
        self.A, self.L, self.W = A, L, list(null_basis)
        q = len(self.W)
        _check_orthonormal(self.W)
        rank_is_p = n - q == p
        if full_row_rank and not rank_is_p:
            raise ValueError(f"full_row_rank: L ({p} x {n}) with {q} null-space vectors has rank "
                             f"{n - q}, not {p}")
        self._ax = A.create_vecs()[1]
        self._at_r, self._r = A.create_vecs()
        self._projected = self._at_r.duplicate()
        factorable = full_row_rank is not False and not is_matrix_free(L)
        if factorable and p == n and q == 0:
            self.method, self._pinv = "lu", inverse_by_lu(L, prefix)
        elif factorable and rank_is_p:
            self.method, self._pinv = "cholesky", pseudo_inverse_by_cholesky(L, prefix)
        else:
            self.method, self._pinv = "cg", pseudo_inverse_by_cg(L, self.W, rtol, prefix)
        self._AW = []
        for w in self.W:
            _, aw = A.create_vecs()
            A.mult(w, aw)
            self._AW.append(aw)
        self._gram = np.array([dots(aw, self._AW) for aw in self._AW])

    def natural_column_ranges(self) -> list:
        return self.L.natural_row_ranges()   # the domain is L's range

    def aw_pinv(self, r) -> np.ndarray:
        """Coefficients of (A W)^+ r in the basis W."""
        return np.linalg.solve(self._gram, dots(r, self._AW))

    def mult(self, y, x) -> None:
        """x = L_A^+ y."""
        self._pinv.mult(y, x)
        if self.W:
            self.A.mult(x, self._ax)
            x.maxpy(-self.aw_pinv(self._ax), self.W)

    def mult_transpose(self, x, y) -> None:
        """y = (L_A^+)^T x = (L^+)^T (I - A^T (A W)^{+T} W^T) x."""
        if self.W:
            self._r.zeroEntries()
            self._r.maxpy(np.linalg.solve(self._gram, dots(x, self.W)), self._AW)
            self.A.mult_transpose(self._r, self._at_r)
            self._projected.waxpy(-1.0, self._at_r, x)
            x = self._projected
        self._pinv.mult_transpose(x, y)


class StandardForm(Composed):
    """A L_A^+ for operators A (m x n) and L (p x n) and ``null_basis``, orthonormal Vecs
    spanning N(L) (empty when L has full column rank); ``pinv`` is the operator L_A^+.
    ``method`` names the route to L^+ ("lu", "cholesky" or "cg"); ``full_row_rank=False``
    forces "cg", True is checked.  ``rtol`` is CG's relative tolerance; options under
    ``prefix`` reach the KSP."""

    def __init__(self, A: Operator, L: Operator, null_basis=(), full_row_rank: bool | None = None,
                 rtol: float = 1e-12, prefix: str = "standard_form_"):
        pinv = LAPseudoInverse(A, L, null_basis, full_row_rank, rtol, prefix)
        super().__init__(A, pinv)
        self.A, self.L, self.W, self.pinv = A, L, pinv.W, pinv
        self.method = pinv.method

    def null_component(self, b):
        """x_N = W (A W)^+ b, the part of the solution in N(L) (zero when N(L) = {0})."""
        x, _ = self.A.create_vecs()
        if self.W:
            x.maxpy(self.pinv.aw_pinv(b), self.W)
        return x

    def reduced_data(self, b):
        """(x_N, b - A x_N): the solution's part in N(L), fitted exactly whatever lambda, and
        the data of the standard-form problem min ||A L_A^+ y - (b - A x_N)||^2 + lam ||y||^2."""
        x_null = self.null_component(b)
        _, fitted = self.A.create_vecs()
        self.A.mult(x_null, fitted)
        data = b.copy()
        data.axpy(-1.0, fitted)
        return x_null, data

    def back_transform(self, y, b):
        """x = L_A^+ y + x_N: the general-form solution from the standard-form one."""
        return self.lift(y, self.null_component(b))

    def lift(self, y, x_null, out=None):
        """x = L_A^+ y + x_N with x_N already known, into ``out`` (default a new Vec)."""
        x = x_null.duplicate() if out is None else out
        self.pinv.mult(y, x)
        x.axpy(1.0, x_null)
        return x

    def lanczos_choice(self, b, rule: str, *, epsilon: float, **options) -> LambdaChoice:
        """lambda of general-form Tikhonov min ||A x - b||^2 + lambda ||L x||^2 chosen by
        ``rule`` (dp, gcv, reginska, qo) from Lanczos bounds on this standard form, and its
        solution in the original variables (collective).  The recipe: Lanczos on A L_A^+
        with the data b - A x_N, the dim N(L) directions of x_N counted as fitted
        (``unfiltered``), then x = L_A^+ y + x_N.  ``options``: ``lanczos_choice``'s other
        keywords (``noise_norm``, ``tau``, ``trace``, ``max_steps``, ``bounds``, ...).
        Returns a ``LambdaChoice``: ``lam`` (None, with ``reason``, when the rule finds
        none), ``x`` (a domain Vec of A; None without lam) and ``lanczos`` (steps,
        matvecs, history; its ``solution`` is the standard-form y)."""
        if "unfiltered" in options:
            raise TypeError("lanczos_choice: unfiltered is dim N(L), set by the standard form")
        x_null, data = self.reduced_data(b)
        choice = lanczos_choice_explained(self, data, rule, epsilon=epsilon,
                                          unfiltered=len(self.W), **options)
        if choice.x is not None:
            choice.x = self.lift(choice.x, x_null)
        return choice


class _SolveOperator(Operator):
    """M^{-1} (or M^+) applied by a configured KSP on M, as an operator; its transpose by
    KSPSolveTranspose, or by the same solve when M is symmetric."""

    def __init__(self, ksp, symmetric: bool):
        mat = ksp.getOperators()[0]
        comm = mat.getComm()
        layout = Layout.from_ranges(comm, mat.getOwnershipRanges())
        super().__init__(layout, layout)
        self.ksp, self.symmetric = ksp, symmetric

    def mult(self, y, x) -> None:
        self.ksp.solve(y, x)

    def mult_transpose(self, x, y) -> None:
        (self.ksp.solve if self.symmetric else self.ksp.solveTranspose)(x, y)


def inverse_by_lu(L: Operator, prefix: str) -> Operator:
    """L^{-1} and L^{-T} from one LU factorization (L square and invertible)."""
    return _SolveOperator(_factorization(L.as_petsc_mat(), "lu", prefix), symmetric=False)


def pseudo_inverse_by_cholesky(L: Operator, prefix: str) -> Operator:
    """L^+ = L^T (L L^T)^{-1} for L of full row rank; L L^T is factored once."""
    from petsc4py import PETSc

    mat = L.as_petsc_mat()
    gram = mat.matTransposeMult(mat)
    gram.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    gram.setOption(PETSc.Mat.Option.SPD, True)
    return MatOperator(mat).T @ _SolveOperator(_factorization(gram, "cholesky", prefix),
                                               symmetric=True)


def pseudo_inverse_by_cg(L: Operator, null_basis: list, rtol: float, prefix: str) -> Operator:
    """L^+ = (L^T L)^+ L^T by CG on L^T L with N(L) attached as its null space: PETSc removes
    N(L) from CG's residuals and, L^T L being symmetric, from right-hand sides too, so the
    solution is the minimum-norm one and (L^+)^T x = L (L^T L)^+ x holds for any x."""
    from petsc4py import PETSc

    mat = L.as_petsc_mat()
    normal = PETSc.Mat().createNormal(mat)
    if null_basis:
        null_space = PETSc.NullSpace().create(vectors=null_basis, comm=L.comm)
        normal.setNullSpace(null_space)
    ksp = PETSc.KSP().create(comm=L.comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(normal)
    ksp.setType("cg")
    ksp.getPC().setType(PETSc.PC.Type.NONE)
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=100 * L.shape[1])
    ksp.setErrorIfNotConverged(True)
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        ksp.setFromOptions()
    return _SolveOperator(ksp, symmetric=True) @ L.T


def _factorization(mat, kind: str, prefix: str):
    """KSP preonly with an LU or Cholesky factorization by MUMPS (parallel, and able to
    solve with the transpose)."""
    from petsc4py import PETSc

    ksp = PETSc.KSP().create(comm=mat.getComm())
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(mat)
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType(kind)
    pc.setFactorSolverType("mumps")
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        ksp.setFromOptions()
    ksp.setUp()
    return ksp


def _check_orthonormal(vecs: list) -> None:
    gram = np.array([dots(vec, vecs) for vec in vecs]).reshape(len(vecs), len(vecs))
    if not np.allclose(gram, np.eye(len(vecs)), rtol=0.0, atol=1e-10):
        raise ValueError("null_basis: the vectors must be orthonormal (W^T W = I)")


