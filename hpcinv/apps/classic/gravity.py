"""Gravity surveying (Regularization Tools' ``gravity``, P. C. Hansen): a mass density f(t)
at depth d under the surface segment [0, 1] and the vertical component g(s) of its field,

    g(s) = int_0^1 d (d^2 + (s - t)^2)^(-3/2) f(t) dt,

discretised by the midpoint rule with n points, s_i = t_i = (i - 1/2)/n: a symmetric Toeplitz
matrix A_ij = d (d^2 + (s_i - t_j)^2)^(-3/2) / n, severely ill-posed (the deeper the mass, the
faster its singular values decay).  The truth is one of Regularization Tools' three
examples (``truth``): smooth, f(t) = sin(pi t) + 0.5 sin(2 pi t) (example 1, the default);
piecewise-linear (example 2: a rise to 2 over the first third of the points, a fall to 1/8
at 7/8 of them, then to 0); piecewise-constant (example 3: 2 on the first round(n/3) points,
1 after; Luiken's TV experiments, ch. 6).  A is dense and distributed by rows.
"""
from __future__ import annotations

import numpy as np

from ...core.jobspec import Field
from ...linalg.dense import dense_operator
from ...core.problem import Problem
from ..synthetic.problems import SYNTHETIC_PARAMETERS, check_arguments, synthetic_problem

PARAMETERS = {
    "n": Field(int, 1000, "number of unknowns and of data points", minimum=2),
    "depth": Field(float, 0.25, "depth d of the mass below the surface",
                   minimum=0, exclusive_minimum=True),
    "truth": Field(str, "smooth", "the mass density: Regularization Tools' example 1 "
                   "(smooth), 2 (piecewise-linear) or 3 (piecewise-constant)",
                   choices=("smooth", "piecewise-linear", "piecewise-constant")),
    **SYNTHETIC_PARAMETERS,
}


def _midpoints(n: int, start: int, stop: int) -> np.ndarray:
    return (np.arange(start, stop) + 0.5) / n


def gravity_rows(n: int, depth: float, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of the n x n gravity matrix."""
    s, t = _midpoints(n, start, stop), _midpoints(n, 0, n)
    return depth / n * (depth ** 2 + (s[:, None] - t[None, :]) ** 2) ** -1.5


def gravity_truth(t) -> np.ndarray:
    """Regularization Tools' example 1."""
    return np.sin(np.pi * t) + 0.5 * np.sin(2 * np.pi * t)


def gravity_example(n: int, start: int, stop: int, example: str) -> np.ndarray:
    """Entries start..stop-1 of the truth ``example`` on n points (see the module)."""
    if example == "smooth":
        return gravity_truth(_midpoints(n, start, stop))
    point = np.arange(start, stop) + 1.0          # Regularization Tools' 1-based index
    third, seven_eighths = round(n / 3), round(7 * n / 8)
    if example == "piecewise-constant":
        return np.where(point <= third, 2.0, 1.0)
    rise = 2.0 * point / third
    fall = ((2 * seven_eighths - third) - point) / (seven_eighths - third)
    tail = (n - point) / (n - seven_eighths)
    return np.where(point <= third, rise, np.where(point <= seven_eighths, fall, tail))


def grid_shape(values: dict) -> tuple:
    return (values["n"],)


def gravity(comm, n: int = 1000, depth: float = 0.25, noise_level: float = 0.01, seed: int = 0,
            regularization: str = "identity", truth: str = "smooth") -> Problem:
    """The gravity problem of size n on ``comm``, with data of relative noise ``noise_level``."""
    check_arguments("gravity", PARAMETERS, dict(n=n, depth=depth, noise_level=noise_level,
                                                seed=seed, regularization=regularization,
                                                truth=truth),
                    grid_shape)
    operator = dense_operator(comm, (n, n), lambda start, stop: gravity_rows(n, depth, start, stop))
    return synthetic_problem(comm, operator,
                             lambda start, stop: gravity_example(n, start, stop, truth), (n,),
                             noise_level=noise_level, seed=seed, regularization=regularization,
                             attributes={"n": n, "depth": depth, "truth": truth})
