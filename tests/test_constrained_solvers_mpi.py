"""Constrained least squares (``hpcinv.solvers.constrained``) on 1 and 2 ranks: right
preconditioning, the quadratic penalty and the KKT system give Luiken's Example 5.3.1 and
agree with dense references (with and without Tikhonov); their operators pass the adjoint
test; the LSQR forms resume from a checkpoint bit for bit and MINRES from the saved (g, mu);
a discrepancy stop reports the true data residual; bad arguments are named.  Every rank
builds the same seeded dense matrices, so the references, and thereby 1 and 2 ranks, agree.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from hpcinv.core.errors import ArgumentError
from hpcinv.core.io.checkpoint import CheckpointStore
from hpcinv.core.petsc_env import initialize
from hpcinv.linalg import MatOperator, Operator, dot_test
from hpcinv.linalg.random import fill_normal
from hpcinv.operators import TimeFrequencyTransform
from hpcinv.operators.wavefield_constraints import ConstraintProjection
from hpcinv.solvers.constrained import (FORMULATIONS, KKTMinres, PenaltyLSQR,
                                        PreconditionedLSQR, ProjectionComplement)
from hpcinv.solvers.constrained.operators import ProjectedOnRange
from helpers import distributed_matrix, gather, range_vec

PETSc = initialize()
COMM = PETSc.COMM_WORLD

# -- Example 5.3.1: A X = B with X symmetric, unknown vec(X) (column-major) -------------------
EXAMPLE_A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
EXAMPLE_X = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
SYMMETRIC = np.array([[1 / 2, 1 / 3, 1 / 2], [1 / 3, 1, 1 / 3], [1 / 2, 1 / 3, 1 / 2]])
PENALISED = {1.0: np.array([[1 / 2, 3 / 7, 1 / 2], [1 / 7, 1, 1 / 7], [1 / 2, 3 / 7, 1 / 2]]),
             4.0: np.array([[1 / 2, 3 / 8, 1 / 2], [1 / 4, 1, 1 / 4], [1 / 2, 3 / 8, 1 / 2]])}


def _example_matrices():
    """K = I_3 kron A (vec(A X) = K vec(X)), the projector onto symmetric matrices
    (vec(X) -> vec((X + X^T) / 2)) and vec(B)."""
    transpose = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            transpose[i + 3 * j, j + 3 * i] = 1.0
    return (np.kron(np.eye(3), EXAMPLE_A), (np.eye(9) + transpose) / 2,
            (EXAMPLE_A @ EXAMPLE_X).ravel(order="F"))


def test_the_example_values_are_the_dense_minimum_norm_solutions():
    K, P, b = _example_matrices()
    L = np.eye(9) - P
    constrained = P @ np.linalg.pinv(K @ P) @ b
    np.testing.assert_allclose(constrained.reshape(3, 3, order="F"), SYMMETRIC, atol=1e-12)
    for rho, expected in PENALISED.items():
        penalised = np.linalg.pinv(np.vstack([K, math.sqrt(rho) * L])) @ np.append(b, np.zeros(9))
        np.testing.assert_allclose(penalised.reshape(3, 3, order="F"), expected, atol=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("name,options,expected,tolerance", [
    ("preconditioned", {}, SYMMETRIC, 1e-8),
    ("kkt", {}, SYMMETRIC, 1e-8),
    ("penalty", {"rho": 1e4}, SYMMETRIC, 1e-4),
    ("penalty", {"rho": 1.0}, PENALISED[1.0], 1e-8),
    ("penalty", {"rho": 4.0}, PENALISED[4.0], 1e-8)])
def test_example_5_3_1(name, options, expected, tolerance):
    """Luiken's Example 5.3.1.  (5.10) and (5.12) give the symmetric solution, and so does
    the penalty for rho = 1e4, to O(1/rho).  Our L = I - P is (5.6)'s half-difference
    (X - X^T) / 2, so our rho = 4 penalises ||X - X^T||^2 with weight 1, which is what the
    thesis' printed "rho = 1" solution [[1/2,3/8,1/2],[1/4,1,3/8],[1/2,1/4,1/2]] comes
    from, except for two misprinted entries: rho = 4 gives [[1/2,3/8,1/2],[1/4,1,1/4],
    [1/2,3/8,1/2]] (dense pseudo-inverse above); our rho = 1 gives the 3/7 and 1/7 one."""
    K, P, b = _example_matrices()
    operator = distributed_matrix(K)
    method = FORMULATIONS[name](operator, range_vec(operator, b), distributed_matrix(P),
                                tau=1.0, noise_norm=0.0, max_iterations=50, **options)
    result = method.run()
    assert result.reason in ("least_squares_solution", "max_iterations")
    if result.reason == "max_iterations":   # then the residual has long stopped changing
        residuals = result.history["residual_norm"]
        assert abs(residuals[-1] - residuals[-10]) <= 1e-10 * residuals[-1]
    X = gather(result.x).reshape(3, 3, order="F")
    np.testing.assert_allclose(X, expected, rtol=0, atol=tolerance)


# -- a random problem: A 40 x 30, P projects onto a random 12-dimensional subspace -------------
def _random_problem(noise_level: float | None = None, seed: int = 7):
    """Dense A, V (orthonormal), P = V V^T and b, the same on every rank, and their PETSc
    counterparts.  With ``noise_level``, b = A V c + e with ||e|| = noise_level ||A V c||
    (an admissible truth); without it, b is random (no admissible exact fit)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((40, 30))
    V, _ = np.linalg.qr(rng.standard_normal((30, 12)))
    P = V @ V.T
    noise_norm = 0.0
    if noise_level is None:
        b = rng.standard_normal(40)
    else:
        clean = A @ V @ rng.standard_normal(12)
        noise = rng.standard_normal(40)
        noise_norm = noise_level * np.linalg.norm(clean)
        b = clean + noise_norm / np.linalg.norm(noise) * noise
    operator = distributed_matrix(A, "dense")
    return SimpleNamespace(A=A, V=V, P=P, L=np.eye(30) - P, b=b, noise_norm=noise_norm,
                           operator=operator, projection=distributed_matrix(P, "dense"),
                           data=range_vec(operator, b))


