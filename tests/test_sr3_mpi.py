"""SR3 and its baselines against dense references (Luiken's thesis, ch. 6), on 1 and 2 ranks:
the SR3 fixed point is x = H^-1 (A^T b + kappa L^T y), y = prox(L x) with H = A^T A +
kappa L^T L; inexact (Algorithm 8) and exact SR3 reach the same point; as kappa grows SR3's x
tends to the solution of the original problem, which ADMM and FISTA find; the relaxed value
function lies below the original one (Theorem 9); a resumed run repeats the uninterrupted
iterates exactly."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.relaxed import ADMM, SR3, ProximalGradient
from hpcinv.solvers.relaxed.prox import L1Ball, L1Norm
from helpers import distributed_matrix, gather, range_vec

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _problem(m=40, n=30, seed=3):
    """A mildly ill-conditioned A, a piecewise-constant truth, L = first differences."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) @ np.diag(np.exp(-np.arange(n) / 10.0))
    truth = np.repeat([1.0, 3.0, 2.0], [n // 3, n // 3, n - 2 * (n // 3)])
    b = A @ truth
    L = np.diff(np.eye(n), axis=0)
    return A, b, L, truth


def _operators(A, b, L):
    operator, regularization = distributed_matrix(A), distributed_matrix(L)
    return operator, range_vec(operator, b), regularization


def _sorted_projection(v, radius):
    if np.abs(v).sum() <= radius:
        return v.copy()
    u = np.sort(np.abs(v))[::-1]
    cumulative = np.cumsum(u)
    last = np.flatnonzero(u * np.arange(1, u.size + 1) > cumulative - radius)[-1]
    theta = (cumulative[last] - radius) / (last + 1.0)
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


def _sr3(A, b, L, regularizer, kappa, **options):
    operator, data, regularization = _operators(A, b, L)
    result = SR3(operator, data, regularization, regularizer, kappa=kappa,
                 **{"max_iterations": 20000, "tolerance": 1e-10, **options}).run()
    assert result.reason == "converged", result.reason
    return gather(result.x), result


@pytest.mark.mpi
@pytest.mark.parametrize("form", ["constrained", "penalized"])
def test_sr3_stops_at_its_fixed_point(form):
    A, b, L, truth = _problem()
    kappa = 2.0
    regularizer = L1Ball(0.5 * np.abs(L @ truth).sum()) if form == "constrained" \
        else L1Norm(0.3)
    x, _ = _sr3(A, b, L, regularizer, kappa, inexact=False, inner_tolerance=1e-12)
    if form == "constrained":
        y = _sorted_projection(L @ x, regularizer.radius)
    else:
        z = L @ x
        y = np.sign(z) * np.maximum(np.abs(z) - 0.3 / kappa, 0.0)
    H = A.T @ A + kappa * L.T @ L
    expected = np.linalg.solve(H, A.T @ b + kappa * L.T @ y)
    assert np.linalg.norm(x - expected) <= 1e-7 * np.linalg.norm(expected)


@pytest.mark.mpi
def test_inexact_and_exact_sr3_reach_the_same_point_with_fewer_lsqr_steps():
    A, b, L, truth = _problem()
    ball = L1Ball(np.abs(L @ truth).sum())
    inexact, fast = _sr3(A, b, L, ball, 1.0, inexact=True)
    exact, slow = _sr3(A, b, L, ball, 1.0, inexact=False)
    assert np.linalg.norm(inexact - exact) <= 1e-5 * np.linalg.norm(exact)
    assert fast.attributes["total_inner_iterations"] < slow.attributes["total_inner_iterations"]
    history = fast.history
    assert np.all(history["inner_iterations"][1:] >= 1)
    assert history["total_inner_iterations"][-1] == fast.attributes["total_inner_iterations"]


def _original_solution(A, b, L, radius):
    """min 1/2 ||A x - b||^2 s.t. ||L x||_1 <= radius by ADMM to a tight tolerance."""
    operator, data, regularization = _operators(A, b, L)
    result = ADMM(operator, data, regularization, L1Ball(radius), rho=1.0, tolerance=1e-11,
                  inner_tolerance=1e-13, max_iterations=50000).run()
    assert result.reason == "converged"
    return gather(result.x)


@pytest.mark.mpi
def test_large_kappa_approaches_the_original_problem_and_stays_below_its_value():
    """Theorem 9: phi_kappa(tau)^2 - phi_inf(tau)^2 = -||A^T r||^2 / kappa + O(1 / kappa^2)
    <= 0, so the relaxed residual is below the original, and for kappa >> ||A||_2^2 (43
    here) the gap and the distance to the original solution shrink like 1/kappa."""
    A, b, L, truth = _problem()
    radius = 0.5 * np.abs(L @ truth).sum()
    original = _original_solution(A, b, L, radius)
    phi_inf = np.linalg.norm(A @ original - b)
    gaps, distances = [], []
    for kappa in (1e3, 1e4, 1e5):
        x, result = _sr3(A, b, L, L1Ball(radius), kappa, inexact=False, inner_tolerance=1e-12)
        y = _sorted_projection(L @ x, radius)
        # The relaxed value ||F y - g||^2 = ||A x - b||^2 + kappa ||L x - y||^2 at x = x(y).
        phi_kappa = np.sqrt(np.linalg.norm(A @ x - b) ** 2
                            + kappa * np.linalg.norm(L @ x - y) ** 2)
        assert phi_kappa <= phi_inf * (1 + 1e-9)
        gaps.append(phi_inf ** 2 - phi_kappa ** 2)
        distances.append(np.linalg.norm(x - original) / np.linalg.norm(original))
    assert distances[2] < 1e-3
    # 1/kappa: each tenfold kappa cuts both about tenfold (measured: 8.3 and 9.8 for the
    # gap, 8.0 and 9.8 for the distance).
    for values in (gaps, distances):
        assert 5 < values[0] / values[1] < 20 and 5 < values[1] / values[2] < 20


@pytest.mark.mpi
def test_fista_and_admm_agree_for_l_equal_identity():
    A, b, _, truth = _problem()
    identity = np.eye(A.shape[1])
    radius = 0.7 * np.abs(truth).sum()
    operator, data, regularization = _operators(A, b, identity)
    fista = ProximalGradient(operator, data, L1Ball(radius), tolerance=1e-12,
                             max_iterations=200000).run()
    admm = _original_solution(A, b, identity, radius)
    assert fista.reason == "converged"
    np.testing.assert_allclose(gather(fista.x), admm, rtol=0,
                               atol=1e-6 * np.abs(admm).max())


@pytest.mark.mpi
@pytest.mark.parametrize("inexact", [True, False])
def test_a_resumed_run_repeats_the_iterates(inexact):
    A, b, L, truth = _problem()
    operator, data, regularization = _operators(A, b, L)

    def method(iterations):
        return SR3(operator, data, regularization, L1Ball(np.abs(L @ truth).sum()), kappa=0.5,
                   inexact=inexact, max_iterations=iterations, tolerance=1e-14)

    whole = method(12).run()
    first = method(5)
    state = first.initial_state()
    first.run(state=state)
    second = method(12).run(state=state)
    assert second.iterations == whole.iterations == 12
    assert np.array_equal(gather(second.x), gather(whole.x))
    for column in ("residual_norm", "total_inner_iterations", "change"):
        assert np.array_equal(second.history[column], whole.history[column]), column


@pytest.mark.mpi
def test_one_and_all_ranks_agree():
    """The same problem on COMM_SELF and COMM_WORLD: LSQR's reductions round differently
    on 2 ranks, which may move an inner stop by a step; the points agree to the tolerance."""
    A, b, L, truth = _problem()
    ball = L1Ball(np.abs(L @ truth).sum())
    world, _ = _sr3(A, b, L, ball, 1.0, tolerance=1e-9)
    selfish = SR3(*_self_operators(A, b, L), ball, kappa=1.0, tolerance=1e-9,
                  max_iterations=20000).run()
    np.testing.assert_allclose(world, selfish.x.getArray(), rtol=0,
                               atol=1e-6 * np.abs(world).max())


def _self_operators(A, b, L):
    from hpcinv.linalg import MatOperator

    def dense(matrix):
        mat = PETSc.Mat().createDense(matrix.shape, array=matrix.copy(), comm=PETSc.COMM_SELF)
        mat.assemble()
        return MatOperator(mat)

    operator = dense(A)
    data = PETSc.Vec().createWithArray(b.copy(), comm=PETSc.COMM_SELF)
    return operator, data, dense(L)


@pytest.mark.mpi
@pytest.mark.parametrize("inexact", [True, False])
def test_zero_data_give_zero_at_once(inexact):
    """b = 0: the warm start x = 0 is exact, LSQR takes no step and SR3 stops at x = 0."""
    A, _, L, _ = _problem()
    x, result = _sr3(A, np.zeros(A.shape[0]), L, L1Ball(1.0), 1.0, inexact=inexact)
    assert np.array_equal(x, np.zeros(A.shape[1]))
    assert result.attributes["total_inner_iterations"] == 0


@pytest.mark.mpi
def test_inspected_lsqr_iterates_are_those_of_restarted_lsqr_runs():
    """Algorithm 8's inner loop inspects x_l after every step of one continuing LSQR; the
    l-th iterate is the one a fresh LSQR from the same warm start reaches in l steps, so
    not restarting changes the cost, not the points."""
    from hpcinv.solvers.framework.stacked_lsqr import StackedLSQR

    A, b, L, truth = _problem()
    operator, data, regularization = _operators(A, b, L)
    bottom = range_vec(regularization, 0.5 * (L @ truth))
    seen = []

    def inspect(x):
        seen.append(gather(x))
        return len(seen) == 6

    x = operator.create_vecs()[0]
    x.getArray()[:] = 0.3
    continuing = StackedLSQR(operator, regularization, data, np.sqrt(2.0), max_iterations=100)
    assert continuing.solve(x, bottom, tolerance=1e-14, inspect=inspect) == 6
    for steps, iterate in enumerate(seen, start=1):
        fresh = operator.create_vecs()[0]
        fresh.getArray()[:] = 0.3
        restarted = StackedLSQR(operator, regularization, data, np.sqrt(2.0),
                                max_iterations=steps)
        assert restarted.solve(fresh, bottom, tolerance=1e-14) == steps
        np.testing.assert_allclose(iterate, gather(fresh), rtol=0,
                                   atol=1e-12 * np.abs(iterate).max())
    assert not np.allclose(seen[0], seen[-1])


@pytest.mark.mpi
@pytest.mark.parametrize("form", ["constrained", "penalized"])
def test_primal_dual_diagnostics_close_at_the_solution(form):
    """SR3's history carries a duality gap of the relaxed problem in y, ADMM's its primal and
    dual residuals; all fall to (near) zero as the methods converge."""
    A, b, L, truth = _problem()
    regularizer = L1Ball(0.5 * np.abs(L @ truth).sum()) if form == "constrained" \
        else L1Norm(0.3)
    _, result = _sr3(A, b, L, regularizer, 2.0, inexact=False, inner_tolerance=1e-12)
    gaps = result.history["duality_gap"][1:]   # row 0: the start, before any step
    # With LSQR converged the gap bounds the suboptimality from above: never negative.
    assert np.all(np.isfinite(gaps)) and gaps[0] > 0
    assert np.all(gaps >= -1e-12 * gaps[0])
    assert gaps[-1] <= 1e-8 * gaps[0]
    operator, data, regularization = _operators(A, b, L)
    admm = ADMM(operator, data, regularization, regularizer, rho=1.0, tolerance=1e-10,
                inner_tolerance=1e-12, max_iterations=50000).run()
    primal, dual = (admm.history[key][1:] for key in ("primal_residual", "dual_residual"))
    assert primal[-1] <= 1e-8 * primal[0] and dual[-1] <= 1e-8 * dual[0]


@pytest.mark.mpi
def test_a_checkpoint_keeps_the_l_range_vectors_in_ls_own_row_order(mpi_tmp_path):
    """The gradient's rows are split by pixels, so the Vec order of y and v depends on the
    number of ranks; the checkpoint stores them in L's own order, which does not, and loads
    them back: a run resumes on any number of ranks."""
    import h5py

    from hpcinv.core.io.checkpoint import CheckpointStore
    from hpcinv.operators.regularization import regularization_operator

    shape = (6, 7)
    L = regularization_operator(COMM, "gradient2d", shape)
    rng = np.random.default_rng(5)
    A = rng.standard_normal((20, shape[0] * shape[1]))
    operator = distributed_matrix(A)
    data = range_vec(operator, A @ np.repeat([1.0, 2.0, 0.5], 14))
    method = SR3(operator, data, L, L1Norm(0.1), kappa=1.0, max_iterations=3)
    state = method.initial_state()
    method.run(state=state)
    y = L.gathered_range(state.vectors["y"])
    assert np.any(y != 0)
    store = CheckpointStore(str(mpi_tmp_path / "sr3.h5"), "sr3", COMM.tompi4py())
    store.save(state, 0.0)
    with h5py.File(store.path, "r") as handle:
        assert np.array_equal(handle["vectors/y"][()], y)
    loaded = store.load(method.initial_state())
    assert np.array_equal(L.gathered_range(loaded.vectors["y"]), y)
    assert np.array_equal(gather(loaded.vectors["x"]), gather(state.vectors["x"]))
