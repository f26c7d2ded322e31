"""Bound-constrained Tikhonov on tensor block rows (the galaxy problem): the second solver
beside PNKR for the same equations,

    min_U  ||Y - U K^T||_N^2 + alpha <U, U>_M    subject to U >= 0,

with ||E||_N^2 = sum_r e_r^T N e_r (the data metric on the sky, per wavelength) and
<U, V>_M = tr(U^T Psi V Phi) (M = Psi (x) Phi, the H^s metric PNKR projects in).  Each outer
step is one TAO solve at the searched alpha (``PenalizedTAO``), and the search moves alpha
until the misfit meets the discrepancy principle ||Y - U K^T||_N = tau delta, delta^2 the
sum of the equations' noise norms delta_r^2 (PNKR's per-equation bounds, summed).

Both terms are quadratic and act through the tensor structure: the kernel K on each row of
U (local), the sparse sky matrices N and Psi across rows.  Those need the neighbouring
spaxels' rows: each product gathers the N x L (or N x R) array on every rank (one
Allgatherv), which is cheap on the cube sizes of IFU data (18 x 18 spaxels: 190 000 values)
and grows with the sky, not with the number of ranks.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import ArgumentError
from ..kaczmarz.block_rows import TensorBlockRows
from .tao import PenalizedTAO
from .tensor_spectral import SpectralTikhonov, fits as spectral_fits


class _Rows:
    """This rank's rows of flattened N x width arrays held in Vecs, and the sky matrix
    products that need the other ranks' rows."""

    def __init__(self, blocks: TensorBlockRows):
        self.layout = blocks.spatial_layout
        self.mpi = self.layout.mpi
        self.slice = self.layout.local_slice

    def of(self, vec, width: int) -> np.ndarray:
        return vec.getArray(readonly=True).reshape(self.layout.local_size, width)

    def writable(self, vec, width: int) -> np.ndarray:
        return vec.getArray().reshape(self.layout.local_size, width)

    def mine(self, matrix):
        """This rank's rows of a replicated N x N sky matrix (CSR)."""
        return matrix.tocsr()[self.slice]

    def sky_product(self, mine, local: np.ndarray) -> np.ndarray:
        """``mine`` (this rank's rows of a sky matrix) times the whole N x width array whose
        local rows are ``local``."""
        return mine @ self.layout.gather(local)

    def total(self, value: float) -> float:
        return float(self.mpi.allreduce(value))


class SkyMetricMisfit:
    """L(U) = ||U K^T - Y||_N^2, its gradient 2 N (U K^T - Y) K and Hessian products
    2 N (E K^T) K: ``ChiSquare``'s interface in the data metric N (collective)."""

    def __init__(self, blocks: TensorBlockRows, data):
        self.rows = _Rows(blocks)
        self.kernel = blocks.kernel
        self.gram = self.rows.mine(blocks.data_gram)
        self.data = data

    def _misfit(self, f) -> tuple[np.ndarray, np.ndarray]:
        """(E, N E) on this rank's rows, E = U K^T - Y."""
        equations, thetas = self.kernel.shape
        residual = self.rows.of(f, thetas) @ self.kernel.T - self.rows.of(self.data, equations)
        return residual, self.rows.sky_product(self.gram, residual)

    def value(self, f) -> float:
        residual, weighted = self._misfit(f)
        return self.rows.total(np.vdot(residual, weighted))

    def value_and_gradient(self, f, gradient) -> float:
        residual, weighted = self._misfit(f)
        np.matmul(2.0 * weighted, self.kernel, out=self.rows.writable(gradient,
                                                                       self.kernel.shape[1]))
        return self.rows.total(np.vdot(residual, weighted))

    def gradient(self, f, out) -> None:
        self.value_and_gradient(f, out)

    def _image(self, e) -> tuple[np.ndarray, np.ndarray]:
        image = self.rows.of(e, self.kernel.shape[1]) @ self.kernel.T
        return image, self.rows.sky_product(self.gram, image)

    def hessian_mult(self, e, out) -> None:
        _, weighted = self._image(e)
        np.matmul(2.0 * weighted, self.kernel, out=self.rows.writable(out, self.kernel.shape[1]))

    def curvature(self, e) -> float:
        image, weighted = self._image(e)
        return 2.0 * self.rows.total(np.vdot(image, weighted))


