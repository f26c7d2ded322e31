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

``block`` > 1 takes that many equations of the permutation per step, all residuals at the
same z (one gather of an N x block array, BLAS-3 products), and combines their updates:

* ``block_update = "average"``: the mean of the updates of the block's equations that miss
  their bound (Cimmino / SIRT; ``block`` = R is one simultaneous step per loop), or
* ``block_update = "projection"`` (``step = "projection"`` only): block Kaczmarz, the
  M-metric projection onto the block's equations at once, A = omega [g_r] G_B^{-1} with the
  block's Gram matrix G_B = K_B Phi^{-1} K_B^T, in G_B's eigenbasis with the equation-wise
  skip applied to each eigen-combination and the weakest left out (``block_cutoff``,
  ``_block_update``).

``restart`` restarts the Nesterov extrapolation (its counter kR, and the momentum) after a
loop that raised the residual (O'Donoghue and Candes' function restart).

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
BLOCK_UPDATES = ("average", "projection")


def omega_problem(step: str, omega: float) -> str | None:
    """Why ``omega`` does not suit ``step``, or None."""
    if not omega > 0:
        return f"must be > 0, got {omega}"
    if step in ("projection", "reduced") and not omega < 2:
        return f"must be in (0, 2) for step = '{step}', got {omega}"
    return None


def block_update_problem(step: str, block_update: str) -> str | None:
    """Why ``block_update`` does not suit ``step``, or None."""
    if block_update not in BLOCK_UPDATES:
        return f"must be one of {', '.join(BLOCK_UPDATES)}, got {block_update!r}"
    if block_update == "projection" and step != "projection":
        return f"'projection' needs step = 'projection', not {step!r}"
    return None


