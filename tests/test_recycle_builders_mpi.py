"""Recycle-space builders on 1 and 2 ranks against dense numpy references built identically on
every rank (so both layouts must give the same answers)."""
import numpy as np
import pytest

from hpcinv.core.petsc_env import initialize, initialize_slepc
from hpcinv.linalg.decompositions.eigen import eigenvectors
from hpcinv.solvers.recycling import builders
from hpcinv.solvers.recycling.builders import SlidingWindow, fourier_eigenvectors, sd_iterates
from helpers import MatrixFree, distributed_matrix, domain_vec, gather, range_vec

PETSc = initialize()
SLEPc = initialize_slepc()

pytestmark = pytest.mark.mpi


def _columns(vecs):
    return np.column_stack([gather(vec) for vec in vecs])


def _projector(basis):
    q, _ = np.linalg.qr(basis)
    return q @ q.T


def _numpy_sd(dense, data, iterations):
    x, residual, out = np.zeros(dense.shape[1]), data.copy(), []
    for _ in range(iterations):
        gradient = dense.T @ residual
        product = dense @ gradient
        alpha = gradient @ gradient / (product @ product)
        x, residual = x + alpha * gradient, residual - alpha * product
        out.append(x)
    return out


def test_sd_iterates_match_numpy_recurrence():
    rng = np.random.default_rng(7)
    denses = [rng.standard_normal((30, 20)), rng.standard_normal((30, 20))]
    data = rng.standard_normal(30)
    operators = [distributed_matrix(denses[0]), MatrixFree(distributed_matrix(denses[1]))]
    data_vec = range_vec(operators[0], data)
    last = sd_iterates(operators, data_vec, iterations=2)
    every = sd_iterates(operators, data_vec, iterations=3, all_iterates=True)
    assert len(last) == 2 and len(every) == 6
    for index, dense in enumerate(denses):
        expected = _numpy_sd(dense, data, 3)
        np.testing.assert_allclose(gather(last[index]), expected[1], rtol=1e-12, atol=1e-12)
        for step in range(3):
            np.testing.assert_allclose(gather(every[3 * index + step]), expected[step],
                                       rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="iterations"):
        sd_iterates(operators, data_vec, iterations=0)
    with pytest.raises(ValueError, match="data has length"):
        sd_iterates([distributed_matrix(np.eye(5))], data_vec)


def test_sliding_window_keeps_last_copies():
    operator = distributed_matrix(np.eye(9))
    window = SlidingWindow(3)
    source = domain_vec(operator, np.zeros(9))
    for frame in range(5):
        source.set(float(frame))
        window.push(source)
    source.set(-1.0)  # the window holds copies: this must not show
    assert len(window) == 3
    held = [gather(vec) for vec in window.vectors()]
    np.testing.assert_array_equal(np.array(held), np.repeat([[2.0], [3.0], [4.0]], 9, axis=1))
    with pytest.raises(ValueError, match="size"):
        SlidingWindow(0)


def test_symmetric_eigenvectors_match_eigh():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    values = np.concatenate([[-9.0, 8.0, -7.0, 6.0, 5.0], np.linspace(-2, 2, 35)])
    dense = (q * values) @ q.T
    dense = (dense + dense.T) / 2
    vecs = eigenvectors(MatrixFree(distributed_matrix(dense)), 5, symmetric=True, tol=1e-10)
    basis = _columns(vecs)
    w, v = np.linalg.eigh(dense)
    top = v[:, np.argsort(-np.abs(w))[:5]]
    np.testing.assert_allclose(_projector(basis), top @ top.T, atol=1e-8)
    np.testing.assert_allclose(basis.T @ basis, np.eye(5), atol=1e-10)
    rayleigh = np.einsum("ij,ij->j", basis, dense @ basis)
    np.testing.assert_allclose(np.sort(np.abs(rayleigh)), [5, 6, 7, 8, 9], rtol=1e-9)
    np.testing.assert_allclose(dense @ basis, basis * rayleigh, atol=1e-8)


def _separable_blur(n=12, width=1.5):
    """kron(a, a) of a symmetric Gaussian blur a: eigenvalues lambda_i lambda_j, so every
    pair i != j repeats."""
    from scipy.linalg import toeplitz

    a = toeplitz(np.exp(-0.5 * (np.arange(n) / width) ** 2))
    return np.kron(a, a) / np.linalg.eigvalsh(a).max() ** 2


@pytest.mark.parametrize("k", [3, 4, 6])
def test_eigenvectors_keep_both_members_of_a_repeated_eigenvalue(k):
    dense = _separable_blur()
    basis = _columns(builders.eigenvectors(MatrixFree(distributed_matrix(dense)), k,
                                           symmetric=True, tol=1e-10))
    w, v = np.linalg.eigh(dense)
    order = np.argsort(-w)
    assert w[order[1]] - w[order[2]] < 1e-12 < w[order[2]] - w[order[3]]   # a repeated pair
    rayleigh = np.sort(np.einsum("ij,ij->j", basis, dense @ basis))[::-1]
    np.testing.assert_allclose(rayleigh, w[order[:k]], rtol=1e-9)
    np.testing.assert_allclose(basis.T @ basis, np.eye(k), atol=1e-10)
    top = v[:, order[:k]]
    np.testing.assert_allclose(_projector(basis), top @ top.T, atol=1e-7)


