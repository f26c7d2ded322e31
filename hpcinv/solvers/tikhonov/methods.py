"""How the ``Tikhonov`` solver computes lambda and x by a spectral model (svd, rsvd, gsvd) or for
a fixed lambda (lsqr), and the standard-form reduction the SVD and Lanczos methods share."""
from __future__ import annotations

import dataclasses

from ...core.errors import ArgumentError
from ...linalg.decompositions.gsvd import gsvd
from ...linalg.decompositions.rsvd import randomized_svd
from ...linalg.decompositions.svd_backends import slepc_svd
from ...linalg.vectors import gram_matrix
from .paramchoice import SpectralModel
from .standard_form import StandardForm


class Reduction:
    """The operator and data the SVD/Lanczos methods see: A and b in standard form (no
    ``L``), else A L_A^+ and b - A x_N, whose solution y maps back to x = L_A^+ y + x_N
    (``null_basis`` spans N(L); ``full_row_rank`` as ``StandardForm``)."""

    def __init__(self, A, b, L=None, null_basis=(), full_row_rank: bool | None = None):
        if L is None:
            self.transform, self.operator, self.data, self.fixed = None, A, b, 0
            return
        basis = list(null_basis)
        self.transform = StandardForm(A, L, basis, full_row_rank=full_row_rank)
        self.x_null, self.data = self.transform.reduced_data(b)
        self.operator = self.transform
        self.fixed = len(basis)

    def model(self, svd, quasi_optimality: str = "Lx") -> SpectralModel:
        """The functionals of a (truncated) SVD of the reduced operator; the N(L) directions
        are fitted exactly, which the GCV trace must count.  ``quasi_optimality`` "x": QO
        of x = L_A^+ y + x_N itself, through the Gram matrix of L_A^+ V (one L_A^+ product
        per singular vector)."""
        gram = None
        if quasi_optimality == "x" and self.transform is not None:
            template = self.x_null
            lifted = [template.duplicate() for _ in range(svd.rank)]
            for column, out in enumerate(lifted):
                v = svd.V.getColumn(column)
                self.transform.pinv.mult(v, out)
                svd.V.restoreColumn(column, v)
            gram = gram_matrix(lifted)
            for vec in lifted:
                vec.destroy()
        return dataclasses.replace(SpectralModel.of_svd(svd, self.data), unfiltered=self.fixed,
                                   solution_gram=gram)

    def solution(self, y, x) -> None:
        """x = L_A^+ y + x_N (x_N computed once, in the constructor)."""
        if self.transform is None:
            y.copy(x)
        else:
            self.transform.lift(y, self.x_null, x)


def nan_if_none(value) -> float:
    return float("nan") if value is None else value


def residual_norm(A, b, x) -> float:
    _, r = A.create_vecs()
    A.mult(x, r)
    r.axpy(-1.0, b)
    return r.norm()


def _regularization(solver):
    """The solver's L, or the identity for problems that name none."""
    from ...operators.regularization import regularization_operator

    return solver.L or regularization_operator(solver.operator.comm, "identity",
                                               (solver.operator.shape[1],))


def lsqr_method(solver, state) -> None:
    from .stacked_lsqr import tikhonov_lsqr

    x, iterations, converged = tikhonov_lsqr(solver.operator, _regularization(solver),
                                             solver.data, solver.lam, rtol=solver.rtol,
                                             max_it=solver.max_iterations)
    x.copy(state.vectors["x"])
    state.iteration = iterations
    solver.record_choice(solver.lam, lsqr_iterations=iterations, converged=converged)


def gsvd_method(solver, state) -> None:
    L = _regularization(solver)
    pair = gsvd(solver.operator, L, svd_type="lapack", null_basis=solver.null_basis)
    b = solver.data
    lam = solver.pick_lambda(pair.model(b, solver.qo_norm))
    solver.record_choice(lam, rank=len(pair.sigma))
    state.iteration = 1
    if lam is not None:
        pair.tikhonov(b, lam).copy(state.vectors["x"])


def svd_method(solver, reduction: Reduction, state) -> None:
    operator = reduction.operator
    if solver.method == "svd":
        svd = slepc_svd(operator, min(operator.shape), "lapack")
    else:
        # The thesis samples A^T for underdetermined problems (tomography): the range of
        # A^T is then the smaller space.
        rows, columns = operator.shape
        try:
            svd = randomized_svd(operator, epsilon=solver.epsilon, seed=solver.seed,
                                 transpose=rows < columns,
                                 max_rank=min(solver.max_iterations, rows, columns),
                                 block=solver.rsvd_block)
        except ValueError as error:   # a tolerance above every sample: nothing to keep
            raise ArgumentError("epsilon", str(error)) from None
    model = reduction.model(svd, solver.qo_norm)
    lam = solver.pick_lambda(model)
    solver.record_choice(lam, rank=svd.rank, matvecs=svd.matvecs, compressed=svd.compressed)
    state.iteration = 1
    if lam is not None:
        reduction.solution(svd.tikhonov(reduction.data, lam), state.vectors["x"])
