"""Gauss and Gauss-Radau rules on a Golub-Kahan bidiagonal (pure numpy): they bracket the
exact quadratic forms, tighten monotonically with k, and become exact at a breakdown."""
import numpy as np
import pytest

from hpcinv.solvers.tikhonov.paramchoice.functionals import SpectralModel
from hpcinv.solvers.tikhonov.quadrature import TikhonovBounds, inner_rules, outer_rules

LAMBDAS = (1e-5, 1e-3, 1e-1)
STEPS = 14
ROUNDING = 1e-10   # relative slack where a bound has converged to the exact value


def _gravity(m=80, n=60, depth=0.25):
    s = (np.arange(m) + 0.5) / m
    t = (np.arange(n) + 0.5) / n
    return depth / n * (depth ** 2 + (s[:, None] - t[None, :]) ** 2) ** -1.5


def _decaying(m=80, n=60):
    rng = np.random.default_rng(11)
    left, _ = np.linalg.qr(rng.standard_normal((m, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (left * 0.8 ** np.arange(n)) @ right.T


def _data(dense, noise=1e-2):
    rng = np.random.default_rng(5)
    clean = dense @ np.sin(np.linspace(0, 3, dense.shape[1]))
    scale = noise * np.linalg.norm(clean) / np.sqrt(clean.size)
    return clean + scale * rng.standard_normal(clean.size)


def _bidiagonals(dense, data, steps):
    """B_{k+1,k} for k = 1..steps (fully reorthogonalised Golub-Kahan in numpy)."""
    us, vs, alphas, betas, out = [data / np.linalg.norm(data)], [], [], [], []
    for _ in range(steps):
        r = dense.T @ us[-1]
        for _ in range(2):
            r -= sum((v @ r) * v for v in vs) if vs else 0
        alphas.append(np.linalg.norm(r))
        vs.append(r / alphas[-1])
        p = dense @ vs[-1]
        for _ in range(2):
            p -= sum((u @ p) * u for u in us)
        betas.append(np.linalg.norm(p))
        us.append(p / betas[-1])
        k = len(alphas)
        B = np.zeros((k + 1, k))
        B[np.arange(k), np.arange(k)] = alphas
        B[np.arange(1, k + 1), np.arange(k)] = betas
        out.append(B)
    return out


def _exact(dense, data, lam, p):
    """(b^T (A A^T + lam)^-p b, b^T A (A^T A + lam)^-p A^T b) from an eigendecomposition."""
    w, q = np.linalg.eigh(dense @ dense.T)
    outer = np.sum((q.T @ data) ** 2 / (np.maximum(w, 0) + lam) ** p)
    w, q = np.linalg.eigh(dense.T @ dense)
    inner = np.sum((q.T @ (dense.T @ data)) ** 2 / (np.maximum(w, 0) + lam) ** p)
    return outer, inner


@pytest.mark.parametrize("build", [_gravity, _decaying])
@pytest.mark.parametrize("p", [1, 2, 4])
@pytest.mark.parametrize("form", ["outer", "inner"])
def test_gauss_below_exact_below_radau_and_both_tighten(build, p, form):
    dense = build()
    data = _data(dense)
    norm = np.linalg.norm(data)
    rules = outer_rules if form == "outer" else inner_rules
    bidiagonals = _bidiagonals(dense, data, STEPS)
    for lam in LAMBDAS:
        exact = _exact(dense, data, lam, p)[form == "inner"]
        lower = np.array([rules(B, norm)[0](lam, p) for B in bidiagonals])
        upper = np.array([rules(B, norm)[1](lam, p) for B in bidiagonals])
        assert np.all(lower <= exact * (1 + ROUNDING))
        assert np.all(upper >= exact * (1 - ROUNDING))
        assert np.all(np.diff(lower) >= -ROUNDING * exact)
        assert np.all(np.diff(upper) <= ROUNDING * exact)
        # The bounds are informative: they start apart and close in.
        assert upper[0] - lower[0] > 1e-2 * exact
        assert upper[-1] - lower[-1] < upper[0] - lower[0]


def test_radau_uses_the_extra_beta_and_beats_the_thesis_k_node_rule():
    """The outer Gauss-Radau rule from B_{k+1,k} (k + 1 nodes) is tighter than (3.25)'s
    B_k without its last column (k nodes), which is still a valid upper bound."""
    dense = _gravity()
    data = _data(dense)
    norm = np.linalg.norm(data)
    B = _bidiagonals(dense, data, 6)[-1]
    exact = _exact(dense, data, 1e-3, 2)[0]
    ours = outer_rules(B, norm)[1](1e-3, 2)
    theirs = outer_rules(B[:6, :5], norm)[1](1e-3, 2)   # B_{6,5} B_{6,5}^T
    assert exact <= ours < theirs


def test_breakdown_makes_both_bounds_exact():
    dense = _decaying(30, 12)
    data = _data(dense)
    B = _bidiagonals(dense, data, 12)[-1]   # span(V_12) = R^12: the space is invariant
    for lam in LAMBDAS:
        for p in (1, 2, 4):
            exact = _exact(dense, data, lam, p)
            for rules, value in ((outer_rules, exact[0]), (inner_rules, exact[1])):
                low, high = rules(B, np.linalg.norm(data), invariant=True)
                assert low(lam, p) == high(lam, p) == pytest.approx(value, rel=1e-9)
    # Without the flag the inner Gauss-Radau rule still assumes unexplored spectrum near 0.
    radau = inner_rules(B, np.linalg.norm(data))[1](1e-5, 2)
    assert radau > 1.01 * _exact(dense, data, 1e-5, 2)[1]


@pytest.mark.parametrize("build", [_gravity, _decaying])
def test_functional_parts_are_bracketed(build):
    dense = build()
    data = _data(dense)
    left, s, _ = np.linalg.svd(dense, full_matrices=False)
    model = SpectralModel(s, left.T @ data, data @ data, dense.shape[0])
    for B in _bidiagonals(dense, data, 10)[::3]:
        bounds = TikhonovBounds(B, np.linalg.norm(data))
        for lam in LAMBDAS:
            for part, exact in (("residual_norm2", model.residual_norm2(lam)),
                                ("solution_norm2", model.solution_norm2(lam)),
                                ("quasi_optimality", model.quasi_optimality(lam))):
                low, high = getattr(bounds, part)(lam)
                assert low <= exact * (1 + ROUNDING) and high >= exact * (1 - ROUNDING), part
            low, high = bounds.residual_trace_probe(lam)
            exact = lam * _exact(dense, data, lam, 1)[0]   # b^T (I - A A_lam) b
            assert low <= exact * (1 + ROUNDING) <= high * (1 + 2 * ROUNDING)