class TensorMetricNorm:
    """R(U) = <U, U>_M = tr(U^T Psi U Phi), the squared H^s norm PNKR measures in: the
    penalties' interface (``penalties.py``), quadratic."""

    name = "metric"
    quadratic = True

    def __init__(self, blocks: TensorBlockRows):
        self.rows = _Rows(blocks)
        self.spatial = self.rows.mine(blocks.spatial_metric)
        self.theta_transposed = blocks.theta_metric.T.tocsr()
        self.width = blocks.theta_size

    def _applied(self, f) -> tuple[np.ndarray, np.ndarray]:
        """(U, Psi U Phi) on this rank's rows."""
        local = self.rows.of(f, self.width)
        sky = self.rows.sky_product(self.spatial, local)
        return local, np.asarray(self.theta_transposed @ sky.T).T

    def value(self, f) -> float:
        local, applied = self._applied(f)
        return self.rows.total(np.vdot(local, applied))

    def value_and_gradient(self, f, gradient) -> float:
        local, applied = self._applied(f)
        np.multiply(applied, 2.0, out=self.rows.writable(gradient, self.width))
        return self.rows.total(np.vdot(local, applied))

    def hessian_mult(self, f, e, out) -> None:
        _, applied = self._applied(e)
        np.multiply(applied, 2.0, out=self.rows.writable(out, self.width))


class TensorTikhonovTAO(PenalizedTAO):
    """min ||Y - U K^T||_N^2 + alpha <U, U>_M subject to U >= 0 by TAO, alpha searched so
    that the misfit meets tau^2 sum_r delta_r^2 (``PenalizedTAO`` with the data metric's
    misfit; its ``mu`` is alpha), or fixed at ``mu`` with ``fixed_mu``.  The other keywords
    are ``PenalizedTAO``'s; Newton's bnls is the default TAO type, since both terms are
    quadratic (on the tiny mesh BLMVM reached none of its gradient tolerances in 1000
    iterations)."""

    stall_fraction = 0.25   # its Newton solves creep to their caps near small alpha

    def __init__(self, operator, data, blocks: TensorBlockRows, *, tau: float = 1.0,
                 mu: float | None = None, fixed_mu: bool = False, tao_type: str = "bnls",
                 spectral_start: bool = True, **options):
        target = tau ** 2 * float(np.sum(np.square(blocks.equation_noise)))
        if not fixed_mu and not target > 0:
            raise ArgumentError("tau", "the discrepancy target tau^2 sum delta_r^2 is 0 (data "
                                       "without noise): give mu with fixed_mu")
        self.spectral_alpha = None
        if spectral_start and "initial" not in options and spectral_fits(blocks):
            mu, options["initial"] = self._spectral_start(operator, data, blocks, mu,
                                                          None if fixed_mu else target)
        super().__init__(operator, data, TensorMetricNorm(blocks),
                         chi_square_target=None if fixed_mu else target, mu=mu, floor=0.0,
                         tao_type=tao_type, likelihood=SkyMetricMisfit(blocks, data),
                         **options)
        self.tau = tau
        if options.get("initial") is not None:
            options["initial"].destroy()    # PenalizedTAO keeps a copy
        if self.spectral_alpha is not None and mu == self.spectral_alpha:
            # The constrained discrepancy alpha lies a little below the unconstrained one
            # (clipping at zero only adds misfit): the search brackets it in small moves.
            self.search_expansion = 2.0

    def _spectral_start(self, operator, data, blocks, mu, target):
        """(mu, U >= 0): the unconstrained problem's discrepancy alpha where no mu is given,
        and its solution at the starting mu clipped at zero (``SpectralTikhonov``)."""
        spectral = SpectralTikhonov(blocks, operator.rows(data, blocks.equations))
        if target is not None:
            # Every rank solved the same eigenproblems; rank 0's root is everyone's, so no
            # last-bit difference of two LAPACK runs can set the ranks' alphas apart.
            self.spectral_alpha = blocks.spatial_layout.mpi.bcast(
                spectral.discrepancy_alpha(target), root=0)
        if mu is None:
            mu = self.spectral_alpha
        if mu is None:     # no alpha meets the target unconstrained: the constant start
            return mu, None
        start = operator.create_vecs()[0]
        operator.rows(start, blocks.theta_size)[:] = np.clip(spectral.local_solution(mu),
                                                             0.0, None)
        return mu, start

    def residual_scale(self) -> float:
        """||Y||_N: the relative residual in the metric the misfit is measured in."""
        zero = self.operator.create_vecs()[0]   # zeroed: L(0) = ||Y||_N^2
        scale = self.likelihood.value(zero) ** 0.5
        zero.destroy()
        return scale

    def result_attributes(self, state) -> dict:
        attributes = {**super().result_attributes(state), "tau": self.tau}
        if self.spectral_alpha is not None:
            attributes["unconstrained_alpha"] = self.spectral_alpha
        return attributes
