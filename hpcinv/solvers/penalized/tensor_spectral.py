"""The unconstrained tensor Tikhonov problem in closed form, for every alpha at once:

    min_U ||Y - U K^T||_N^2 + alpha tr(U^T Psi U Phi).

Its normal equations N U K^T K + alpha Psi U Phi = N Y K are a generalised Sylvester
equation whose two pencils are symmetric-definite: (N, Psi) on the sky, (K^T K, Phi) on
Theta.  With V^T Psi V = I, V^T N V = diag(lambda) and W^T Phi W = I, W^T K^T K W = diag(mu)
(scipy's generalised eigh), U = V C W^T turns them into (lambda_i mu_j + alpha) c_ij = b_ij
with B = V^T N Y K W, so U(alpha) and its misfit cost one division each: the discrepancy
alpha of the unconstrained problem is a scalar root (brentq), and U(alpha) clipped at zero
is the bound-constrained solver's start.  Written here because the eigen-solve of the
Sylvester structure is no library routine; scipy does the eigenproblems and the root.
"""
from __future__ import annotations

import math

import numpy as np

from ..kaczmarz.block_rows import TensorBlockRows

# An eigenvalue below this times (count x the largest) is round-off of a zero one.
_NULL = 1e-15
# Dense N x N sky matrices and L x L Theta matrices up to these sizes; at the limits scipy's
# generalised eigh holds 6 n^2 doubles (0.8 GB for the sky, 1.7 GB for Theta, on every
# rank) and took 7.5 s and 22 s on one of these 2-core machines (a random SPD pencil, 2026-
# 12-04).  Above them the start is skipped (``fits``).
MAX_SKY_POINTS = 4096
MAX_THETA_FUNCTIONS = 6000


def fits(blocks: TensorBlockRows) -> bool:
    """Whether the dense eigenproblems of this problem fit ``MAX_*``."""
    return blocks.spatial_size <= MAX_SKY_POINTS and blocks.theta_size <= MAX_THETA_FUNCTIONS


class SpectralTikhonov:
    """U(alpha) and misfit(alpha) of the unconstrained problem (collective to build: the
    data's rows are gathered; every rank then holds the N x L coefficients B)."""

    def __init__(self, blocks: TensorBlockRows, data_rows: np.ndarray):
        import scipy.linalg as sla

        self.layout = blocks.spatial_layout
        sky_metric = blocks.spatial_metric.toarray()
        self.sky_values, sky_vectors = sla.eigh(blocks.data_gram.toarray(), sky_metric)
        kernel = blocks.kernel
        self.theta_values, self.theta_vectors = sla.eigh(kernel.T @ kernel,
                                                         blocks.theta_metric.toarray())
        # K^T K is singular when L > R or columns repeat (and N when spaxels are left out):
        # round-off leaves those eigenvalues at +-1e-16 of the largest and their b at
        # round-off too, which 1 / alpha would blow up at a small alpha.  They are zero.
        for values in (self.theta_values, self.sky_values):
            values[values <= _NULL * values.size * values.max()] = 0.0
        self.local_sky_vectors = sky_vectors[self.layout.local_slice]
        data = self.layout.gather(data_rows)
        weighted = blocks.data_gram @ data                                    # N Y
        self.curvature = np.outer(self.sky_values, self.theta_values)        # lambda mu^T
        self.coefficients = sky_vectors.T @ (weighted @ kernel) @ self.theta_vectors   # B
        self.coefficients[self.curvature == 0] = 0.0      # exactly so without round-off
        self.squares = self.coefficients ** 2
        self.data_norm_squared = float(np.vdot(data, weighted))               # ||Y||_N^2

    def misfit(self, alpha: float) -> float:
        """||Y - U(alpha) K^T||_N^2 = ||Y||_N^2 - 2 sum b^2 / d + sum lambda mu b^2 / d^2,
        d = lambda mu + alpha: increasing in alpha."""
        denominator = self.curvature + alpha
        return float(self.data_norm_squared - 2.0 * np.sum(self.squares / denominator)
                     + np.sum(self.curvature * self.squares / denominator ** 2))

    def local_solution(self, alpha: float) -> np.ndarray:
        """This rank's rows of U(alpha) (N_local x L)."""
        return self.local_sky_vectors @ (self.coefficients / (self.curvature + alpha)) @ \
            self.theta_vectors.T

    def discrepancy_alpha(self, target: float) -> float | None:
        """alpha with misfit(alpha) = target, None where no alpha reaches it (the data's
        part outside K's range alone misses the target, or the target exceeds ||Y||_N^2)."""
        from scipy.optimize import brentq

        scale = float(np.max(self.curvature)) or 1.0
        low, high = scale * 1e-14, scale * 1e6
        if not self.misfit(low) < target < self.misfit(high):
            return None
        # The difference, not log(misfit / target): round-off may leave misfit(low) <= 0.
        root = brentq(lambda log_alpha: self.misfit(math.exp(log_alpha)) - target,
                      math.log(low), math.log(high), xtol=1e-6)
        return math.exp(root)
