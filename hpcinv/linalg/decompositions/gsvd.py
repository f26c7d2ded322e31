"""The generalized SVD of (A, L) by SLEPc, in the convention of the thesis, and the general-form
Tikhonov and truncated-GSVD solutions it gives.

Conventions.  SLEPc (users manual, "generalized singular value decomposition") computes
U^T A X = C, V^T L X = S with C = diag(c_i), S = diag(s_i), c_i^2 + s_i^2 = 1, and reports
the generalized singular value c_i / s_i.  ``SVD.getSingularTriplet(i, uv, x)`` returns
c_i / s_i, fills ``uv`` with the concatenation [u_i; v_i] (each rank holds its rows of u_i
and then its rows of v_i, the layout of ``StackedOperator``) and ``x`` with x_i, normalized so
that ||u_i|| = ||v_i|| = 1:

    A x_i = c_i u_i,    L x_i = s_i v_i.

The thesis (Definition 1) writes A = U Sigma X, L = V Gamma X with sigma_i^2 + gamma_i^2 = 1,
so its X^{-1} is SLEPc's X, sigma_i = c_i and gamma_i = s_i; the x_i are kept here as ``Y``.
The thesis orders sigma_i ascending; SLEPc, and ``GSVD``, order sigma_i / gamma_i descending.

SLEPc returns only finite generalized values: at most min(m, n, p) triplets and none with
gamma_i = 0 (the directions of N(L)).  Those come from an orthonormal basis W of N(L) passed
as ``null_basis``: with A W = Q R (Q orthonormal), the columns x = W R^{-1} satisfy
A x = q, L x = 0, i.e. sigma = 1, gamma = 0, and q is orthogonal to every other u_i.

Solvers.  ``lapack`` gathers dense copies of A and L on every rank (small problems only) and
needs assembled matrices: SLEPc copies them with MatCreateRedundantMatrix, which shell
(matrix-free) Mats do not support, so they are refused here.  ``trlanczos`` (thick-restart
Lanczos bidiagonalization of the pair, Alvarruiz, Campos & Roman) computes a few triplets with
the largest sigma_i / gamma_i.  SLEPc 3.18 builds Z = [A; L] as a shell Mat of its own and
solves a least-squares problem with Z at every step by an inner KSP (LSQR without
preconditioner, rtol = tol / 10, options prefix ``<prefix>svd_trlanczos_``), so matrix-free
operators work.  ``-<prefix>svd_trlanczos_explicitmatrix`` assembles Z instead (assembled A
and L only), which lets the inner KSP use a preconditioner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..operator import Operator, StackedOperator, is_matrix_free
from ..vectors import dots, gram_matrix
from ...core.errors import RuntimeFailure

SVD_TYPES = ("lapack", "trlanczos")


@dataclass
class GSVD:
    """Generalized singular triplets of (A, L), largest sigma_i / gamma_i first.

    ``U[i]``, ``V[i]``, ``Y[i]`` satisfy A Y[i] = sigma[i] U[i], L Y[i] = gamma[i] V[i].
    ``null_U[j]``, ``null_Y[j]`` are the triplets with sigma = 1, gamma = 0 (Y spanning N(L)).
    """

    sigma: np.ndarray
    gamma: np.ndarray
    U: list
    V: list
    Y: list
    null_U: list = field(default_factory=list)
    null_Y: list = field(default_factory=list)

    def generalized_values(self) -> np.ndarray:
        """sigma_i / gamma_i, descending (the N(L) part, where it is infinite, excluded)."""
        return self.sigma / self.gamma

    def solution_gram(self) -> np.ndarray:
        """G = W^T W with w_i = y_i / gamma_i: x = sum_i (s_i / (s_i^2 + lam)) (u_i^T b) w_i
        (s = sigma / gamma) plus the N(L) part, so ||lam dx/dlam||^2 = c^T G c
        (``SpectralModel.solution_gram``; one reduction)."""
        return gram_matrix(self.Y) / np.outer(self.gamma, self.gamma)

    def model(self, b, quasi_optimality: str = "Lx"):
        """The parameter-choice model of general-form Tikhonov for the data Vec ``b``: a
        ``SpectralModel`` (``hpcinv.solvers.tikhonov.paramchoice``), as
        ``SpectralModel.of_svd(svd, b)`` is for an SVD, in filter-factor form: the
        generalized values sigma_i / gamma_i with beta_i = u_i^T b, ||b||^2 and m, and the
        N(L) directions fitted exactly whatever lambda (filter 1; GCV's trace counts them).
        Its ``residual_norm2(lam)`` and ``solution_norm2(lam)`` are ||A x - b||^2 and
        ||L x||^2 of ``tikhonov(b, lam)``; ``choose_lambda(model, rule)`` picks lambda.
        ``quasi_optimality``: what its QO measures, ||lam L dx/dlam|| ("Lx") or
        ||lam dx/dlam|| ("x", through ``solution_gram``)."""
        # The one import of the solvers layer from linalg (docs/architecture.md): the model
        # is the solvers' parameter-choice class, the data are the GSVD's.
        from ...solvers.tikhonov.paramchoice.functionals import QO_NORMS, SpectralModel

        if quasi_optimality not in QO_NORMS:
            raise ValueError(f"quasi_optimality: one of {QO_NORMS}, got {quasi_optimality!r}")
        null_part = dots(b, self.null_U)
        return SpectralModel(self.generalized_values(), dots(b, self.U), b.norm() ** 2,
                             b.getSize(), unfiltered=len(self.null_U),
                             unfiltered_norm2=float(null_part @ null_part),
                             solution_gram=self.solution_gram() if quasi_optimality == "x"
                             else None)

    def tikhonov(self, b, lam: float):
        """argmin ||A x - b||^2 + lam ||L x||^2 restricted to the kept triplets:
        sum_i sigma_i / (sigma_i^2 + lam gamma_i^2) (u_i^T b) y_i plus the N(L) part."""
        if not lam > 0:
            raise ValueError(f"lam: the regularization parameter must be positive, got {lam}")
        return self._expand(b, self.sigma / (self.sigma ** 2 + lam * self.gamma ** 2))

    def tsvd(self, b, k: int):
        """Hansen's truncated GSVD: sum over the k largest sigma_i / gamma_i of
        (u_i^T b) / sigma_i y_i, plus the N(L) part."""
        if not 0 <= k <= len(self.sigma):
            raise ValueError(f"k: must lie in [0, {len(self.sigma)}] (the triplets kept), got {k}")
        coefficients = np.zeros(len(self.sigma))
        coefficients[:k] = 1.0 / self.sigma[:k]
        return self._expand(b, coefficients)

    def _expand(self, b, coefficients):
        x = (self.Y or self.null_Y)[0].duplicate()
        x.zeroEntries()
        if self.U:
            x.maxpy(coefficients * dots(b, self.U), self.Y)
        if self.null_U:
            x.maxpy(dots(b, self.null_U), self.null_Y)
        return x


def gsvd(A: Operator, L: Operator, nsv: int | None = None, svd_type: str = "lapack",
         tol: float = 1e-12, null_basis=(), prefix: str = "gsvd_") -> GSVD:
    """The GSVD of (A, L): ``nsv`` triplets with the largest sigma_i / gamma_i (None: all
    finite ones, ``lapack`` only), and the N(L) part from ``null_basis`` (orthonormal Vecs
    spanning N(L); empty when N(L) = {0}).  ``tol`` is SLEPc's tolerance (``trlanczos``);
    options under ``prefix`` (``-gsvd_svd_monitor``, ...) reach the SVD object."""
    if svd_type not in SVD_TYPES:
        raise ValueError(f"svd_type: one of {SVD_TYPES}, got {svd_type!r}")
    if nsv is None and svd_type != "lapack":
        raise ValueError("nsv: all triplets (None) only with svd_type='lapack'; "
                         "trlanczos computes a few largest ones")
    if nsv is not None and nsv < 1:
        raise ValueError(f"nsv: must be positive, got {nsv}")
    A_mat, L_mat = A.as_petsc_mat(), L.as_petsc_mat()
    if svd_type == "lapack" and (is_matrix_free(A) or is_matrix_free(L)):
        raise ValueError("svd_type: 'lapack' copies A and L into dense matrices, which SLEPc "
                         "cannot do for matrix-free (shell) operators; use 'trlanczos' or "
                         "assembled matrices")
    from ...core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    svd = SLEPc.SVD().create(comm=A.comm)
    svd.setOptionsPrefix(prefix)
    svd.setOperators(A_mat, L_mat)
    svd.setProblemType(SLEPc.SVD.ProblemType.GENERALIZED)
    svd.setType(svd_type)
    if nsv is not None:
        svd.setDimensions(nsv=nsv)
    svd.setTolerances(tol=tol)
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        svd.setFromOptions()
    svd.solve()
    converged = svd.getConverged()
    count = converged if nsv is None else nsv
    if converged < count:
        raise RuntimeFailure(f"gsvd: SLEPc {svd_type} converged {converged} of {nsv} triplets "
                             f"(reason {svd.getConvergedReason()})")
    layout = StackedOperator(A, L)
    ratios, U, V, Y = np.empty(count), [], [], []
    for i in range(count):
        y, uv = layout.create_vecs()
        ratios[i] = svd.getSingularTriplet(i, uv, y)
        u, v = layout.split(uv)
        U.append(u)
        V.append(v)
        Y.append(y)
    svd.destroy()
    null_U, null_Y = _null_space_triplets(A, list(null_basis))
    n = A.shape[1]
    # With m < n SLEPc keeps at most m triplets, so their number says nothing about N(L).
    if nsv is None and A.shape[0] >= n and count + len(null_Y) != n:
        raise ValueError(f"null_basis: SLEPc found {count} finite triplets, so N(L) has "
                         f"dimension {n - count}; got {len(null_Y)} basis vectors")
    norms = np.hypot(1.0, ratios)
    return GSVD(sigma=ratios / norms, gamma=1.0 / norms, U=U, V=V, Y=Y, null_U=null_U,
                null_Y=null_Y)


def _null_space_triplets(A: Operator, null_basis: list):
    """(u_j, x_j) with A x_j = u_j orthonormal and x_j spanning N(L), from A W = Q R.  W has
    a handful of columns, so its q x q Gram matrix is formed from dot products and factored
    redundantly on every rank rather than by a distributed QR."""
    if not null_basis:
        return [], []
    AW = []
    for w in null_basis:
        _, aw = A.create_vecs()
        A.mult(w, aw)
        AW.append(aw)
    gram = np.array([dots(aw, AW) for aw in AW])
    inverse_r = np.linalg.inv(np.linalg.cholesky(gram).T)
    return ([_combination(AW, column) for column in inverse_r.T],
            [_combination(null_basis, column) for column in inverse_r.T])




def _combination(vecs: list, coefficients):
    out = vecs[0].duplicate()
    out.zeroEntries()
    out.maxpy(coefficients, vecs)
    return out