class PNKR(IterativeMethod):
    """PNKR on a problem with tensor block rows (``blocks``) and the data cube ``data``.

    ``tau``: equation r is skipped while ||g_r||_N <= tau delta_r, and the run stops after a
    loop that skipped every equation (unless ``stopping`` says otherwise); ``step``,
    ``omega``, ``smoothing``: the update (module docstring); ``nesterov``: the
    extrapolation (kR - 1)/(kR + 2), ``restart`` it adaptively; ``block``, ``block_update``,
    ``block_cutoff``: equations per step and how their updates combine; ``positivity``:
    project onto u >= 0; ``seed``: of the equation permutations; ``max_iterations``: loops.
    With ``truth`` the history gets the paper's relative residual against the truth's
    noise-free data (``noise_free_residual``).
    """

    def __init__(self, operator, data, blocks: TensorBlockRows, *, tau: float = 1.2,
                 step: str = "projection", omega: float = 1.0, smoothing: float = 1.0,
                 nesterov: bool = True, restart: bool = False, block: int = 1,
                 block_update: str = "average", block_cutoff: float = 1e-3,
                 positivity: bool = True, seed: int = 0,
                 max_iterations: int = 2000, truth=None, stopping: StoppingRule | None = None):
        if step not in STEPS:
            raise ArgumentError("step", f"must be one of {', '.join(STEPS)}, got {step!r}")
        for key, message in (("omega", omega_problem(step, omega)),
                             ("block_update", block_update_problem(step, block_update))):
            if message:
                raise ArgumentError(key, message)
        self.block = min(check_count("block", block, 1), blocks.equations)
        self.block_update = block_update
        if not 0 <= block_cutoff <= 1:
            raise ArgumentError("block_cutoff", f"must be in [0, 1], got {block_cutoff}")
        self.block_cutoff = float(block_cutoff)
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
        self.restart = bool(restart)
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
        # momentum_loop: the loop after which the extrapolation last (re)started.
        state = SolverState(vectors={"x": x, "x_previous": x.duplicate()},
                            scalars={"equations_updated": -1, "momentum_loop": 0})
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
        beta = self._extrapolation(state)
        current, previous = self._rows(state.vectors["x"]), self._rows(state.vectors["x_previous"])
        home_current, home_previous = current, previous
        tau, noise = self.tau, blocks.equation_noise
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
                update = self._sky_update(residual, self.projection_scale[r])
                updated += 1
            elif not beta:
                # Without extrapolation a skipped step is the identity: no pass over U.
                # U_{k-1} becomes U_k (an alias, until the next update).
                previous = current
                np.dot(current, following, out=current_dot)
                previous_dot[...] = current_dot
                continue
            # The new iterate goes over U_{k-1}, or, where a skip made that an alias of
            # U_k, into the other buffer: U_k is the next loop's U_{k-1} if no step follows.
            target = previous
            if target is current:
                target = home_previous if current is home_current else home_current
            fused_step(current, target, beta, update, self.directions[r], positive,
                       following, new_dot, previous_dot)
            previous, current = current, target
            current_dot, new_dot = new_dot, current_dot
        _store(current, previous, home_current, home_previous)
        return updated

    def _extrapolation(self, state: SolverState) -> float:
        """This loop's Nesterov factor (kR - 1)/(kR + 2), kR counted from the last restart."""
        if not self.nesterov:
            return 0.0
        loop = state.iteration + 1 - int(state.scalars.get("momentum_loop", 0))
        return (loop - 1) / (loop + 2)

    def _sky_update(self, residual: np.ndarray, scale) -> np.ndarray:
        """This rank's rows of a = omega (sky operator) g / scale for residuals g (N, or N x m
        with one scale per column)."""
        rows = self.blocks.spatial_layout.local_slice
        if self.sky_solver is not None:          # the paper's step: no scale
            return self.omega * self.sky_solver.solve(self.blocks.data_gram @ residual)[rows]
        if self.sky_smoothing is not None:
            residual = self.sky_smoothing @ residual
        return self.omega / scale * residual[rows]

    def _block_loop(self, state: SolverState, rng: np.random.Generator) -> int:
        """One sweep in blocks of ``block`` equations; returns how many were updated.
        Written with numpy: each block step is two BLAS-3 products (the block's residuals
        at z, the rank-``block`` update), which amortise the passes over U that the fused
        rank-one kernel exists to save."""
        blocks, kernel = self.blocks, self.blocks.kernel
        cube = self.operator.rows(self.data, blocks.equations)
        beta = self._extrapolation(state)
        current, previous = self._rows(state.vectors["x"]), self._rows(state.vectors["x_previous"])
        home_current, home_previous = current, previous
        order = rng.permutation(blocks.equations)
        updated = 0
        for start in range(0, order.size, self.block):
            equations = order[start:start + self.block]
            # z = U_k + beta (U_k - U_{k-1}), written over U_{k-1} (not needed without
            # extrapolation)
            if beta:
                np.subtract(current, previous, out=previous)
                previous *= beta
                previous += current
            else:
                previous[...] = current
            residual = self._gather(cube[:, equations] - previous @ kernel[equations].T)
            if self.fitted_spaxels is not None:
                residual *= self.fitted_spaxels[:, None]
            # The stop rule counts the equations that miss their bound, whatever the
            # projection then moves (it may move only combinations of them).
            missing = self._noise_norms(residual) > self.tau * blocks.equation_noise[equations]
            updated += int(missing.sum())
            update = self._block_update(residual, equations, missing)
            if update is not None:
                coefficients, equations = update
                previous += coefficients @ self.directions[equations]
            elif not beta:
                continue                         # a skipped block is the identity
            if self.positivity:
                np.maximum(previous, 0.0, out=previous)
            previous, current = current, previous
        _store(current, previous, home_current, home_previous)
        return updated

    def _noise_norms(self, residual: np.ndarray) -> np.ndarray:
        """||g||_N of each column of a gathered N x m residual."""
        return np.sqrt(np.einsum("nm,nm->m", residual, self.blocks.data_gram @ residual))

    def _block_update(self, residual: np.ndarray, equations: np.ndarray,
                      missing: np.ndarray):
        """(A, equations) of the block update A B^T, B the equations' b_r and A this rank's
        rows; None when nothing is to move.  ``missing``: the equations whose residual
        exceeds tau delta_r.

        The average takes the updates of the missing equations.  The projection rotates the
        block into the eigenvectors v_i of its Gram matrix G (combinations of its equations
        orthogonal in the data; G v_i = gamma_i v_i) and applies the skip to each: combination
        i moves U only while its residual exceeds tau times its noise norm
        sqrt(sum_r v_ri^2 delta_r^2) (the noise's, were the equations' noise independent).
        The combinations of nearly parallel equations (small gamma_i) carry mostly noise,
        which an exact projection would amplify by 1 / gamma_i: those below
        ``block_cutoff`` times the mean gamma (one equation's k_r^T b_r on average), and
        always those within round-off of zero, are left out.  (The skip alone does not
        suffice where the noise norm of few sky points fluctuates past tau delta.)"""
        noise = self.blocks.equation_noise[equations]
        rows = self.blocks.spatial_layout.local_slice
        if self.block_update == "average":
            if not missing.any():
                return None
            equations = equations[missing]
            return self._sky_update(residual[:, missing], self.projection_scale[equations]) \
                / equations.size, equations
        gamma, vectors = np.linalg.eigh(self.kernel_gram(equations))
        floor = max(self.block_cutoff * gamma.mean(),
                    gamma.size * np.finfo(float).eps * gamma.max())
        rotated = residual @ vectors
        moving = (self._noise_norms(rotated) > self.tau * np.sqrt(vectors.T ** 2 @ noise ** 2)) \
            & (gamma > floor)
        if not moving.any():
            return None
        coefficients = self.omega * (rotated[rows][:, moving] / gamma[moving])
        return coefficients @ vectors[:, moving].T, equations

    def kernel_gram(self, equations: np.ndarray) -> np.ndarray:
        """G_B = K_B Phi^{-1} K_B^T of the given equations (m x m, replicated)."""
        return self.blocks.kernel[equations] @ self.directions[equations].T

    def step(self, state: SolverState) -> float:
        """One loop over all equations in a fresh permutation (the RNG state is saved with
        the state, so a resumed run draws the same permutations)."""
        rng = np.random.default_rng()
        rng.bit_generator.state = state.rng
        loop = self._loop if self.block == 1 else self._block_loop
        state.scalars["equations_updated"] = loop(state, rng)
        state.rng = rng.bit_generator.state
        residual, noise_free = self._residuals(state)
        state.scalars["noise_free_residual"] = noise_free
        if self.restart and self.nesterov and residual > state.scalars["residual_norm"]:
            # The momentum carried the iterate uphill: start the extrapolation afresh.
            state.scalars["momentum_loop"] = state.iteration + 1
            state.vectors["x"].copy(state.vectors["x_previous"])
        return residual

    def history_columns(self, state: SolverState) -> dict:
        return {"equations_updated": max(state.scalars["equations_updated"], 0),
                "noise_free_residual": state.scalars.get("noise_free_residual", float("nan"))}


def _store(current: np.ndarray, previous: np.ndarray, home_current: np.ndarray,
           home_previous: np.ndarray) -> None:
    """Leave a loop's last two iterates in the state's buffers, which the loop's swaps may
    have exchanged (or aliased): copies of both are taken before either is written."""
    if current is not home_current or previous is not home_previous:
        current, previous = current.copy(), previous.copy()
        home_current[...], home_previous[...] = current, previous
