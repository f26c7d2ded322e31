"""Projected Nesterov-Kaczmarz reconstruction (PNKR; Hinterer et al., eq. 4.27) for problems
with tensor block rows (the ``TensorBlockRows`` capability, ``block_rows.py``).

One loop sweeps the R block equations in a fresh seeded random order.  Step k:

    z   = u_k + beta (u_k - u_{k-1}),          beta = (kR - 1)/(kR + 2), kR = loop number
    g   = y_r - Z k_r                          (residual of block equation r, sky vector)
    u_{k+1} = T(z + omega_k a b_r^T)           T = max(., 0)

with omega_k = 0 when ||g||_N <= tau delta_r (equation-wise discrepancy).  The update is
rank one: b_r = Phi^{-1} k_r for all r is computed once, and a is either

* ``step = "constant"`` (the paper's):   a = omega Psi^{-1} N g   (a sparse direct solve on
  the sky mesh; never a dense inverse of M, Psi or Phi), or
* ``step = "projection"`` (default):    a = omega g / (k_r^T b_r), the exact projection in
  the M = Psi (x) Phi metric onto {H_r u = N y_r}, since H_r M^{-1} H_r^T = (k_r^T b_r)
  N Psi^{-1} N; relaxation omega in (0, 2), or
* ``step = "reduced"`` (reduced PNKR, eq. 4.31; piecewise constants): M^{-1} replaced by a
  separable Gaussian smoothing Z_s = Z_sky (x) Z_Theta, so b_r = Z_Theta k_r and
  a = omega Z_sky g / (k_r^T b_r): with Z_s = I this is the exact projection.

Rows of U are split across ranks: Z k_r and the update are local, g is gathered (one
collective per step) so every rank evaluates ||g||_N and the sky solve alike.  The run stops
after a loop in which every equation met its discrepancy bound, or at max loops/wall time.
The state (U, the previous iterate, the loop counter and the permutation RNG) is saved at
loop boundaries, so a resumed run equals an uninterrupted one.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from ...core.errors import ArgumentError, check_count
from ..framework.method import IterativeMethod
from ...core.state import SolverState
from ..framework.stopping import EquationwiseDiscrepancy, StoppingRule
from .block_rows import TensorBlockRows
from .pnkr_kernel import fused_step
from .smoothing import separable_smoothing

STEPS = ("projection", "constant", "reduced")


def omega_problem(step: str, omega: float) -> str | None:
    """Why ``omega`` does not suit ``step``, or None."""
    if not omega > 0:
        return f"must be > 0, got {omega}"
    if step in ("projection", "reduced") and not omega < 2:
        return f"must be in (0, 2) for step = '{step}', got {omega}"
    return None


class PNKR(IterativeMethod):
    """PNKR on a problem with tensor block rows (``blocks``) and the data cube ``data``.

    ``tau``: equation r is skipped while ||g_r||_N <= tau delta_r, and the run stops after a
    loop that skipped every equation (unless ``stopping`` says otherwise); ``step``,
    ``omega``, ``smoothing``: the update (module docstring); ``nesterov``: the
    extrapolation (kR - 1)/(kR + 2); ``positivity``: project onto u >= 0; ``seed``: of the
    equation permutations; ``max_iterations``: loops.  With ``truth`` the history gets the
    paper's relative residual against the truth's noise-free data (``noise_free_residual``).
    """

    def __init__(self, operator, data, blocks: TensorBlockRows, *, tau: float = 1.2,
                 step: str = "projection", omega: float = 1.0, smoothing: float = 1.0,
                 nesterov: bool = True, positivity: bool = True, seed: int = 0,
                 max_iterations: int = 2000, truth=None, stopping: StoppingRule | None = None):
        if step not in STEPS:
            raise ArgumentError("step", f"must be one of {', '.join(STEPS)}, got {step!r}")
        message = omega_problem(step, omega)
        if message:
            raise ArgumentError("omega", message)
        if not smoothing >= 0:
            raise ArgumentError("smoothing", f"must be >= 0, got {smoothing}")
        seed = check_count("seed", seed)
        if step == "reduced" and blocks.order != 0:
            raise ArgumentError("step", "reduced PNKR smooths piecewise constants: set "
                                        "problem.order = 0")
        super().__init__(operator, data,
                         stopping=stopping or EquationwiseDiscrepancy(tau, blocks.equation_noise),
                         max_iterations=max_iterations)
        self.blocks = blocks
        self.tau, self.omega, self.nesterov = float(tau), float(omega), bool(nesterov)
        self.positivity, self.seed, self.truth = bool(positivity), seed, truth
        self.mpi = operator.comm.tompi4py()
        kernel = blocks.kernel
        self.sky_solver = self.sky_smoothing = None
        if step == "reduced":
            self.sky_smoothing = separable_smoothing(blocks.spatial_shape
                                                     or (blocks.spatial_size,), smoothing)
            directions = separable_smoothing(blocks.theta_shape or (blocks.theta_size,),
                                             smoothing) @ kernel.T
        else:
            directions = spla.splu(blocks.theta_metric.tocsc()).solve(
                np.ascontiguousarray(kernel.T))
        if step == "constant":
            self.sky_solver = spla.splu(blocks.spatial_metric.tocsc())
        self.directions = np.ascontiguousarray(directions.T)  # b_r in row r, read per step
        self.projection_scale = np.einsum("rl,rl->r", kernel, self.directions)       # k_r^T b_r
        self.weights = blocks.local_data_weights()
        self.fitted_spaxels = None if blocks.fitted_spaxels is None else \
            blocks.fitted_spaxels.astype(float)
        self._noise_free, self._noise_free_norm = None, 0.0

    def _lumped_norm(self, rows: np.ndarray) -> float:
        """Norm of a distributed N x R array in the lumped data metric (all equations)."""
        return float(np.sqrt(self.mpi.allreduce(self.weights @ (rows ** 2).sum(axis=1))))

    def residual_scale(self) -> float:
        return self._lumped_norm(self.operator.rows(self.data, self.blocks.equations))

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        # equations_updated: in the last loop; -1 before the first (recorded as 0).
        state = SolverState(vectors={"x": x, "x_previous": x.duplicate()},
                            scalars={"equations_updated": -1})
        residual, noise_free = self._residuals(state)
        state.scalars.update(residual_norm=residual, noise_free_residual=noise_free)
        state.rng = np.random.default_rng(self.seed).bit_generator.state
        return state

    def _rows(self, vec) -> np.ndarray:
        return self.operator.rows(vec, self.blocks.theta_size)

    def _residuals(self, state: SolverState) -> tuple[float, float]:
        """(||Y - U K^T||, ||K (u* - u)|| / ||K u*||) in the lumped data metric, over all
        equations: the residual against the data, and the paper's relative residual against
        the noise-free data of a known truth (NaN without one).  One product U K^T serves
        both; the noise-free data is computed once per run."""
        fitted = self._rows(state.vectors["x"]) @ self.blocks.kernel.T
        residual = self._lumped_norm(self.operator.rows(self.data, self.blocks.equations)
                                     - fitted)
        if self.truth is None:
            return residual, float("nan")
        if self._noise_free is None:
            self._noise_free = self._rows(self.truth) @ self.blocks.kernel.T
            self._noise_free_norm = self._lumped_norm(self._noise_free)
        if not self._noise_free_norm:
            return residual, float("nan")
        return residual, self._lumped_norm(self._noise_free - fitted) / self._noise_free_norm

    def _gather(self, local: np.ndarray) -> np.ndarray:
        return self.blocks.spatial_layout.gather(local)

    def _loop(self, state: SolverState, rng: np.random.Generator) -> int:
        """One sweep over all equations; returns how many were updated.

        Each step is one fused pass (``pnkr_kernel.fused_step``) that also forms the two
        products the next equation's extrapolated residual needs, since the permutation is
        known ahead: z k_r = (1 + beta) U_k k_r - beta U_{k-1} k_r."""
        blocks, kernel = self.blocks, self.blocks.kernel
        cube = self.operator.rows(self.data, blocks.equations)
        loop = state.iteration + 1
        beta = (loop - 1) / (loop + 2) if self.nesterov else 0.0
        current, previous = self._rows(state.vectors["x"]), self._rows(state.vectors["x_previous"])
        home_current, home_previous = current, previous
        rows = blocks.spatial_layout.local_slice
        tau, omega, noise = self.tau, self.omega, blocks.equation_noise
        positive, fitted_spaxels = self.positivity, self.fitted_spaxels
        order = rng.permutation(blocks.equations)
        current_dot, previous_dot = current @ kernel[order[0]], previous @ kernel[order[0]]
        new_dot, no_update = np.empty_like(current_dot), np.zeros(blocks.local_rows)
        updated = 0
        for step, r in enumerate(order):
            following = kernel[order[step + 1] if step + 1 < order.size else r]
            z_row = (1 + beta) * current_dot - beta * previous_dot
            residual = self._gather(cube[:, r] - z_row)
            if fitted_spaxels is not None:   # left-out spaxels' data pull on nothing
                residual *= fitted_spaxels
            update = no_update
            if np.sqrt(residual @ (blocks.data_gram @ residual)) > tau * noise[r]:
                if self.sky_solver is not None:
                    update = omega * self.sky_solver.solve(blocks.data_gram @ residual)[rows]
                elif self.sky_smoothing is not None:
                    update = omega / self.projection_scale[r] * (self.sky_smoothing
                                                                 @ residual)[rows]
                else:
                    update = omega / self.projection_scale[r] * residual[rows]
                updated += 1
            elif not beta:
                # Without extrapolation a skipped step is the identity: no pass over U.
                # (U_{k-1} is not needed again; the step after updates U_k in place.)
                previous = current
                np.dot(current, following, out=current_dot)
                previous_dot[...] = current_dot
                continue
            fused_step(current, previous, beta, update, self.directions[r], positive,
                       following, new_dot, previous_dot)
            previous, current = current, previous
            current_dot, new_dot = new_dot, current_dot
        if current is not home_current or previous is not home_previous:
            # the two buffers may have swapped (or aliased): copy both out before writing
            current, previous = current.copy(), previous.copy()
            home_current[...], home_previous[...] = current, previous
        return updated

    def step(self, state: SolverState) -> float:
        """One loop over all equations in a fresh permutation (the RNG state is saved with
        the state, so a resumed run draws the same permutations)."""
        rng = np.random.default_rng()
        rng.bit_generator.state = state.rng
        state.scalars["equations_updated"] = self._loop(state, rng)
        state.rng = rng.bit_generator.state
        residual, noise_free = self._residuals(state)
        state.scalars["noise_free_residual"] = noise_free
        return residual

    def history_columns(self, state: SolverState) -> dict:
        return {"equations_updated": max(state.scalars["equations_updated"], 0),
                "noise_free_residual": state.scalars.get("noise_free_residual", float("nan"))}
