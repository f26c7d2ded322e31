"""Augmented (recycling) SD, Landweber and CGLS on 1 and 2 ranks, against dense numpy
references that do not depend on the rank count."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize

PETSc = initialize()
COMM = PETSc.COMM_WORLD

from hpcinv.core.jobspec import parse_spec  # noqa: E402
from hpcinv.core.errors import InputError  # noqa: E402
from hpcinv.solvers import IterationControl  # noqa: E402
from hpcinv.solvers.framework.stopping import FixedIterations  # noqa: E402
from hpcinv.solvers.recycling.augmented import (AugmentedCGLS, AugmentedLandweber,  # noqa: E402
                                                AugmentedSteepestDescent, descent_step,
                                                landweber_step, residual_gaps)
from hpcinv.solvers.recycling.space import RecycleSpace  # noqa: E402
from hpcinv.linalg.dense import dense_matrix  # noqa: E402
from tests.helpers import (build_job, distributed_matrix, domain_vec, domain_vecs,  # noqa: E402
                           gather, range_vec)

M, N = 60, 50


def _problem(decay=True, seed=1):
    """A = W diag(s) V^T with s decaying (ill-posed) or in [0.1, 1] (well-conditioned)."""
    rng = np.random.default_rng(seed)
    W, _ = np.linalg.qr(rng.standard_normal((M, N)))
    V, _ = np.linalg.qr(rng.standard_normal((N, N)))
    s = 0.8 ** np.arange(N) if decay else np.linspace(1.0, 0.1, N)
    dense = (W * s) @ V.T
    truth = V @ (s ** 0.5 * rng.standard_normal(N))
    return dense, V, s, truth, rng


def _space(op, rng, k=4):
    columns = rng.standard_normal((N, k))
    nearly = columns[:, :1] + columns[:, 1:2] + 1e-14 * rng.standard_normal((N, 1))
    return RecycleSpace(op, domain_vecs(op, np.hstack([columns, nearly]))), columns


@pytest.mark.mpi
def test_qr_drops_dependent_column_and_projectors_commute():
    dense, _, _, _, rng = _problem()
    op = distributed_matrix(dense)
    space, columns = _space(op, rng)
    assert space.k == 4 and space.dropped == 1
    U = np.column_stack([gather(u) for u in space.U])
    C = np.column_stack([gather(c) for c in space.C])
    assert np.allclose(C.T @ C, np.eye(4), atol=1e-12)
    assert np.allclose(dense @ U, C, atol=1e-12)
    # span U is the span of the kept input columns
    assert np.linalg.matrix_rank(np.hstack([U, columns]), tol=1e-8) == 4
    v = domain_vec(op, rng.standard_normal(N))
    w = range_vec(op, rng.standard_normal(M))
    z = range_vec(op, rng.standard_normal(M))
    pv = space.project_domain(v)
    assert np.allclose(gather(space.project_domain(pv)), gather(pv), atol=1e-12)
    qw = space.project_range(w)
    assert np.allclose(gather(space.project_range(qw)), gather(qw), atol=1e-12)
    assert qw.dot(z) == pytest.approx(w.dot(space.project_range(z)), abs=1e-12)
    assert np.allclose(gather(space.complement_range(w)), gather(w) - gather(qw), atol=1e-14)
    _, tv = op.create_vecs()
    op.mult(v, tv)
    _, tpv = op.create_vecs()
    op.mult(pv, tpv)
    assert np.allclose(gather(tpv), gather(space.project_range(tv)), atol=1e-12)
    with pytest.raises(ValueError, match="drop_tolerance"):
        RecycleSpace(op, [], drop_tolerance=1.5)


@pytest.mark.mpi
def test_recursive_residual_is_true_residual_and_orthogonal_to_c():
    dense, _, _, truth, rng = _problem()
    op = distributed_matrix(dense)
    space, _ = _space(op, rng)
    y = range_vec(op, dense @ truth + 1e-3 * rng.standard_normal(M))
    x0 = domain_vec(op, rng.standard_normal(N))
    r0 = y.duplicate()
    op.mult(x0, r0)
    r0.aypx(-1.0, y)
    x, r = space.initial(x0, r0)
    g, h = op.create_vecs()
    for _ in range(300):
        descent_step(op, space, x, r, g, h)
    gap, orthogonality = residual_gaps(op, y, space, x, r)
    assert gap < 1e-10 and orthogonality < 1e-10
    result = AugmentedSteepestDescent(op, y, space, max_iterations=100,
                                      check_residual_every=25).run()
    checked = np.isfinite(result.history["residual_gap"])
    assert result.history["iteration"][checked].tolist() == [25, 50, 75, 100]
    assert np.all(result.history["residual_gap"][checked] < 1e-10)
    assert np.all(result.history["range_orthogonality"][checked] < 1e-10)


def _plain_sd(dense, y, iterations):
    x, r = np.zeros(N), y.copy()
    for _ in range(iterations):
        g = dense.T @ r
        h = dense @ g
        alpha = (g @ g) / (h @ h)
        x, r = x + alpha * g, r - alpha * h
    return x


@pytest.mark.mpi
def test_without_recycle_vectors_it_is_plain_steepest_descent():
    dense, _, _, truth, _ = _problem()
    op = distributed_matrix(dense)
    y = range_vec(op, dense @ truth)
    plain = AugmentedSteepestDescent(op, y, None, max_iterations=30).run()
    empty = AugmentedSteepestDescent(op, y, RecycleSpace(op, []), max_iterations=30).run()
    assert np.array_equal(gather(plain.x), gather(empty.x))
    reference = _plain_sd(dense, dense @ truth, 30)
    assert np.allclose(gather(plain.x), reference, rtol=0, atol=1e-10 * np.linalg.norm(reference))


@pytest.mark.mpi
def test_invariant_subspace_augmentation_has_the_plain_limit_and_is_faster():
    dense, V, _, truth, _ = _problem(decay=False)
    op = distributed_matrix(dense)
    y = range_vec(op, dense @ truth)
    space = RecycleSpace(op, domain_vecs(op, V[:, :3]))
    solution = np.linalg.lstsq(dense, dense @ truth, rcond=None)[0]
    kwargs = dict(tau=1.0, noise_norm=1e-11 * y.norm(), max_iterations=2000)
    augmented = AugmentedSteepestDescent(op, y, space, **kwargs).run()
    plain = AugmentedSteepestDescent(op, y, None, **kwargs).run()
    for result in (augmented, plain):
        assert result.reason == "discrepancy"
        assert np.allclose(gather(result.x), solution, atol=1e-9 * np.linalg.norm(solution))
    assert augmented.discrepancy_iteration <= plain.discrepancy_iteration


@pytest.mark.mpi
def test_landweber_step_and_discrepancy():
    dense, _, s, truth, rng = _problem()
    op = distributed_matrix(dense)
    step = landweber_step(op)
    assert 0.5 / s[0] ** 2 < step < 2.0 / s[0] ** 2
    space, _ = _space(op, rng)
    noise = rng.standard_normal(M)
    noise *= 0.01 * np.linalg.norm(dense @ truth) / np.linalg.norm(noise)
    y = range_vec(op, dense @ truth + noise)
    result = AugmentedLandweber(op, y, space, tau=1.1, noise_norm=np.linalg.norm(noise),
                                max_iterations=5000).run(truth=domain_vec(op, truth))
    residuals = result.history["residual_norm"]
    assert result.reason == "discrepancy"
    assert np.all(np.diff(residuals) <= 1e-12 * residuals[0])
    assert result.discrepancy_iteration == result.history["iteration"][-1]
    assert 0 <= result.semiconvergence_iteration <= result.discrepancy_iteration
    with pytest.raises(ValueError, match="step"):
        AugmentedLandweber(op, y, space, step=-1.0)


@pytest.mark.mpi
def test_augmented_cgls_is_xp_plus_complement_and_reaches_discrepancy():
    dense, _, _, truth, rng = _problem()
    op = distributed_matrix(dense)
    space, _ = _space(op, rng)
    y = range_vec(op, dense @ truth)
    method = AugmentedCGLS(op, y, space, max_iterations=5, stopping=FixedIterations())
    x = method.run().x
    t = method.projected_iterate
    U = np.column_stack([gather(u) for u in space.U])
    C = np.column_stack([gather(c) for c in space.C])
    x_p = U @ (C.T @ (dense @ truth))
    expected = x_p + gather(t) - U @ (C.T @ (dense @ gather(t)))
    assert np.allclose(gather(x), expected, atol=1e-12 * np.linalg.norm(expected))

    noise = rng.standard_normal(M)
    noise *= 0.01 * np.linalg.norm(dense @ truth) / np.linalg.norm(noise)
    y = range_vec(op, dense @ truth + noise)
    delta = np.linalg.norm(noise)
    result = AugmentedCGLS(op, y, space, tau=1.1, noise_norm=delta,
                           max_iterations=50).run(truth=domain_vec(op, truth))
    residuals = result.history["residual_norm"]
    assert result.reason == "discrepancy"
    assert residuals[-1] <= 1.1 * delta and np.all(residuals[:-1] > 1.1 * delta)
    true = np.linalg.norm(dense @ truth + noise - dense @ gather(result.x))
    assert true == pytest.approx(residuals[-1], rel=1e-10)


JOB = """
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
sigma = 0.03
noise_level = 0.01
[solver]
kind = "{kind}"
max_iterations = {iterations}
{extra}
"""


@pytest.fixture
def recycle_file():
    """Writes a recycle file every rank can read: rank 0 owns a directory it shares (pytest's
    tmp_path differs between ranks) and removes it afterwards."""
    import shutil
    import tempfile

    import h5py

    mpi = COMM.tompi4py()
    directory = mpi.bcast(tempfile.mkdtemp(prefix="hpcinv-recycle-") if mpi.rank == 0 else None)
    written = []

    def write(rows):
        path = f"{directory}/recycle{len(written)}.h5"
        if mpi.rank == 0:
            with h5py.File(path, "w") as handle:
                handle["recycle"] = rows
        mpi.Barrier()
        written.append(path)
        return path

    yield write
    mpi.Barrier()
    if mpi.rank == 0:
        shutil.rmtree(directory)


def _run(kind, iterations=400, extra="", state=None):
    _, problem, solver = build_job(COMM, JOB.format(kind=kind, iterations=iterations,
                                                    extra=extra))
    state = state or solver.initial_state()
    control = IterationControl(COMM, truth=problem.truth, data_norm=problem.data.norm(),
                               target=solver.target, max_iterations=solver.max_iterations)
    reason = solver.solve(state, control)
    return problem, solver, state, reason


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["augmented-sd", "augmented-landweber", "augmented-cgls"])
def test_registered_kind_with_recycle_file(kind, recycle_file):
    grid = (np.arange(256) + 0.5) / 256
    rows = np.array([np.cos(np.pi * j * grid) for j in range(4)])
    path = recycle_file(np.vstack([rows, rows[1] + rows[2]]))
    extra = f'recycle = "file"\nrecycle_file = "{path}"\ncheck_residual_every = 10'
    if kind == "augmented-cgls":
        extra = extra.rsplit("\n", 1)[0]
    problem, solver, state, reason = _run(kind, extra=extra)
    assert solver.space.k == 4 and solver.space.dropped == 1
    assert reason == "discrepancy"
    residuals = np.array(state.history.columns["residual_norm"])
    _, r = problem.operator.create_vecs()
    problem.operator.mult(solver.solution(state), r)
    r.aypx(-1.0, problem.data)
    assert r.norm() == pytest.approx(residuals[-1], rel=1e-8)
    assert residuals[-1] <= solver.target and np.all(residuals[:-1] > solver.target)


@pytest.mark.mpi
def test_sd_resumes_exactly(recycle_file):
    path = recycle_file(np.array([np.ones(256)]))
    extra = f'recycle = "file"\nrecycle_file = "{path}"'
    _, _, whole, _ = _run("augmented-sd", iterations=12, extra=extra)
    _, _, half, _ = _run("augmented-sd", iterations=6, extra=extra)
    _, _, resumed, _ = _run("augmented-sd", iterations=12, extra=extra, state=half)
    assert whole.iteration == resumed.iteration == 12
    assert np.array_equal(gather(whole.vectors["x"]), gather(resumed.vectors["x"]))


@pytest.mark.mpi
def test_recycle_file_is_validated(recycle_file):
    with pytest.raises(InputError, match="solver.recycle_file"):
        parse_spec(JOB.format(kind="augmented-sd", iterations=5, extra='recycle = "file"'))
    path = recycle_file(np.ones((2, 7)))
    with pytest.raises(InputError, match="solver.recycle_file"):
        _run("augmented-sd", iterations=5, extra=f'recycle = "file"\nrecycle_file = "{path}"')


@pytest.mark.mpi
def test_eigen_recycle_space_is_the_leading_right_singular_subspace():
    """recycle = "eigen": the top eigenvectors of T^T T (SLEPc on a shell) span T's leading
    right singular vectors, an invariant subspace; augmented SD reaches the discrepancy
    principle in fewer iterations than plain SD on the 1-D blur."""
    problem, solver, state, reason = _run("augmented-sd",
                                          extra='recycle = "eigen"\nrecycle_k = 5')
    _, _, plain, plain_reason = _run("augmented-sd")
    assert reason == plain_reason == "discrepancy"
    assert solver.space.k == 5 and state.iteration < plain.iteration
    dense = dense_matrix(problem.operator)
    _, _, right_t = np.linalg.svd(dense)
    basis = np.column_stack([gather(u) for u in solver.space.U])
    leading = right_t[:5].T
    # Same subspace: the projector onto span(U) equals the one onto the singular vectors.
    q, _ = np.linalg.qr(basis)
    assert np.linalg.norm(q @ q.T - leading @ leading.T) < 1e-6


def test_eigen_recycle_needs_a_count():
    with pytest.raises(InputError, match="solver.recycle_k"):
        parse_spec(JOB.format(kind="augmented-sd", iterations=5, extra='recycle = "eigen"'))
    with pytest.raises(InputError, match="solver.recycle_k"):
        parse_spec(JOB.format(kind="augmented-sd", iterations=5, extra='recycle_k = 3'))