def _method(name, problem, **options):
    return FORMULATIONS[name](problem.operator, problem.data, problem.projection, **options)


def _constrained_reference(problem, lam: float) -> np.ndarray:
    """g = V argmin ||A V y - b||^2 + lam ||y||^2: V (A V)^+ b for lam = 0."""
    AV = problem.A @ problem.V
    stacked = np.vstack([AV, math.sqrt(lam) * np.eye(AV.shape[1])])
    return problem.V @ np.linalg.lstsq(stacked, np.append(problem.b, np.zeros(AV.shape[1])),
                                       rcond=None)[0]


def _penalty_reference(problem, rho: float, lam: float) -> np.ndarray:
    n = problem.A.shape[1]
    stacked = np.vstack([problem.A, math.sqrt(rho) * problem.L, math.sqrt(lam) * np.eye(n)])
    return np.linalg.lstsq(stacked, np.append(problem.b, np.zeros(2 * n)), rcond=None)[0]


def _relative_difference(actual, expected) -> float:
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


# Enough iterations for each to converge on the random problem; the penalty's rho = 1e10
# puts its solution within O(||A||^2 / rho) of the constrained one.  A P has rank 12: LSQR
# converges in 12 steps, and far beyond them (from about 20 on) rounding grows x in the
# null space of P, where P x loses it to cancellation (a lam > 0 has no such null space).
CONVERGED = {"preconditioned": {"max_iterations": 14},
             "penalty": {"rho": 1e10, "max_iterations": 200},
             "kkt": {"max_iterations": 200}}


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
@pytest.mark.parametrize("name", list(FORMULATIONS))
def test_the_formulations_give_the_constrained_solution(name, lam):
    problem = _random_problem()
    result = _method(name, problem, lam=lam, **CONVERGED[name]).run()
    assert result.reason in ("least_squares_solution", "max_iterations")
    expected = _constrained_reference(problem, lam)
    assert _relative_difference(gather(result.x), expected) <= 1e-6
    assert result.history["residual_norm"][-1] == pytest.approx(
        np.linalg.norm(problem.A @ expected - problem.b), rel=1e-6)


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_the_penalty_solves_its_stacked_problem_for_a_moderate_rho(lam):
    problem = _random_problem()
    result = _method("penalty", problem, rho=10.0, lam=lam, max_iterations=80).run()
    expected = _penalty_reference(problem, 10.0, lam)
    assert _relative_difference(gather(result.x), expected) <= 1e-10
    assert _relative_difference(expected, _constrained_reference(problem, lam)) > 1e-3


