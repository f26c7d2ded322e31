"""Stopping rules as objects: each iterative method is given one, and its loop asks it after
every iteration whether the iteration has converged.

A rule has a ``reason`` (the stop reason it reports), a ``target`` (the residual norm it aims
at, recorded in every history row as ``discrepancy_target`` and shown by the progress line; 0
when it has none) and ``met(state, residual)``.  The iteration limit, signals and wall time
are not rules: the loop and ``IterationControl`` apply them to every method alike.
"""
from __future__ import annotations

import math

import numpy as np

from ...core.errors import check_number


class StoppingRule:
    reason = "converged"
    target = 0.0

    def met(self, state, residual: float) -> bool:
        raise NotImplementedError


def _check_noise(tau: float, noise_norm: float) -> None:
    if not tau >= 1.0:
        raise ValueError(f"tau: must be >= 1, got {tau}")
    if not (noise_norm >= 0.0 and math.isfinite(noise_norm)):
        raise ValueError(f"noise_norm: must be finite and >= 0, got {noise_norm}")


class Discrepancy(StoppingRule):
    """Morozov's discrepancy principle on the total residual: converged once
    ||A x - b|| <= tau * delta, delta = ``noise_norm`` = ||e||.  With ``stop = False`` the
    target is only recorded (to find the discrepancy iteration of a run taken further,
    e.g. to see semiconvergence)."""

    reason = "discrepancy"

    def __init__(self, tau: float, noise_norm: float, stop: bool = True):
        _check_noise(tau, noise_norm)
        self.tau, self.noise_norm, self.stop = float(tau), float(noise_norm), bool(stop)
        self.target = self.tau * self.noise_norm

    def met(self, state, residual: float) -> bool:
        return self.stop and residual <= self.target


class EquationwiseDiscrepancy(StoppingRule):
    """The discrepancy principle applied equation by equation (Kaczmarz methods): a sweep
    skips equation r while ||g_r|| <= tau delta_r, and the iteration has converged after a
    sweep that updated no equation (``state.scalars['equations_updated'] == 0``).  The
    recorded target is tau ||(delta_r)_r||, the bound the total residual then meets."""

    reason = "discrepancy"

    def __init__(self, tau: float, equation_noise):
        norm = float(np.linalg.norm(np.asarray(equation_noise, dtype=float)))
        _check_noise(tau, norm)
        self.tau = float(tau)
        self.target = self.tau * norm

    def met(self, state, residual: float) -> bool:
        return state.scalars.get("equations_updated") == 0


class ChiSquareTarget(StoppingRule):
    """Converged once the weighted residual's chi-square, residual^2 = sum_i (r_i / s_i)^2,
    falls to ``chi_square`` (e.g. the number of data N, or N - sqrt(2 N) as maximum-entropy
    methods aim for); ``residual`` must be the noise-weighted norm."""

    reason = "chi_square"

    def __init__(self, chi_square: float):
        if not (chi_square > 0 and math.isfinite(chi_square)):
            raise ValueError(f"chi_square: must be finite and > 0, got {chi_square}")
        self.chi_square = float(chi_square)
        self.target = math.sqrt(self.chi_square)

    def met(self, state, residual: float) -> bool:
        return residual * residual <= self.chi_square


class FixedIterations(StoppingRule):
    """Never converged: the method runs its iteration limit (a fixed iteration count as
    regularization, or a study of the whole iteration)."""

    reason = "max_iterations"

    def met(self, state, residual: float) -> bool:
        return False


class RelativeChange(StoppingRule):
    """Converged once the method's ``state.scalars['change']`` <= ``tolerance`` (the relaxed
    solvers' relative change of the iterate their prox returns)."""

    reason = "converged"

    def __init__(self, tolerance: float):
        self.tolerance = check_number("tolerance", tolerance, positive=True)

    def met(self, state, residual: float) -> bool:
        return state.scalars.get("change", math.inf) <= self.tolerance
