"""The three small problems of Luiken's thesis (ch. 6.1.1) on which relaxed (SR3) and
proximal-gradient l1 regularization are first compared, each a ``RegularizedKind``:

- ``spiky-deconvolution``: a_ij = w(t_i - t_j), w(t) = (1 - (t/sigma)^2) exp(-(t/sigma)^2)
  (a Ricker-like wavelet), t_i = i h, h = 1/n, i = 1..n; a spike train truth; L = I;
- ``compressed-sensing``: A of m x n independent N(0, 1) entries; a sparse truth; L = I;
- ``tv-deblurring``: a_ij = exp(-((t_i - t_j)/sigma)^2); a piecewise-constant truth;
  L = first differences (``regularization = "derivative"``, (n-1) x n: Neumann).

The thesis gives n = 101, m = 20, sigma = 0.05 and no truth: the spikes (``spikes`` of them,
at distinct points, amplitudes of either sign between 0.5 and 1.5) and the steps
(``steps`` jumps at distinct interior points, levels between -1 and 1) are drawn from
``seed``, as is A for compressed sensing, so that one seed is one problem on any number of
ranks (every rank draws the same small arrays and keeps its rows).  Its kernels carry no
quadrature weight h, as printed.
"""
from __future__ import annotations

import numpy as np

from ...core.jobspec import Field
from ...core.problem import Problem
from ...linalg.dense import dense_operator
from ..synthetic.problems import (SYNTHETIC_PARAMETERS, check_arguments,
                                  regularization_problems, synthetic_problem)

_N = Field(int, 101, "number of unknowns", minimum=2)
_SIGMA = Field(float, 0.05, "kernel width sigma (the unknowns lie at t_i = i / n)",
               minimum=0, exclusive_minimum=True)
_SPIKES = Field(int, 5, "non-zero entries of the sparse truth", minimum=1)
SPIKY_PARAMETERS = {"n": _N, "sigma": _SIGMA, "spikes": _SPIKES, **SYNTHETIC_PARAMETERS}
SENSING_PARAMETERS = {"n": _N, "m": Field(int, 20, "number of measurements", minimum=1),
                      "spikes": _SPIKES, **SYNTHETIC_PARAMETERS}
TV_PARAMETERS = {"n": _N, "sigma": _SIGMA,
                 "steps": Field(int, 4, "jumps of the piecewise-constant truth", minimum=1),
                 **SYNTHETIC_PARAMETERS}
TV_PARAMETERS["regularization"] = Field(
    str, "derivative", SYNTHETIC_PARAMETERS["regularization"].help,
    choices=SYNTHETIC_PARAMETERS["regularization"].choices)

# Independent streams of one seed: the truth, the sensing matrix (the noise uses the seed).
_TRUTH_STREAM, _MATRIX_STREAM = 1, 2


def grid_shape(values: dict) -> tuple:
    return (values["n"],)


def check_counts(values: dict) -> list:
    """The kinds' cross-key checks: L fits the grid, and the truth's non-zeros or jumps fit
    in n points."""
    problems = regularization_problems(values, grid_shape(values), "problem.regularization")
    if values.get("spikes", 0) > values["n"]:
        problems.append(("problem.spikes", f"at most n = {values['n']}, got {values['spikes']}"))
    if values.get("steps", 0) > values["n"] - 1:
        problems.append(("problem.steps", f"at most n - 1 = {values['n'] - 1}, got "
                                          f"{values['steps']}"))
    return problems


def _points(n: int) -> np.ndarray:
    return np.arange(1, n + 1) / n


def _toeplitz_rows(n: int, wavelet):
    t = _points(n)
    return lambda start, stop: wavelet(t[start:stop, None] - t[None, :])


def ricker(t: np.ndarray, sigma: float) -> np.ndarray:
    ratio = (t / sigma) ** 2
    return (1.0 - ratio) * np.exp(-ratio)