# -- adjoints ----------------------------------------------------------------------------------
@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_the_operators_are_adjoint_and_the_kkt_matrix_is_the_dense_one(lam):
    problem = _random_problem()
    for operator in (_method("preconditioned", problem, lam=lam).operator,
                     _method("penalty", problem, rho=10.0, lam=lam).operator,
                     ProjectionComplement(problem.projection)):
        assert dot_test(operator) <= 1e-13
    system = _method("kkt", problem, lam=lam).system
    u, v = system.create_vecs()
    fill_normal(u, 1)
    fill_normal(v, 2)
    ku, kv = u.duplicate(), v.duplicate()
    system.mult(u, ku)
    system.mult(v, kv)
    assert abs(ku.dot(v) - u.dot(kv)) <= 1e-13 * ku.norm() * v.norm()
    # The blocks of a KKT vector, against [[A^T A + lam I, L], [L, 0]] [g; mu].
    g, mu = np.random.default_rng(5).standard_normal((2, 30))
    with system.blocks(u) as (primal, dual):
        primal.getArray()[:] = g[slice(*primal.getOwnershipRange())]
        dual.getArray()[:] = mu[slice(*dual.getOwnershipRange())]
    system.mult(u, ku)
    with system.blocks(ku) as (primal, dual):
        top, bottom = gather(primal), gather(dual)
    A, L = problem.A, problem.L
    np.testing.assert_allclose(top, (A.T @ A + lam * np.eye(30)) @ g + L @ mu, atol=1e-12)
    np.testing.assert_allclose(bottom, L @ g, atol=1e-12)


# -- resuming ----------------------------------------------------------------------------------
def _save_a_run(method, store) -> None:
    """Run ``method`` and save its final state in ``store``."""
    state = method.initial_state()
    method.run(state=state)
    store.save(state, 0.0)


@pytest.mark.mpi
@pytest.mark.parametrize("name,options", [("preconditioned", {}),
                                          ("preconditioned", {"lam": 0.5}),
                                          ("penalty", {"rho": 10.0}),
                                          ("penalty", {"rho": 10.0, "lam": 0.5})])
def test_the_lsqr_forms_resume_from_a_checkpoint_bit_for_bit(name, options, mpi_tmp_path):
    problem = _random_problem()
    whole = _method(name, problem, max_iterations=12, **options).run()
    store = CheckpointStore(str(mpi_tmp_path / "run.h5"), "constrained", COMM.tompi4py())
    _save_a_run(_method(name, problem, max_iterations=5, **options), store)
    method = _method(name, problem, max_iterations=12, **options)
    assert method.exact_resume
    resumed = method.run(state=store.load(method.initial_state()))
    assert resumed.iterations == 12
    assert np.array_equal(resumed.history["iteration"], np.arange(13))
    assert np.array_equal(gather(resumed.x), gather(whole.x))
    assert np.array_equal(resumed.history["residual_norm"], whole.history["residual_norm"])


@pytest.mark.mpi
def test_a_checkpoint_without_a_vector_the_solver_keeps_is_named(mpi_tmp_path):
    """A penalty checkpoint from before L x was kept in the state: refused, naming what it
    lacks, not read as damaged."""
    from hpcinv.core.errors import InputError

    problem = _random_problem()
    store = CheckpointStore(str(mpi_tmp_path / "run.h5"), "constrained", COMM.tompi4py())
    older = _method("penalty", problem, rho=10.0, max_iterations=3)
    state = older.initial_state()
    older.run(state=state)
    for name in ("penalty_x", "penalty_w_less_v"):
        del state.vectors[name]
    store.save(state, 0.0)
    method = _method("penalty", problem, rho=10.0, max_iterations=6)
    with pytest.raises(InputError, match="another version of this solver.*penalty_w_less_v, "
                                         "penalty_x"):
        store.load(method.initial_state())


