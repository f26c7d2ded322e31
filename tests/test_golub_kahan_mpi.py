"""Golub-Kahan bidiagonalisation on 1 and 2 ranks against a dense numpy reference: the
recurrence and its scalars, orthonormal bases, breakdown, and the hybrid Tikhonov solution."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize, initialize_slepc
from hpcinv.linalg.decompositions.golub_kahan import GolubKahan, hybrid_tikhonov, projected_tikhonov
from hpcinv.solvers.tikhonov.quadrature import TikhonovBounds
from helpers import distributed_matrix, gather, range_vec

PETSc = initialize()
SLEPc = initialize_slepc()
COMM = PETSc.COMM_WORLD

M, N = 80, 60


def _problem():
    """A 80 x 60 matrix with singular values 0.8^i and noisy data, the same on every rank."""
    rng = np.random.default_rng(7)
    left, _ = np.linalg.qr(rng.standard_normal((M, N)))
    right, _ = np.linalg.qr(rng.standard_normal((N, N)))
    dense = (left * 0.8 ** np.arange(N)) @ right.T
    data = dense @ rng.standard_normal(N) + 1e-2 * rng.standard_normal(M)
    return dense, data


def _distributed(dense, data):
    operator = distributed_matrix(dense, "dense")
    return operator, range_vec(operator, data)


def _numpy_bidiagonal(dense, data, steps):
    """B_{k+1,k} from the textbook recurrence with twice-repeated full reorthogonalisation."""
    us, vs, alphas, betas = [data / np.linalg.norm(data)], [], [], []
    for _ in range(steps):
        r = dense.T @ us[-1] - (betas[-1] * vs[-1] if vs else 0)
        for _ in range(2):
            r -= sum((v @ r) * v for v in vs) if vs else 0
        alphas.append(np.linalg.norm(r))
        vs.append(r / alphas[-1])
        p = dense @ vs[-1] - alphas[-1] * us[-1]
        for _ in range(2):
            p -= sum((u @ p) * u for u in us)
        betas.append(np.linalg.norm(p))
        us.append(p / betas[-1])
    return np.array(alphas), np.array(betas)


def _columns(bv):
    start, stop = bv.getActiveColumns()
    out = []
    for index in range(start, stop):
        column = bv.getColumn(index)
        out.append(gather(column))
        bv.restoreColumn(index, column)
    return np.column_stack(out)


def _run(gk, steps):
    for _ in range(steps):
        gk.step()
    return gk


@pytest.mark.mpi
def test_scalars_match_the_dense_recurrence_and_bases_are_orthonormal():
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    gk = _run(GolubKahan(operator, b), 25)
    alphas, betas = _numpy_bidiagonal(dense, data, 25)
    assert gk.k == 25 and not gk.invariant and gk.matvecs == 50
    np.testing.assert_allclose(gk.alphas, alphas, rtol=1e-9)
    np.testing.assert_allclose(gk.betas, betas, rtol=1e-9)
    assert gk.start_norm == pytest.approx(np.linalg.norm(data), rel=1e-14)
    U, V = _columns(gk.left_basis), _columns(gk.right_basis)
    assert U.shape == (M, 26) and V.shape == (N, 25)
    assert np.abs(U.T @ U - np.eye(26)).max() < 1e-12
    assert np.abs(V.T @ V - np.eye(25)).max() < 1e-12
    B = gk.bidiagonal()
    assert np.abs(dense @ V - U @ B).max() < 1e-12
    np.testing.assert_allclose(U[:, 0] * gk.start_norm, data, atol=1e-13)


@pytest.mark.mpi
def test_without_reorthogonalisation_the_recurrence_still_holds_early():
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    gk = _run(GolubKahan(operator, b, reorthogonalize=False), 6)
    alphas, betas = _numpy_bidiagonal(dense, data, 6)
    np.testing.assert_allclose(gk.alphas, alphas, rtol=1e-8)
    np.testing.assert_allclose(gk.betas, betas, rtol=1e-8)
    U, V = _columns(gk.left_basis), _columns(gk.right_basis)
    assert np.abs(dense @ V - U @ gk.bidiagonal()).max() < 1e-12


@pytest.mark.mpi
def test_breakdown_when_the_krylov_space_is_exhausted():
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    gk = GolubKahan(operator, b)
    while gk.step():
        assert gk.k <= N
    # span(V_60) = R^60, so alpha_61 vanishes: one more A^T product, no new column.
    assert gk.invariant and gk.k == N and gk.matvecs == 2 * N + 1
    assert not gk.step() and gk.matvecs == 2 * N + 1


@pytest.mark.mpi
def test_hybrid_tikhonov_at_full_k_is_the_dense_tikhonov_solution():
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    gk = GolubKahan(operator, b)
    while gk.step():
        pass
    for lam in (1e-6, 1e-3, 1e-1):
        reference = np.linalg.solve(dense.T @ dense + lam * np.eye(N), dense.T @ data)
        x = gather(hybrid_tikhonov(gk, lam))
        assert np.linalg.norm(x - reference) <= 1e-9 * np.linalg.norm(reference)


@pytest.mark.mpi
def test_hybrid_tikhonov_norms_are_theorem_1s_quadrature_values():
    """At k < n the projected solution differs from the full one, but its norm is the Gauss
    value and its residual the Gauss-Radau value (Calvetti & Reichel)."""
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    gk = _run(GolubKahan(operator, b), 8)
    bounds = TikhonovBounds(gk.bidiagonal(), gk.start_norm)
    for lam in (1e-4, 1e-2):
        x = gather(hybrid_tikhonov(gk, lam))
        full = np.linalg.solve(dense.T @ dense + lam * np.eye(N), dense.T @ data)
        assert np.linalg.norm(x - full) > 1e-3 * np.linalg.norm(full)
        solution_norm, residual_norm = bounds.galerkin_norms(lam)
        assert solution_norm == pytest.approx(np.linalg.norm(x), rel=1e-10)
        assert residual_norm == pytest.approx(np.linalg.norm(dense @ x - data), rel=1e-10)


def test_projected_tikhonov_solves_the_regularised_normal_equations():
    rng = np.random.default_rng(3)
    B = np.diag(rng.uniform(0.5, 2, 6)) + np.diag(rng.uniform(0.1, 1, 5), -1)
    B = np.vstack([B, np.eye(1, 6, 5)[0] * 0.3])   # a 7 x 6 lower bidiagonal
    y = projected_tikhonov(B, 2.0, 0.05)
    np.testing.assert_allclose((B.T @ B + 0.05 * np.eye(6)) @ y, B.T @ (2.0 * np.eye(7)[0]),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="lam"):
        projected_tikhonov(B, 2.0, -1.0)


@pytest.mark.mpi
def test_bad_arguments_are_named():
    dense, data = _problem()
    operator, b = _distributed(dense, data)
    b.zeroEntries()
    with pytest.raises(ValueError, match="start"):
        GolubKahan(operator, b)
    x, _ = operator.create_vecs()
    with pytest.raises(ValueError, match="start"):
        GolubKahan(operator, x)
    _, b = _distributed(dense, data)
    gk = _run(GolubKahan(operator, b), 3)
    with pytest.raises(ValueError, match="y"):
        gk.combine_v(np.ones(4))
