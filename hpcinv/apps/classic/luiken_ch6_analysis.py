"""The analysis parts of ``hpcinv reproduce luiken-ch6`` (Luiken's thesis, ch. 6.5.2-6.5.3 and
6.1.1):

* spectrum (Figs. 6.7-6.8): the singular values of F_kappa from the GSVD of (A, L)
  (Corollary 1, corrected: ``solvers.relaxed.spectrum``) against those of A L_A^+, and the
  condition number of H_kappa = A^T A + kappa L^T L from a dense eigensolve, per kappa
  (dense on rank 0: ``generalized_pairs``);
* Pareto curves (Fig. 6.9, and Figs. 6.1-6.3's problems): phi_inf(tau) of the original
  problem (FISTA with van den Berg-Friedlander's bounds for L = I, ADMM otherwise: its
  bounds need the standard form, which is never formed) and SR3's phi_kappa(tau) with its
  bounds and slope, at fractions of the oracle tau = ||L x_true||_1.
"""
from __future__ import annotations

import numpy as np

from .luiken_ch6_study import Setting, build_problem

SMALL_PROBLEMS = ("spiky-deconvolution", "compressed-sensing", "tv-deblurring")


def _quantiles(values: np.ndarray) -> list:
    """Values at positions 0, 1/4, 1/2, 3/4 and 1 of the descending order."""
    positions = np.round(np.linspace(0, values.size - 1, 5)).astype(int)
    return [float(values[i]) for i in positions]


def generalized_pairs(A: np.ndarray, L: np.ndarray) -> tuple:
    """The finite GSVD pairs (sigma_i, gamma_i), sigma^2 + gamma^2 = 1, of dense (A, L) with
    N(A) and N(L) meeting only in 0: [A; L] = Q R, and the singular values of Q's A block
    are the sigma_i (the CS decomposition).  LAPACK's dggsvd3, which SLEPc's ``lapack``
    GSVD calls, iterates Jacobi rotations (dtgsja) and ran over 20 minutes on the 64 x 64
    tomography (9702 x 4096); this takes seconds.  Pairs not returned have sigma = 0 (to
    rounding) or gamma = 0 (N(L))."""
    q = np.linalg.qr(np.vstack([A, L]), mode="reduced")[0]
    sigma = np.linalg.svd(q[:A.shape[0]], compute_uv=False)
    gamma = np.sqrt(np.clip(1.0 - sigma ** 2, 0.0, None))
    # sigma (<= 1) under 1e-14 is rounding of a zero: A numerically rank-deficient (the
    # thesis truncates too, Fig. 6.8); those pairs count with the zeros.  gamma from
    # sqrt(1 - sigma^2) carries sqrt(eps) ~ 1.5e-8 of rounding: N(L)'s pairs lie below 1e-7.
    finite = (gamma > 1e-7) & (sigma > 1e-14)
    return sigma[finite], gamma[finite]


def spectrum_rows(comm, name: str, size: int, kappas) -> list:
    """One row for A L_A^+ and one per kappa for F_kappa and H_kappa (collective; dense, on
    rank 0: small grids only, the thesis' 64 x 64 for tomography)."""
    from ...core.mpi import on_root_quietly
    from ...linalg.dense import dense_matrix
    from ...solvers.relaxed.kinds import regularization_operator

    problem = build_problem(comm, name, size)
    A, L = (dense_matrix(operator) for operator in (problem.operator,
                                                    regularization_operator(problem)))
    label = f"{name} {size}" if name == "gravity" else f"{name} {size}x{size}"
    return on_root_quietly(comm.tompi4py(), _spectrum_rows, A, L, label, kappas)