@pytest.mark.mpi
@pytest.mark.parametrize("name, options, bound", [
    ("preconditioned", {}, False), ("preconditioned", {"lam": 0.5}, True),
    ("penalty", {}, True)])
def test_stacked_states_resume_only_on_their_rank_count(name, options, bound):
    """A stacked Vec's global order depends on the rank count, so LSQR's u of a stacked
    system saved on N ranks is refused on another count; A P's unstacked state is not."""
    from hpcinv.core.errors import InputError

    problem = _random_problem()
    method = _method(name, problem, max_iterations=3, **options)
    state = method.initial_state()
    assert ("stacked_state_ranks" in state.scalars) == bound
    if not bound:
        return
    assert state.scalars["stacked_state_ranks"] == COMM.size
    state.scalars["stacked_state_ranks"] = COMM.size + 1      # as if saved elsewhere
    with pytest.raises(InputError, match="resume on"):
        method.run(state=state)


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_kkt_resumes_from_the_saved_solution_and_multiplier(lam, mpi_tmp_path):
    problem = _random_problem()
    store = CheckpointStore(str(mpi_tmp_path / "kkt.h5"), "constrained", COMM.tompi4py())
    _save_a_run(_method("kkt", problem, lam=lam, max_iterations=10), store)
    method = _method("kkt", problem, lam=lam, max_iterations=200)
    assert not method.exact_resume
    result = method.run(state=store.load(method.initial_state()))
    assert result.iterations == 200
    assert np.array_equal(result.history["iteration"], np.arange(201))
    expected = _constrained_reference(problem, lam)
    assert _relative_difference(gather(result.x), expected) <= 1e-8


@pytest.mark.mpi
def test_a_kkt_restart_needs_the_multiplier(mpi_tmp_path):
    """From a converged (g, mu) a few more MINRES steps leave g in place; from g alone (mu
    zeroed) the KKT residual is A^T b - A^T A g = L mu, far from 0, and g moves."""
    problem = _random_problem()
    store = CheckpointStore(str(mpi_tmp_path / "kkt.h5"), "constrained", COMM.tompi4py())
    _save_a_run(_method("kkt", problem, max_iterations=200), store)
    converged = gather(store.load(_method("kkt", problem).initial_state()).vectors["x"])
    moved = {}
    for restored in (True, False):
        method = _method("kkt", problem, max_iterations=203)
        state = store.load(method.initial_state())
        if not restored:
            state.vectors["multiplier"].zeroEntries()
        moved[restored] = _relative_difference(gather(method.run(state=state).x), converged)
    assert moved[True] <= 1e-10
    assert moved[False] >= 1e-6


# -- what the LSQR forms spare ----------------------------------------------------------------
class _OpaqueProjection(Operator):
    """A projection that does not say it is an exact projector: A P stays the plain
    composition."""

    symmetric = True

    def __init__(self, projection):
        super().__init__(projection.range_layout, projection.domain_layout)
        self.projection = projection

    def mult(self, x, y):
        self.projection.mult(x, y)

    def mult_transpose(self, y, x):
        self.projection.mult(y, x)


