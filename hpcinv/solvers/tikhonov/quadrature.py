"""Gauss and Gauss-Radau bounds on the Tikhonov functionals from a Golub-Kahan bidiagonal
(Golub & von Matt 1997; Calvetti & Reichel 2003; Luiken thesis sec. 3.2.3).

Both quadratic forms the functionals need are Stieltjes integrals of f(x) = (x + lam)^-p
against the spectral measure of a PSD matrix; f's derivatives alternate in sign, so a Gauss
rule bounds from below and a Gauss-Radau rule with its fixed node at 0 (below the spectrum)
from above.  After k steps, B = B_{k+1,k} (lower bidiagonal, alphas on the diagonal) gives

* "outer" forms b^T (A A^T + lam I)^-p b, the Lanczos process of A A^T from b:
  Gauss, k nodes: ||b||^2 e1^T f(B_k B_k^T) e1 with B_k the leading k x k block;
  Gauss-Radau, k + 1 nodes: ||b||^2 e1^T f(B B^T) e1, since B B^T is the Lanczos matrix
  T_{k+1} with its last diagonal entry changed so that it is singular (the thesis' (3.25)
  uses B_k with its last column removed, the k-node rule, which needs one product less but
  is looser);
* "inner" forms b^T A (A^T A + lam I)^-p A^T b, the Lanczos process of A^T A from
  A^T b = ||b|| alpha_1 v_1: with B = Q R (R k x k upper bidiagonal, R^T R = B^T B = T_k),
  Gauss, k nodes: ||b||^2 alpha_1^2 e1^T f(R^T R) e1;
  Gauss-Radau, k nodes: the same with R's last row dropped, which changes only the last
  diagonal entry of R^T R and makes it singular ((3.26)-(3.27), whose B-tilde is R^T;
  the k + 1-node rule would need alpha_{k+1}, one more product with A^T).

Nodes and weights come from SVDs of the small bidiagonals (never from forming B B^T, which
would square its condition number), so any lambda and p then costs O(k).  When the
Krylov space is invariant (a breakdown) the rules using all of B are exact and serve as both
bounds.
"""
from __future__ import annotations

import numpy as np


class QuadratureRule:
    """sum_i weights_i (nodes_i + lam)^-p: an approximation of u^T (W + lam I)^-p u."""

    def __init__(self, nodes: np.ndarray, weights: np.ndarray):
        self.nodes = np.asarray(nodes, dtype=float)
        self.weights = np.asarray(weights, dtype=float)

    def __call__(self, lam: float, p: int) -> float:
        return float(np.sum(self.weights / (self.nodes + lam) ** p))


def _squared_singular_pairs(matrix: np.ndarray):
    """(left vectors, squared singular values padded with zeros, right vectors), all square."""
    left, singular, right_t = np.linalg.svd(matrix)
    nodes = np.zeros(max(matrix.shape))
    nodes[:singular.size] = singular ** 2
    return left, nodes, right_t.T


def outer_rules(bidiagonal: np.ndarray, start_norm: float,
                invariant: bool = False) -> tuple[QuadratureRule, QuadratureRule]:
    """(Gauss, Gauss-Radau) rules for b^T (A A^T + lam I)^-p b, the lower and upper bound."""
    left, nodes, _ = _squared_singular_pairs(bidiagonal)
    radau = QuadratureRule(nodes, start_norm ** 2 * left[0] ** 2)
    if invariant:
        return radau, radau
    k = bidiagonal.shape[1]
    left, nodes, _ = _squared_singular_pairs(bidiagonal[:k])
    return QuadratureRule(nodes, start_norm ** 2 * left[0] ** 2), radau


def inner_rules(bidiagonal: np.ndarray, start_norm: float,
                invariant: bool = False) -> tuple[QuadratureRule, QuadratureRule]:
    """(Gauss, Gauss-Radau) rules for b^T A (A^T A + lam I)^-p A^T b, the lower and upper
    bound."""
    scale = (start_norm * bidiagonal[0, 0]) ** 2   # ||A^T b||^2
    _, nodes, right = _squared_singular_pairs(bidiagonal)
    gauss = QuadratureRule(nodes[:bidiagonal.shape[1]], scale * right[0] ** 2)
    if invariant:
        return gauss, gauss
    upper_triangle = np.linalg.qr(bidiagonal, mode="r")
    _, nodes, right = _squared_singular_pairs(upper_triangle[:-1])
    return gauss, QuadratureRule(nodes, scale * right[0] ** 2)


class TikhonovBounds:
    """(lower, upper) bounds on the parts of the parameter-choice functionals after k
    Golub-Kahan steps from the data b (``functionals.py`` has the exact ones).

    Theorem 1 (Calvetti & Reichel): the projected Tikhonov solution x = V_k y
    (``golub_kahan.hybrid_tikhonov``) has ||x||^2 equal to the solution norm's lower bound
    and ||A x - b||^2 equal to the residual's upper bound, which ``galerkin_norms`` returns.
    """

    def __init__(self, bidiagonal: np.ndarray, start_norm: float, invariant: bool = False):
        self.outer = outer_rules(bidiagonal, start_norm, invariant)
        self.inner = inner_rules(bidiagonal, start_norm, invariant)

    def residual_norm2(self, lam: float) -> tuple[float, float]:
        """||A x_lam - b||^2 = lam^2 b^T (A A^T + lam I)^-2 b."""
        return tuple(lam ** 2 * rule(lam, 2) for rule in self.outer)

    def solution_norm2(self, lam: float) -> tuple[float, float]:
        """||x_lam||^2 = b^T A (A^T A + lam I)^-2 A^T b."""
        return tuple(rule(lam, 2) for rule in self.inner)

    def quasi_optimality(self, lam: float) -> tuple[float, float]:
        """lam^2 b^T A (A^T A + lam I)^-4 A^T b."""
        return tuple(lam ** 2 * rule(lam, 4) for rule in self.inner)

    def residual_trace_probe(self, lam: float) -> tuple[float, float]:
        """u^T (I - A A_lam) u = lam u^T (A A^T + lam I)^-1 u when b = u is a trace probe."""
        return tuple(lam * rule(lam, 1) for rule in self.outer)

    def galerkin_norms(self, lam: float) -> tuple[float, float]:
        """(||x||, ||A x - b||) of the projected Tikhonov solution x (Theorem 1)."""
        return (float(np.sqrt(self.solution_norm2(lam)[0])),
                float(np.sqrt(self.residual_norm2(lam)[1])))