def _spectrum_rows(A: np.ndarray, L: np.ndarray, label: str, kappas) -> list:
    from ...solvers.relaxed.spectrum import (relaxed_singular_values,
                                             standard_form_singular_values)

    sigma, gamma = generalized_pairs(A, L)
    standard = standard_form_singular_values(sigma, gamma)
    rows = [{"problem": label, "operator": "A L_A^+", "kappa": None,
             "values": int(standard.size), "quantiles": _quantiles(standard),
             "condition": float(standard[0] / standard[-1])}]
    gram_a, gram_l = A.T @ A, L.T @ L
    n = A.shape[1]   # rank(L) = n - 1: N(L) holds the constants
    for kappa in kappas:
        psi = relaxed_singular_values(sigma, gamma, kappa, rows=L.shape[0], rank=n - 1)
        positive = psi[psi > 0]
        eigenvalues = np.linalg.eigvalsh(gram_a + kappa * gram_l)
        rows.append({"problem": label, "operator": "F_kappa", "kappa": kappa,
                     "values": int(psi.size), "quantiles": _quantiles(positive),
                     "condition": float(positive[0] / positive[-1]),
                     "at_sqrt_kappa": int(np.sum(np.isclose(psi, np.sqrt(kappa),
                                                            rtol=1e-12, atol=0))),
                     "zeros": int(psi.size - positive.size),
                     "condition_h": float(eigenvalues[-1] / eigenvalues[0])})
    return rows


def build_pareto_problem(comm, name: str, size: int):
    """The ch. 6.5 problems or the ch. 6.1.1 ones (noise-free, seed 0)."""
    from . import sparse_examples

    small = {"spiky-deconvolution": sparse_examples.spiky_deconvolution,
             "compressed-sensing": sparse_examples.compressed_sensing,
             "tv-deblurring": sparse_examples.tv_deblurring}
    if name in small:
        return small[name](comm, noise_level=0.0)
    return build_problem(comm, name, size)


def pareto_rows(comm, name: str, size: int, fractions, kappas, *, max_outer: int,
                max_inner: int) -> list:
    """Points of phi_inf and phi_kappa at tau = fraction * ||L x_true||_1 (collective)."""
    from ...solvers.relaxed import ADMM, SR3, ProximalGradient
    from ...solvers.relaxed.pareto import original_point, relaxed_point
    from ...solvers.relaxed.prox import L1Ball

    setting = Setting(name, build_pareto_problem(comm, name, size))
    problem, L = setting.problem, setting.L
    identity = getattr(L, "name", None) == "identity"
    rows = []
    for fraction in fractions:
        ball = L1Ball(fraction * setting.ball.radius)
        if identity:
            original = ProximalGradient(problem.operator, problem.data, ball,
                                        max_iterations=50 * max_outer).run()
            point = original_point(problem.operator, problem.data, original.x, ball.radius)
            phi, lower = point.upper, point.lower
        else:
            original = ADMM(problem.operator, problem.data, L, ball, rho=1.0,
                            max_iterations=max_outer, max_inner_iterations=max_inner).run()
            phi, lower = float(original.history["residual_norm"][-1]), None
        for kappa in kappas:
            relaxed = SR3(problem.operator, problem.data, L, ball, kappa=kappa, inexact=False,
                          inner_tolerance=1e-10, max_iterations=max_outer,
                          max_inner_iterations=max_inner).run()
            y = L.create_vecs()[1]
            L.mult(relaxed.x, y)
            ball.prox(y, 1.0 / kappa)
            bounds = relaxed_point(problem.operator, problem.data, L, relaxed.x, y, kappa,
                                   ball.radius)
            rows.append({"problem": name, "fraction": fraction, "radius": ball.radius,
                         "original_method": "fista" if identity else "admm",
                         "original_iterations": original.iterations,
                         "original_reason": original.reason,
                         "phi_original": phi, "phi_original_lower": lower, "kappa": kappa,
                         "relaxed_iterations": relaxed.iterations,
                         "relaxed_reason": relaxed.reason,
                         "phi_relaxed": bounds.upper, "phi_relaxed_lower": bounds.lower,
                         "slope_relaxed": bounds.slope,
                         "relaxed_misfit": float(relaxed.history["residual_norm"][-1]),
                         "below": bool(bounds.upper <= phi * (1 + 1e-9))})
            y.destroy()
            relaxed.x.destroy()
        original.x.destroy()
    return rows
