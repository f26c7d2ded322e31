"""Projected Nesterov-Kaczmarz reconstruction (PNKR; Hinterer et al., eq. 4.27) for problems
with tensor block rows (``problem.block_rows``, see ``operators.tensor_rows``).

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

from ..jobspec import SOLVERS, Field
from ..operators.smoothing import separable_smoothing
from ..runtime.errors import InputError
from .base import COMMON_PARAMETERS, IterativeSolver
from .pnkr_kernel import fused_step
from .state import SolverState


@SOLVERS.register("pnkr")
class PNKR(IterativeSolver):
    parameters = {
        **COMMON_PARAMETERS,
        "max_iterations": Field(int, 2000, "maximum number of loops over all equations",
                                minimum=1),
        "tau": Field(float, 1.2, "equation r is skipped when ||g_r||_N <= tau delta_r",
                     minimum=1.0),
        "step": Field(str, "projection", "projection (exact M-metric block projection), "
                      "constant (the paper's step omega M^-1 H^T N^-1 g) or reduced (reduced "
                      "PNKR: M^-1 replaced by Gaussian smoothing; needs s = 0)",
                      choices=("projection", "constant", "reduced")),
        "smoothing": Field(float, 1.0, "reduced PNKR: width (standard deviation) of the "
                           "Gaussian smoothing in cells, on every sky and Theta axis", minimum=0),
        "omega": Field(float, 1.0, "relaxation in (0, 2) for projection and reduced; the step "
                       "size for constant", minimum=0, exclusive_minimum=True),
        "nesterov": Field(bool, True, "Nesterov extrapolation (kR - 1)/(kR + 2)"),
        "positivity": Field(bool, True, "project onto u >= 0 after every step"),
        "seed": Field(int, 0, "seed of the equation permutations", minimum=0),
    }

    @staticmethod
    def check_parameters(values: dict) -> list:
        if values["step"] in ("projection", "reduced") and not values["omega"] < 2:
            return [("solver.omega", f"must be in (0, 2) for step = '{values['step']}', "
                                     f"got {values['omega']}")]
        return []

    def __init__(self, problem, values: dict):
        super().__init__(problem, values)
        blocks = getattr(problem, "block_rows", None)
        if blocks is None:
            raise InputError(("solver.kind", f"pnkr needs a problem with tensor block rows "
                                             f"(such as galaxy), not {type(problem).__name__}"))
        self.blocks = blocks
        self.mpi = self.operator.comm.tompi4py()
        kernel = blocks.kernel
        self.sky_solver = self.sky_smoothing = None
        if values["step"] == "reduced":
            if blocks.order != 0:
                raise InputError(("solver.step", "reduced PNKR smooths piecewise constants: "
                                                 "set problem.order = 0"))
            width = values["smoothing"]
            self.sky_smoothing = separable_smoothing(blocks.spatial_shape
                                                     or (blocks.spatial_size,), width)
            directions = separable_smoothing(blocks.theta_shape or (blocks.theta_size,),
                                             width) @ kernel.T
        else:
            directions = spla.splu(blocks.theta_metric.tocsc()).solve(
                np.ascontiguousarray(kernel.T))
        if values["step"] == "constant":
            self.sky_solver = spla.splu(blocks.spatial_metric.tocsc())
        self.directions = np.ascontiguousarray(directions.T)  # b_r in row r, read per step
        self.projection_scale = np.einsum("rl,rl->r", kernel, self.directions)       # k_r^T b_r
        self.counts = np.array(self.mpi.allgather(blocks.local_rows))
        self.target = values["tau"] * float(np.linalg.norm(blocks.equation_noise))
        self.weights = blocks.local_data_weights()
        self._noise_free, self._noise_free_norm = None, 0.0

    def _lumped_norm(self, rows: np.ndarray) -> float:
        """Norm of a distributed N x R array in the lumped data metric (all equations)."""
        return float(np.sqrt(self.mpi.allreduce(self.weights @ (rows ** 2).sum(axis=1))))

    def residual_scale(self) -> float:
        return self._lumped_norm(self.operator.rows(self.problem.data, self.blocks.equations))

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        state = SolverState(vectors={"x": x, "x_previous": x.duplicate()},
                            scalars={"equations_updated": -1})
        state.scalars["residual_norm"] = self._residuals(state)[0]
        state.rng = np.random.default_rng(self.values["seed"]).bit_generator.state
        return state

    def _rows(self, vec) -> np.ndarray:
        return self.operator.rows(vec, self.blocks.theta_size)

    def _residuals(self, state: SolverState) -> tuple[float, float]:
        """(||Y - U K^T||, ||K (u* - u)|| / ||K u*||) in the lumped data metric, over all
        equations: the residual against the data, and the paper's relative residual against
        the noise-free data of a known truth (NaN without one).  One product U K^T serves
        both; the noise-free data is computed once per run."""
        fitted = self._rows(state.vectors["x"]) @ self.blocks.kernel.T
        residual = self._lumped_norm(self.operator.rows(self.problem.data, self.blocks.equations)
                                     - fitted)
        if self.problem.truth is None:
            return residual, float("nan")
        if self._noise_free is None:
            self._noise_free = self._rows(self.problem.truth) @ self.blocks.kernel.T
            self._noise_free_norm = self._lumped_norm(self._noise_free)
        if not self._noise_free_norm:
            return residual, float("nan")
        return residual, self._lumped_norm(self._noise_free - fitted) / self._noise_free_norm

    def _gather(self, local: np.ndarray) -> np.ndarray:
        whole = np.empty(self.blocks.spatial_size)
        self.mpi.Allgatherv(local, [whole, self.counts])
        return whole

    def _loop(self, state: SolverState, rng: np.random.Generator) -> int:
        """One sweep over all equations; returns how many were updated.

        Each step is one fused pass (``pnkr_kernel.fused_step``) that also forms the two
        products the next equation's extrapolated residual needs, since the permutation is
        known ahead: z k_r = (1 + beta) U_k k_r - beta U_{k-1} k_r."""
        blocks, kernel = self.blocks, self.blocks.kernel
        cube = self.operator.rows(self.problem.data, blocks.equations)
        loop = state.iteration + 1
        beta = (loop - 1) / (loop + 2) if self.values["nesterov"] else 0.0
        current, previous = self._rows(state.vectors["x"]), self._rows(state.vectors["x_previous"])
        home_current, home_previous = current, previous
        rows = slice(blocks.row_start, blocks.row_start + blocks.local_rows)
        tau, omega, noise = self.values["tau"], self.values["omega"], blocks.equation_noise
        positive = self.values["positivity"]
        order = rng.permutation(blocks.equations)
        current_dot, previous_dot = current @ kernel[order[0]], previous @ kernel[order[0]]
        new_dot, no_update = np.empty_like(current_dot), np.zeros(blocks.local_rows)
        updated = 0
        for step, r in enumerate(order):
            following = kernel[order[step + 1] if step + 1 < order.size else r]
            z_row = (1 + beta) * current_dot - beta * previous_dot
            residual = self._gather(cube[:, r] - z_row)
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

    def solve(self, state: SolverState, control) -> str:
        rng = np.random.default_rng()
        rng.bit_generator.state = state.rng
        residual = state.scalars["residual_norm"]
        reason = None
        if len(state.history) == 0:
            residual, noise_free = self._residuals(state)
            reason = control.record(state, residual, state.vectors["x"], equations_updated=0,
                                    noise_free_residual=noise_free)
        while not reason:
            if state.scalars["equations_updated"] == 0:
                reason = "discrepancy"
            elif state.iteration >= self.max_iterations:
                reason = "max_iterations"
            else:
                updated = self._loop(state, rng)
                state.iteration += 1
                state.rng = rng.bit_generator.state
                state.scalars["equations_updated"] = updated
                residual, noise_free = self._residuals(state)
                state.scalars["residual_norm"] = residual
                reason = control.record(state, residual, state.vectors["x"],
                                        equations_updated=updated,
                                        noise_free_residual=noise_free)
        control.finish(state, residual)
        return reason