@pytest.mark.parametrize("k", [3, 15])
def test_eigenvector_check_ends_on_a_rank_k_operator_and_at_k_near_n(k):
    """A symmetric operator of rank k: the deflated check finds only round-off and stops
    (no failure); k = n - 1 of a separable 4 x 4 blur: every repeated value counted."""
    if k == 3:
        q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((16, 16)))
        dense = (q[:, :3] * [5.0, 4.0, 3.0]) @ q[:, :3].T
    else:
        dense = _separable_blur(n=4)
    basis = _columns(eigenvectors(MatrixFree(distributed_matrix(dense)), k, symmetric=True,
                                  tol=1e-10))
    w = np.sort(np.linalg.eigvalsh(dense))[::-1]
    rayleigh = np.sort(np.einsum("ij,ij->j", basis, dense @ basis))[::-1]
    np.testing.assert_allclose(rayleigh, w[:k], rtol=1e-8, atol=1e-12)

def _nonsymmetric():
    """Q diag(R, 3, 2, ...) Q^T with R the 2x2 block of 3 +- 2i (|lambda| = 3.6 leads)."""
    rng = np.random.default_rng(11)
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    block = np.diag(np.concatenate([[0.0, 0.0, 3.0], np.linspace(-1.5, 1.5, 27)]))
    block[:2, :2] = [[3.0, 2.0], [-2.0, 3.0]]
    return q @ block @ q.T, q


def test_nonsymmetric_complex_pair_spans_invariant_plane():
    dense, q = _nonsymmetric()
    operator = distributed_matrix(dense)
    basis = _columns(eigenvectors(operator, 3, tol=1e-10))
    assert basis.shape[1] == 3
    coupling = np.linalg.lstsq(basis, dense @ basis, rcond=None)[0]
    assert np.linalg.norm(dense @ basis - basis @ coupling) < 1e-8 * np.linalg.norm(basis)
    np.testing.assert_allclose(_projector(basis), _projector(q[:, :3]), atol=1e-8)
    # k = 1 falls on the pair's real part: the pair comes back whole.
    pair = _columns(eigenvectors(operator, 1, tol=1e-10))
    assert pair.shape[1] == 2
    np.testing.assert_allclose(_projector(pair), _projector(q[:, :2]), atol=1e-8)
    # "drop" keeps only the real eigenvector among the three leading eigenvalues.
    real = _columns(eigenvectors(operator, 3, tol=1e-10, complex_pairs="drop"))
    assert real.shape[1] == 1
    np.testing.assert_allclose(_projector(real), _projector(q[:, 2:3]), atol=1e-8)


def _circulant(psf):
    """The dense periodic convolution x -> psf (*) x on the grid of ``psf`` (C order)."""
    shape, size = psf.shape, psf.size
    index = np.array(np.unravel_index(np.arange(size), shape))
    offsets = [(index[axis][:, None] - index[axis][None, :]) % n for axis, n in enumerate(shape)]
    return psf[tuple(offsets)]


@pytest.mark.parametrize("shape", [(16,), (6, 5)])
def test_fourier_modes_are_orthonormal_eigenvectors(shape):
    grid = np.meshgrid(*[np.minimum(np.arange(n), n - np.arange(n)) for n in shape],
                       indexing="ij")
    psf = np.exp(-sum(g.astype(float) ** 2 for g in grid) / 2.0)  # symmetric: real spectrum
    psf /= psf.sum()
    dense, spectrum = _circulant(psf), np.fft.fftn(psf)
    basis = _columns(fourier_eigenvectors(shape, 7, np.fft.fftn(psf)))
    np.testing.assert_allclose(basis.T @ basis, np.eye(7), atol=1e-12)
    rayleigh = np.einsum("ij,ij->j", basis, dense @ basis)
    np.testing.assert_allclose(dense @ basis, basis * rayleigh, atol=1e-12)
    np.testing.assert_allclose(np.sort(rayleigh)[::-1], np.sort(spectrum.real.ravel())[::-1][:7],
                               rtol=1e-12)


def test_fourier_modes_of_nonsymmetric_psf_span_invariant_planes():
    psf = np.array([0.5, 0.3, 0.1, 0.0, 0.0, 0.0, 0.0, 0.1])  # not point symmetric
    dense = _circulant(psf)
    basis = _columns(fourier_eigenvectors((8,), 5, np.fft.fft(psf)))  # f = 0, then 2 pairs
    np.testing.assert_allclose(basis.T @ basis, np.eye(5), atol=1e-12)
    coupling = basis.T @ dense @ basis
    np.testing.assert_allclose(dense @ basis, basis @ coupling, atol=1e-12)
    with pytest.raises(ValueError, match="psf_spectrum"):
        fourier_eigenvectors((8,), 2, np.ones(7))