def _on_layout(dense, layout):
    """``dense`` as a MatOperator whose columns are split as ``layout``."""
    m, n = dense.shape
    mat = PETSc.Mat().createDense(((PETSc.DECIDE, m), (layout.local_size, n)), comm=COMM)
    mat.setUp()
    start, stop = mat.getOwnershipRange()
    mat.setValues(range(start, stop), range(n), dense[start:stop])
    mat.assemble()
    return MatOperator(mat)


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_the_preconditioned_form_skips_an_exact_projector_in_its_forward_product(lam):
    """With causality and reciprocity (P exactly idempotent) LSQR's right vectors stay in
    range(P), so A P v = A v: the iterates are those of the plain A P to rounding."""
    n_r, n_t = 3, 6
    transform = TimeFrequencyTransform(COMM, n_r, n_r, n_t, n_t // 2 + 1)
    onsets = np.array([[0, 1, 3], [1, 0, 2], [3, 2, 1]])
    projection = ConstraintProjection(transform, onsets=onsets, reciprocity=True)
    rng = np.random.default_rng(3)
    operator = _on_layout(rng.standard_normal((20, n_t * n_r * n_r)), projection.domain_layout)
    data = range_vec(operator, rng.standard_normal(20))
    skipping, plain = (PreconditionedLSQR(operator, data, each, lam=lam, max_iterations=12)
                       for each in (projection, _OpaqueProjection(projection)))
    restricted = skipping.operator if lam == 0 else skipping.operator.A
    assert isinstance(restricted, ProjectedOnRange)
    first, second = skipping.run(), plain.run()
    np.testing.assert_allclose(first.history["residual_norm"],
                               second.history["residual_norm"], rtol=1e-12)
    assert _relative_difference(gather(first.x), gather(second.x)) <= 1e-12


@pytest.mark.mpi
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_the_penalty_form_follows_l_x_without_products_with_l(lam):
    """L x kept by recurrence through 25 LSQR steps is L x to rounding."""
    problem = _random_problem(noise_level=0.05)
    method = _method("penalty", problem, rho=100.0, lam=lam)
    state = method.initial_state()
    for _ in range(25):
        method.step(state)
        state.iteration += 1
    x = gather(state.vectors["x"])
    tracked = gather(state.vectors["penalty_x"])
    assert _relative_difference(tracked, problem.L @ x) <= 1e-10


# -- the discrepancy principle on the data residual --------------------------------------------
@pytest.mark.mpi
@pytest.mark.parametrize("name,options", [("preconditioned", {}),
                                          ("preconditioned", {"lam": 0.1}),
                                          ("penalty", {"rho": 100.0}),
                                          ("penalty", {"rho": 100.0, "lam": 0.1}),
                                          ("kkt", {}),
                                          ("kkt", {"lam": 0.1})])
def test_a_discrepancy_stop_reports_the_true_data_residual(name, options):
    problem = _random_problem(noise_level=0.05)
    method = _method(name, problem, tau=1.02, noise_norm=problem.noise_norm,
                     max_iterations=200, **options)
    result = method.run()
    residuals = result.history["residual_norm"]
    assert result.reason == "discrepancy" and result.iterations > 1
    assert residuals[-1] <= method.target and np.all(residuals[:-1] > method.target)
    g = gather(result.x)
    true = np.linalg.norm(problem.A @ g - problem.b)
    assert abs(residuals[-1] - true) <= 1e-8 * true


# -- bad arguments -----------------------------------------------------------------------------
@pytest.mark.mpi
@pytest.mark.parametrize("name,argument,value", [
    *[(name, "lam", lam) for name in FORMULATIONS
      for lam in (-1.0, math.nan, math.inf, "0.1", True)],
    *[("penalty", "rho", rho) for rho in (0.0, -1.0, math.inf, None)]])
def test_bad_weights_are_named(name, argument, value):
    problem = _random_problem()
    with pytest.raises(ArgumentError) as raised:
        _method(name, problem, **{argument: value})
    assert raised.value.argument == argument


def _square(size):
    return distributed_matrix(np.eye(size))


@pytest.mark.mpi
@pytest.mark.parametrize("name", list(FORMULATIONS))
def test_misshapen_operators_and_data_are_named(name):
    problem = _random_problem()
    short_data = range_vec(distributed_matrix(np.ones((39, 30))), np.ones(39))
    arguments = {"projection": [_square(20), distributed_matrix(np.ones((30, 20))),
                                distributed_matrix(np.ones((20, 30)))],
                 "data": [short_data]}
    if name != "preconditioned":
        arguments["penalty"] = [_square(20), distributed_matrix(np.ones((30, 20)))]
    for argument, values in arguments.items():
        for value in values:
            given = {"data": problem.data, "projection": problem.projection, argument: value}
            with pytest.raises(ArgumentError) as raised:
                FORMULATIONS[name](problem.operator, given.pop("data"),
                                   given.pop("projection"), **given)
            assert raised.value.argument == argument


def test_the_formulations_by_name():
    assert FORMULATIONS == {"preconditioned": PreconditionedLSQR, "penalty": PenaltyLSQR,
                            "kkt": KKTMinres}
