"""The five ways the ``tikhonov`` kind computes lambda and x (see ``tikhonov.py``)."""
from __future__ import annotations

import dataclasses
import time


from ..operators.base import is_matrix_free
from ..operators.vectors import dots
from ..runtime.errors import InputError
from .gsvd import gsvd
from .paramchoice import SpectralModel
from .rsvd import randomized_svd
from .standard_form import StandardForm
from .svd_backends import slepc_svd


def is_standard_form(L) -> bool:
    """L = I (or none): Tikhonov in standard form, no transformation needed."""
    return L is None or getattr(L, "name", None) == "identity"


# Dense LAPACK factorisations: O(n^3) time and every rank holds a dense copy.  SLEPc's
# GSVD of a 576-column pair took 7 s on one core here, of a 900-column one 69 s.
DENSE_LIMITS = {"svd": 5000, "gsvd": 2000}


def check_problem(solver) -> None:
    """Refuse what the problem cannot do, before any heavy work."""
    values, problem = solver.values, solver.problem
    method, L = values["method"], problem.regularization
    if values["rule"] == "dp" and not problem.noise_norm > 0:
        raise InputError(("solver.rule", "the discrepancy principle needs a noise level > 0 "
                                         "(problem.noise_level)"))
    if method == "svd" and not is_standard_form(L):
        raise InputError(("solver.method", "svd needs the standard form (regularization = "
                                           "\"identity\"); use gsvd for a general L"))
    if method in DENSE_LIMITS:
        unknowns = solver.operator.shape[1]
        if unknowns > DENSE_LIMITS[method]:
            raise InputError(("solver.method", f"{method} factorises densely; {unknowns} "
                                               f"unknowns exceed its limit of "
                                               f"{DENSE_LIMITS[method]} (use lanczos or rsvd)"))
        for name, operator in (("operator", solver.operator), ("regularization", L)):
            if operator is not None and is_matrix_free(operator):
                raise InputError(("solver.method", f"{method} needs assembled matrices; the "
                                                   f"problem's {name} is matrix-free (use "
                                                   f"lanczos, rsvd or lsqr)"))


class Reduction:
    """The operator and data the SVD/Lanczos methods see: A and b in standard form, else
    A L_A^+ and b - A x_N, whose solution y maps back to x = L_A^+ y + x_N."""

    def __init__(self, problem):
        self.problem = problem
        L = problem.regularization
        if is_standard_form(L):
            self.transform, self.operator, self.data, self.fixed = None, problem.operator, \
                problem.data, 0
            return
        basis = L.null_space_basis()
        self.transform = StandardForm(problem.operator, L, basis,
                                      full_row_rank=getattr(L, "full_row_rank", None))
        self.x_null = self.transform.null_component(problem.data)
        _, fitted = problem.operator.create_vecs()
        problem.operator.mult(self.x_null, fitted)
        self.data = problem.data.copy()
        self.data.axpy(-1.0, fitted)
        self.operator = self.transform
        self.fixed = len(basis)

    def model(self, svd) -> SpectralModel:
        """The functionals of a (truncated) SVD of the reduced operator; the N(L) directions
        are fitted exactly, which the GCV trace must count."""
        return dataclasses.replace(svd.model(self.data), unfiltered=self.fixed)

    def solution(self, y, x) -> None:
        """x = L_A^+ y + x_N (x_N computed once, in the constructor)."""
        if self.transform is None:
            y.copy(x)
        else:
            self.transform.pinv_mult(y, x)
            x.axpy(1.0, self.x_null)


def solve_tikhonov(solver, state, control) -> str:
    method = solver.values["method"]
    started = time.perf_counter()
    x = state.vectors["x"]
    if method == "lanczos":
        from .tikhonov_lanczos import lanczos_method

        stopped = lanczos_method(solver, Reduction(solver.problem), state, control)
        if stopped:
            return stopped
        residual = state.history.columns["residual_norm"][-1]
    else:
        if method == "lsqr":
            _lsqr(solver, state)
        elif method == "gsvd":
            _gsvd(solver, state)
        else:
            _svd(solver, Reduction(solver.problem), state, method)
        residual = _residual_norm(solver.problem, x)
        stopped = control.record(state, residual, x,
                                 **{"lambda": nan_if_none(solver.chosen.get("lambda"))})
        if stopped:
            return stopped
    solver.chosen["method_seconds"] = time.perf_counter() - started
    control.finish(state, residual)
    if solver.chosen.get("lambda") is None:
        return "no_minimiser"
    if not solver.chosen.get("converged", True):
        return "max_iterations"
    return solver.values["rule"]


def nan_if_none(value) -> float:
    return float("nan") if value is None else value


def _residual_norm(problem, x) -> float:
    _, r = problem.operator.create_vecs()
    problem.operator.mult(x, r)
    r.axpy(-1.0, problem.data)
    return r.norm()


def _record_choice(solver, lam, **extra) -> None:
    solver.chosen.update({"lambda": lam, "rule": solver.values["rule"],
                          "method": solver.values["method"], **extra})


def _regularization(solver):
    """The problem's L, or the identity for problems that name none."""
    from ..operators.regularization import regularization_operator

    return solver.problem.regularization or regularization_operator(
        solver.operator.comm, "identity", (solver.operator.shape[1],))


def _lsqr(solver, state) -> None:
    from ..operators.stacked import tikhonov_lsqr

    problem, values = solver.problem, solver.values
    L = _regularization(solver)
    x, iterations, converged = tikhonov_lsqr(problem.operator, L, problem.data,
                                             values["lambda"], rtol=values["rtol"],
                                             max_it=values["max_iterations"])
    x.copy(state.vectors["x"])
    state.iteration = iterations
    _record_choice(solver, values["lambda"], lsqr_iterations=iterations, converged=converged)


def _gsvd(solver, state) -> None:
    problem = solver.problem
    L = _regularization(solver)
    basis = L.null_space_basis() if hasattr(L, "null_space_basis") else []
    pair = gsvd(problem.operator, L, svd_type="lapack", null_basis=basis)
    b = problem.data
    null_part = dots(b, pair.null_U)
    model = SpectralModel(pair.generalized_values(), dots(b, pair.U),
                          b.norm() ** 2, problem.operator.shape[0],
                          unfiltered=len(pair.null_U),
                          unfiltered_norm2=float(null_part @ null_part))
    lam = solver.pick_lambda(model)
    _record_choice(solver, lam, rank=len(pair.sigma))
    state.iteration = 1
    if lam is not None:
        pair.tikhonov(b, lam).copy(state.vectors["x"])


def _svd(solver, reduction: Reduction, state, method: str) -> None:
    values = solver.values
    operator = reduction.operator
    if method == "svd":
        svd = slepc_svd(operator, min(operator.shape), "lapack")
    else:
        # The thesis samples A^T for underdetermined problems (tomography): the range of
        # A^T is then the smaller space.
        rows, columns = operator.shape
        try:
            svd = randomized_svd(operator, epsilon=values["epsilon"], seed=values["seed"],
                                 transpose=rows < columns,
                                 max_rank=min(values["max_iterations"], rows, columns))
        except ValueError as error:   # a tolerance above every sample: nothing to keep
            raise InputError(("solver.epsilon", str(error))) from None
    model = reduction.model(svd)
    lam = solver.pick_lambda(model)
    _record_choice(solver, lam, rank=svd.rank, matvecs=svd.matvecs, compressed=svd.compressed)
    state.iteration = 1
    if lam is not None:
        reduction.solution(svd.tikhonov(reduction.data, lam), state.vectors["x"])
