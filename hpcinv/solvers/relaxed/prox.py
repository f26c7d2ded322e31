"""Proximal operators on distributed PETSc Vecs, in place: the soft threshold (prox of
lambda ||.||_1), and the Euclidean projections onto the l1 ball, the l2 ball and the
non-negative orthant.

Neither PETSc nor SLEPc has them, and PyProximal's ``L1Ball`` (a serial NumPy peer, never a
runtime dependency) projects onto the l1 *sphere* by a bisection accurate to 1e-5, which
moves points inside the ball and cannot meet SR3's 1e-6 stopping test; hence these.

The l1 projection is exact and needs no gather: the threshold theta solves
sum_i max(|x_i| - theta, 0) = tau, a decreasing piecewise-linear equation, found by
Michelot's (1986) fixed point theta <- (sum_{|x_i| > theta} |x_i| - tau) / #{|x_i| > theta}
from below, which only ever drops entries and stops, exactly, once the active set is
stable: at most n rounds, in practice a handful, each one MPI reduction of two numbers.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import check_number

# Michelot's iteration drops at least one entry a round, so it needs at most n rounds; the
# bound is a guard only.
_MAX_ROUNDS = 10_000


def _allreduce_sum(mpi, values: list) -> np.ndarray:
    from mpi4py import MPI

    total = np.array(values, dtype=float)
    mpi.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
    return total


class Scratch:
    """Work arrays kept between calls on vectors of one length.  A fresh numpy temporary
    the size of SR3's y (32 512 doubles on the 128^2 tomography) is mapped anew and
    page-faulted in on every call; that was half the time of the l1-ball threshold there."""

    def __init__(self):
        self._arrays = {}

    def array(self, name: str, size: int, dtype=float) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.size != size:
            array = self._arrays[name] = np.empty(size, dtype=dtype)
        return array


def soft_threshold(vec, threshold: float, scratch: Scratch | None = None) -> None:
    """x_i <- sign(x_i) max(|x_i| - threshold, 0): the prox of threshold ||x||_1."""
    threshold = check_number("threshold", threshold)
    x = vec.getArray()
    # x - clip(x, -t, t) is that, in three passes (SR3 calls this after every
    # LSQR step, where sign * max(|x| - t, 0) cost a sixth of a tomography run).
    clipped = (scratch or Scratch()).array("clipped", x.size)
    np.minimum(x, threshold, out=clipped)
    np.maximum(clipped, -threshold, out=clipped)
    x -= clipped


def l1_ball_threshold(vec, radius: float, start: float | None = None,
                      scratch: Scratch | None = None) -> float:
    """The theta >= 0 with sum_i max(|x_i| - theta, 0) = radius (0 when ||x||_1 <= radius:
    the point is inside the ball).  ``start``, a guess (the last threshold of a sequence
    of nearby points), saves rounds.  Collective."""
    radius = check_number("radius", radius)
    scratch = scratch or Scratch()
    values = vec.getArray(readonly=True)
    magnitudes = np.abs(values, out=scratch.array("magnitudes", values.size))
    mpi = vec.getComm().tompi4py()
    total, count = _allreduce_sum(mpi, [magnitudes.sum(), magnitudes.size])
    if not np.isfinite(total):
        raise ArithmeticError("the vector to project holds NaN or infinite values")
    if total <= radius:
        return 0.0
    if radius == 0.0:
        from mpi4py import MPI

        return float(mpi.allreduce(float(magnitudes.max(initial=0.0)), op=MPI.MAX))
    # Michelot's rounds are Newton steps on the convex, decreasing, piecewise-linear
    # f(theta) = sum max(|x_i| - theta, 0) - radius: from below the answer they rise to it
    # and the active set only shrinks; from a guess above it, one step lands below it (the
    # tangent of a convex f lies under f).  theta_0 = (||x||_1 - radius) / n lies below.
    # A round's update is (sum of the active |x_i| - radius) / #active.
    cold = (total - radius) / count
    theta, below = (start, False) if start is not None and start > 0 else (cold, True)
    active = scratch.array("active", magnitudes.size, bool)
    kept = scratch.array("kept", magnitudes.size)
    for _ in range(_MAX_ROUNDS):
        np.greater(magnitudes, theta, out=active)
        np.multiply(magnitudes, active, out=kept)   # no compress: it copies, slowly
        total, count = _allreduce_sum(mpi, [kept.sum(), np.count_nonzero(active)])
        if count == 0:
            if below:   # theta rounded up to the largest entry: the last set's value is it
                return float(theta)
            theta, below = cold, True   # a guess above every entry
            continue
        updated = (total - radius) / count
        if below and updated <= theta:
            # No entry left the active set: its own sum gives the answer, which therefore
            # does not depend on the path (the start): a resumed run projects as the
            # uninterrupted one did.
            return float(max(updated, 0.0))
        theta, below = updated, True
    raise ArithmeticError("the l1-ball threshold did not settle")


def project_l1_ball(vec, radius: float) -> None:
    """x <- argmin_{||z||_1 <= radius} ||z - x||_2 (exact).  Collective."""
    soft_threshold(vec, l1_ball_threshold(vec, radius))


def project_l2_ball(vec, radius: float) -> None:
    """x <- x min(1, radius / ||x||_2).  Collective."""
    radius = check_number("radius", radius)
    norm = vec.norm()
    if norm > radius:
        vec.scale(radius / norm)


def project_nonnegative(vec) -> None:
    """x_i <- max(x_i, 0)."""
    x = vec.getArray()
    np.maximum(x, 0.0, out=x)


class L1Norm:
    """R(y) = weight ||y||_1; prox_{step R} is the soft threshold at step * weight."""

    def __init__(self, weight: float):
        self.weight = check_number("weight", weight)
        self._scratch = Scratch()

    def prox(self, vec, step: float) -> None:
        soft_threshold(vec, step * self.weight, self._scratch)

    def value(self, vec) -> float:
        from petsc4py import PETSc

        return self.weight * vec.norm(PETSc.NormType.NORM_1)

    def dual_value(self, residual_sq: float, g_dot_r: float, dual_inf: float) -> float:
        """The dual of min_y 1/2 ||F y - g||^2 + weight ||y||_1, max g^T s - 1/2 ||s||^2 s.t.
        ||F^T s||_inf <= weight, at s = r scaled into that set, from ||r||^2, g^T r and
        ||F^T r||_inf of any r: a lower bound of the minimum (weak duality)."""
        scale = 1.0 if dual_inf <= self.weight else self.weight / dual_inf
        return scale * g_dot_r - 0.5 * scale ** 2 * residual_sq


class L1Ball:
    """R(y) = the indicator of ||y||_1 <= radius; every prox is the projection."""

    def __init__(self, radius: float):
        self.radius = check_number("radius", radius)
        self._threshold = None
        self._scratch = Scratch()

    def prox(self, vec, step: float) -> None:
        # SR3 projects a sequence of nearby points: the last threshold starts the next search
        # (the threshold found does not depend on the start: resumed runs repeat exactly).
        self._threshold = l1_ball_threshold(vec, self.radius, self._threshold, self._scratch)
        soft_threshold(vec, self._threshold, self._scratch)

    def value(self, vec) -> float:
        from petsc4py import PETSc

        excess = vec.norm(PETSc.NormType.NORM_1) - self.radius
        return 0.0 if excess <= 1e-12 * max(self.radius, 1.0) else float("inf")

    def dual_value(self, residual_sq: float, g_dot_r: float, dual_inf: float) -> float:
        """The dual of min 1/2 ||F y - g||^2 s.t. ||y||_1 <= radius, g^T r - 1/2 ||r||^2 -
        radius ||F^T r||_inf, from ||r||^2, g^T r and ||F^T r||_inf of any r: a lower bound
        of the minimum (weak duality)."""
        return g_dot_r - 0.5 * residual_sq - self.radius * dual_inf
