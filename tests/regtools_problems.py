"""Test problems of Hansen's Regularization Tools, written here from their published
formulas (Hansen 1994, Numer. Algorithms 6; the toolbox's shaw.m, heat.m, phillips.m):
independent of hpcinv's own problem kinds, dense numpy (A, x) pairs."""
from __future__ import annotations

import numpy as np
from scipy.linalg import toeplitz


def shaw(n: int):
    """One-dimensional image restoration (Shaw 1972): a severely ill-posed first-kind
    Fredholm equation on [-pi/2, pi/2], midpoint quadrature; x a sum of two Gaussians."""
    h = np.pi / n
    t = (np.arange(1, n + 1) - 0.5) * h - np.pi / 2
    cosines = np.cos(t)[:, None] + np.cos(t)[None, :]
    u = np.pi * (np.sin(t)[:, None] + np.sin(t)[None, :])
    sinc = np.ones_like(u)
    np.divide(np.sin(u), u, out=sinc, where=u != 0)
    x = 2 * np.exp(-6 * (t - 0.8) ** 2) + np.exp(-2 * (t + 0.5) ** 2)
    return h * cosines ** 2 * sinc ** 2, x


def heat(n: int, kappa: float = 1.0):
    """The inverse heat equation (a Volterra equation of the first kind on [0, 1]), kappa
    = 1: the lower-triangular Toeplitz kernel and the toolbox's piecewise solution on the
    first half; n even."""
    h = 1.0 / n
    t = (np.arange(n) + 0.5) * h
    kernel = h / (2 * kappa * np.sqrt(np.pi)) * t ** -1.5 * np.exp(-1 / (4 * kappa ** 2 * t))
    first_row = np.zeros(n)
    first_row[0] = kernel[0]
    x = np.zeros(n)
    for i in range(1, n // 2 + 1):
        ti = 20.0 * i / n
        x[i - 1] = (0.75 * ti ** 2 / 4 if ti < 2 else 0.75 + (ti - 2) * (3 - ti) if ti < 3
                    else 0.75 * np.exp(-2 * (ti - 3)))
    return toeplitz(kernel, first_row), x


def phillips(n: int):
    """Phillips' test problem on [-6, 6] (Galerkin with box functions), n a multiple of 4;
    x is the solution 1 + cos(pi t / 3) (|t| < 3) at the cell midpoints (the toolbox
    averages it over each cell)."""
    h = 12.0 / n
    n4 = n // 4
    r1 = np.zeros(n)
    c = np.cos(np.arange(-1, n4 + 1) * 4 * np.pi / n)
    r1[:n4] = h + 9 / (h * np.pi ** 2) * (2 * c[1:n4 + 1] - c[:n4] - c[2:n4 + 2])
    r1[n4] = h / 2 + 9 / (h * np.pi ** 2) * (np.cos(4 * np.pi / n) - 1)
    A = toeplitz(r1)
    t = h * (np.arange(n) + 0.5) - 6
    x = np.where(np.abs(t) < 3, 1 + np.cos(np.pi * t / 3), 0.0)
    return A, x