def spike_train(n: int, spikes: int, seed: int) -> np.ndarray:
    """``spikes`` non-zeros at distinct points, amplitudes +-[0.5, 1.5], from ``seed``."""
    if spikes > n:
        raise ValueError(f"spikes: at most n = {n}, got {spikes}")
    rng = np.random.default_rng([seed, _TRUTH_STREAM])
    x = np.zeros(n)
    where = rng.choice(n, size=spikes, replace=False)
    x[where] = rng.choice([-1.0, 1.0], size=spikes) * rng.uniform(0.5, 1.5, size=spikes)
    return x


def steps_truth(n: int, steps: int, seed: int) -> np.ndarray:
    """Piecewise constant: ``steps`` jumps at distinct interior points, levels in [-1, 1]."""
    if steps > n - 1:
        raise ValueError(f"steps: at most n - 1 = {n - 1}, got {steps}")
    rng = np.random.default_rng([seed, _TRUTH_STREAM])
    jumps = np.sort(rng.choice(np.arange(1, n), size=steps, replace=False))
    levels = rng.uniform(-1.0, 1.0, size=steps + 1)
    return levels[np.searchsorted(jumps, np.arange(n), side="right")]


def _problem(comm, operator, truth: np.ndarray, arguments: dict) -> Problem:
    """The synthetic problem of ``operator`` and the whole ``truth`` (the same on every
    rank), with the function's ``arguments``."""
    synthetic = {key: arguments[key] for key in SYNTHETIC_PARAMETERS}
    return synthetic_problem(comm, operator, lambda start, stop: truth[start:stop],
                             (arguments["n"],), **synthetic,
                             attributes={key: value for key, value in arguments.items()
                                         if key not in synthetic})


def spiky_deconvolution(comm, n: int = 101, sigma: float = 0.05, spikes: int = 5,
                        noise_level: float = 0.01, seed: int = 0,
                        regularization: str = "identity") -> Problem:
    """The thesis' spiky deconvolution: Ricker-like Toeplitz A, a spike train."""
    arguments = dict(n=n, sigma=sigma, spikes=spikes, noise_level=noise_level, seed=seed,
                     regularization=regularization)
    check_arguments("spiky_deconvolution", SPIKY_PARAMETERS, arguments, grid_shape)
    operator = dense_operator(comm, (n, n), _toeplitz_rows(n, lambda t: ricker(t, sigma)))
    return _problem(comm, operator, spike_train(n, spikes, seed), arguments)


def compressed_sensing(comm, n: int = 101, m: int = 20, spikes: int = 5,
                       noise_level: float = 0.01, seed: int = 0,
                       regularization: str = "identity") -> Problem:
    """The thesis' compressed sensing: Gaussian m x n A, a sparse truth."""
    arguments = dict(n=n, m=m, spikes=spikes, noise_level=noise_level, seed=seed,
                     regularization=regularization)
    check_arguments("compressed_sensing", SENSING_PARAMETERS, arguments, grid_shape)
    matrix = np.random.default_rng([seed, _MATRIX_STREAM]).standard_normal((m, n))
    operator = dense_operator(comm, (m, n), lambda start, stop: matrix[start:stop])
    return _problem(comm, operator, spike_train(n, spikes, seed), arguments)


def tv_deblurring(comm, n: int = 101, sigma: float = 0.05, steps: int = 4,
                  noise_level: float = 0.01, seed: int = 0,
                  regularization: str = "derivative") -> Problem:
    """The thesis' total-variation example: Gaussian Toeplitz A, a piecewise-constant truth."""
    arguments = dict(n=n, sigma=sigma, steps=steps, noise_level=noise_level, seed=seed,
                     regularization=regularization)
    check_arguments("tv_deblurring", TV_PARAMETERS, arguments, grid_shape)
    operator = dense_operator(comm, (n, n),
                              _toeplitz_rows(n, lambda t: np.exp(-(t / sigma) ** 2)))
    return _problem(comm, operator, steps_truth(n, steps, seed), arguments)
