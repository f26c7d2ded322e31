"""Bound-constrained Tikhonov on the galaxy's tensor block rows (TAO), on 1 and 2 ranks: the
misfit in the data metric N and the H^s penalty against dense Kronecker references, their
gradients and Hessian products, u >= 0 with the projected gradient vanishing, alpha found by
the discrepancy principle, and the same solution on any number of ranks."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize
from hpcinv.solvers.kaczmarz.block_rows import TensorBlockRows
from hpcinv.solvers.penalized.tensor_tikhonov import (SkyMetricMisfit, TensorMetricNorm,
                                                      TensorTikhonovTAO)
from helpers import build_job, gather

PETSc = initialize()
WORLD = PETSc.COMM_WORLD


def _problem(comm, noise=0.01):
    _, problem, _ = build_job(comm, '[problem]\nkind = "galaxy"\n'
                                    'mesh = "meshes/galaxy/tiny.toml"\norder = 1\n'
                                    f'noise_level = {noise}\n'
                                    '[solver]\nkind = "pnkr"\nmax_iterations = 1\n')
    return problem, problem.require(TensorBlockRows, who="test")


def _filled(template, whole):
    vec = template.duplicate()
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = whole[start:stop]
    return vec


@pytest.mark.mpi
def test_misfit_and_penalty_equal_their_dense_kronecker_forms():
    problem, blocks = _problem(WORLD)
    K, N, Psi, Phi = (np.asarray(m.todense()) if hasattr(m, "todense") else m
                      for m in (blocks.kernel, blocks.data_gram, blocks.spatial_metric,
                                blocks.theta_metric))
    H = np.kron(np.eye(blocks.spatial_size), K)            # vec(U K^T), U row-major
    data_metric = np.kron(N, np.eye(blocks.equations))
    metric = np.kron(Psi, Phi)
    y = gather(problem.data)
    rng = np.random.default_rng(2)
    u, e = rng.random(H.shape[1]), rng.standard_normal(H.shape[1])
    template = problem.operator.create_vecs()[0]
    f, direction, out = _filled(template, u), _filled(template, e), template.duplicate()
    misfit, penalty = SkyMetricMisfit(blocks, problem.data), TensorMetricNorm(blocks)

    residual = H @ u - y
    assert misfit.value(f) == pytest.approx(residual @ data_metric @ residual, rel=1e-12)
    value = misfit.value_and_gradient(f, out)
    assert value == pytest.approx(residual @ data_metric @ residual, rel=1e-12)
    reference = 2 * H.T @ data_metric @ residual
    np.testing.assert_allclose(gather(out), reference, rtol=0, atol=1e-12 * abs(reference).max())
    misfit.hessian_mult(direction, out)
    reference = 2 * H.T @ data_metric @ H @ e
    np.testing.assert_allclose(gather(out), reference, rtol=0, atol=1e-12 * abs(reference).max())
    assert misfit.curvature(direction) == pytest.approx(e @ reference, rel=1e-12)

    assert penalty.value(f) == pytest.approx(u @ metric @ u, rel=1e-12)
    assert penalty.value_and_gradient(f, out) == pytest.approx(u @ metric @ u, rel=1e-12)
    np.testing.assert_allclose(gather(out), 2 * metric @ u, rtol=0,
                               atol=1e-12 * abs(metric @ u).max())
    penalty.hessian_mult(f, direction, out)
    np.testing.assert_allclose(gather(out), 2 * metric @ e, rtol=0,
                               atol=1e-12 * abs(metric @ e).max())


def _solve(comm, **options):
    problem, blocks = _problem(comm)
    method = TensorTikhonovTAO(problem.operator, problem.data, blocks,
                               **{"tao_gradient_tolerance": 1e-10, **options})
    return problem, blocks, method, method.run()


@pytest.mark.mpi
def test_the_solution_is_non_negative_and_meets_the_discrepancy():
    problem, blocks, method, result = _solve(WORLD, tau=1.0)
    assert result.reason == "chi_square"
    u = gather(result.x)
    assert u.min() >= 0.0 and np.count_nonzero(u == 0.0) > 0   # the bound is active
    target = float(np.sum(np.square(blocks.equation_noise)))
    assert method.likelihood.value(result.x) == pytest.approx(target, rel=2e-3)
    # KKT at alpha: the gradient of Q vanishes where u > 0 and is >= 0 where u = 0.
    alpha = result.attributes["mu"]
    gradient, penalty_gradient = result.x.duplicate(), result.x.duplicate()
    method.likelihood.value_and_gradient(result.x, gradient)
    method.penalty.value_and_gradient(result.x, penalty_gradient)
    scale = np.abs(gather(gradient)).max()   # the data's pull alone
    gradient.axpy(alpha, penalty_gradient)
    g = gather(gradient)
    assert np.abs(g[u > 0]).max() <= 1e-3 * scale
    assert g[u == 0].min() >= -1e-3 * scale


@pytest.mark.mpi
def test_one_and_all_ranks_agree():
    *_, world = _solve(WORLD)
    *_, alone = _solve(PETSc.COMM_SELF)
    np.testing.assert_allclose(gather(world.x), alone.x.getArray(), rtol=0,
                               atol=1e-5 * np.abs(alone.x.getArray()).max())
    assert world.attributes["mu"] == pytest.approx(alone.attributes["mu"], rel=1e-3)


def test_a_galaxy_job_runs_the_kind_and_writes_its_maps(tmp_path):
    import h5py

    from helpers import hpcinv, write_job

    output = tmp_path / "tikhonov.h5"
    job = write_job(tmp_path, "tikhonov.toml", f"""
[problem]
kind = "galaxy"
mesh = "meshes/galaxy/tiny.toml"
order = 1

[solver]
kind = "tensor-tikhonov"
tau = 1.05

[output]
path = "{output}"
""")
    result = hpcinv(["run", str(job), "--quiet"])
    assert result.returncode == 0, result.stderr
    with h5py.File(output, "r") as handle:
        assert handle["solution"][()].min() >= 0.0
        assert {"mu_v", "sigma_v", "losvd"} <= set(handle["derived"])
        assert handle.attrs["stop_reason"] == "chi_square"
    bad = hpcinv(["validate", str(write_job(tmp_path, "bad.toml", f"""
[problem]
kind = "gravity"
n = 50

[solver]
kind = "tensor-tikhonov"

[output]
path = "{tmp_path / 'bad.h5'}"
"""))])
    assert bad.returncode == 2 and "tensor-tikhonov" in bad.stderr


@pytest.mark.mpi
@pytest.mark.parametrize("alpha", [1e-4, 3e-2])
def test_the_spectral_solution_solves_the_normal_equations(alpha):
    from hpcinv.solvers.penalized.tensor_spectral import SpectralTikhonov

    problem, blocks = _problem(WORLD)
    K, N, Psi, Phi = (blocks.kernel, blocks.data_gram.toarray(),
                      blocks.spatial_metric.toarray(), blocks.theta_metric.toarray())
    rows = problem.operator.rows
    spectral = SpectralTikhonov(blocks, rows(problem.data, blocks.equations))
    U = blocks.spatial_layout.gather(spectral.local_solution(alpha))
    Y = gather(problem.data).reshape(blocks.spatial_size, -1)
    # N U K^T K + alpha Psi U Phi = N Y K
    left = N @ U @ K.T @ K + alpha * Psi @ U @ Phi
    right = N @ Y @ K
    np.testing.assert_allclose(left, right, rtol=0, atol=1e-9 * np.abs(right).max())
    residual = Y - U @ K.T
    assert spectral.misfit(alpha) == pytest.approx(np.sum(residual * (N @ residual)), rel=1e-9)
    target = float(np.sum(np.square(blocks.equation_noise)))
    found = spectral.discrepancy_alpha(target)
    assert spectral.misfit(found) == pytest.approx(target, rel=1e-5)
    assert spectral.discrepancy_alpha(2 * np.sum(Y * (N @ Y))) is None   # beyond ||Y||_N^2
    # K^T K is singular here (L > rank): its null modes carry no round-off into U.
    null = spectral.curvature == 0
    assert null.any() and not spectral.coefficients[null].any()


@pytest.mark.mpi
def test_the_spectral_start_reaches_the_same_solution_in_fewer_tao_iterations():
    _, blocks, plain_method, plain = _solve(WORLD, spectral_start=False)
    _, _, method, started = _solve(WORLD)
    assert plain_method.spectral_alpha is None
    # The constrained alpha lies below the unconstrained one (clipping adds misfit).
    assert started.attributes["mu"] < started.attributes["unconstrained_alpha"]
    assert started.reason == plain.reason == "chi_square"
    assert started.attributes["mu"] == pytest.approx(plain.attributes["mu"], rel=0.05)
    u, reference = gather(started.x), gather(plain.x)
    assert np.linalg.norm(u - reference) <= 0.02 * np.linalg.norm(reference)
    assert started.attributes["tao_iterations"] < plain.attributes["tao_iterations"]


def test_a_capped_solve_that_no_longer_moves_the_objective_counts_as_settled():
    method = object.__new__(TensorTikhonovTAO)
    method.chi_square_target, method.tolerance = 1.0, 1e-2
    creeping = [10.0 - 8 * (1 - 0.5 ** k) for k in range(40)]     # falls 8, then ~0
    assert method._stalled(creeping)
    falling = [10.0 - 0.1 * k for k in range(40)]                 # 1 over the last 10
    assert not method._stalled(falling)
    assert not method._stalled(creeping[:5])                      # too short to judge
    method.chi_square_target = None                               # fixed mu: no search
    assert not method._stalled(creeping)
