"""Frequency-domain multidimensional deconvolution by block Krylov methods, on every rank's
own frequencies (Luiken's thesis, ch. 4).

The operator p = MDC(g) is block diagonal in frequency, P_f = G_f M_f with M_f the model
block dt dr Q_f, so each rank solves its own frequencies with ``block_frequency``'s solvers
and never communicates inside a solve: one iteration of ``BlockKrylovMDD`` advances every
active frequency by one block step, then brings the G_f back to the time-domain g (one
inverse transform) and reduces the residual norm over the ranks.

The residual reported is the time-domain ||p - MDC(g)||, computed in the frequency domain
by Parseval's theorem for the unnormalised real FFT of n_t samples:

    ||r||^2 = (1/n_t) sum_f w_f ||R_f||_F^2 + (what p holds above the kept bins),

with w_f = 2 for a bin with a conjugate twin (0 < f < n_t / 2) and w_f = 1 for the zero
frequency and, for even n_t, the Nyquist bin.  Those two bins are real for real traces and
are solved in real arithmetic, so that the inverse FFT (which drops their imaginary part)
keeps the solution the residual was measured for.

Stopping: each frequency stops on its own (is frozen) after ``iterations`` block steps or,
with ``frequency_discrepancy``, once ||A X - D||_F = ||P_f - G_f M_f||_F <= tau delta_f with
delta_f the problem's noise norm of that frequency block; also when its Krylov space is
exhausted (it is at its least-squares solution).  The run stops when every frequency is
frozen, or at ``max_iterations``.

The Krylov bases live in this object, not in the ``SolverState``: a run resumed from a
checkpoint restarts every frequency's block Krylov space from the saved g (a new initial
deflation of the residual P_f - G_f M_f), so it does not repeat the uninterrupted iterates
(``exact_resume = False``); the per-frequency step counts and ranks are in the state and
carry on.
"""
from __future__ import annotations

import numpy as np

from ...core.errors import ArgumentError, check_count
from ...core.mpi import global_max
from ...core.state import SolverState
from ..framework.method import IterativeMethod
from ..framework.stopping import Discrepancy, StoppingRule
from .block_frequency import METHODS, check_tolerance, frequency_solver


class FrequenciesFrozen(StoppingRule):
    """Converged once no frequency is active (``state.scalars['active_frequencies']``).
    The reason: ``block_iterations`` when frequencies stop after a fixed number of steps;
    with the per-frequency discrepancy rule ``discrepancy``, or ``least_squares_solution``
    when some frequency's Krylov space ran out before its discrepancy held."""

    def __init__(self, frequency_discrepancy: bool, target: float):
        self.frequency_discrepancy = frequency_discrepancy
        self.target = target
        self.reason = "discrepancy" if frequency_discrepancy else "block_iterations"

    def met(self, state, residual: float) -> bool:
        if state.scalars["active_frequencies"] > 0:
            return False
        if self.frequency_discrepancy and state.scalars["unmet_frequencies"] > 0:
            self.reason = "least_squares_solution"
        return True


def parseval_weights(bins: np.ndarray, n_t: int) -> np.ndarray:
    """w_f / n_t for real-FFT bins ``bins`` of n_t samples: ||x||^2 = sum_f w_f |X_f|^2 / n_t
    over all bins, w_f = 2 for bins with a conjugate twin, 1 for 0 and (even n_t) n_t / 2."""
    self_twin = (bins == 0) | (2 * bins == n_t)
    return np.where(self_twin, 1.0, 2.0) / n_t


class BlockKrylovMDD(IterativeMethod):
    """Per-frequency block CG (``method = "block"``) or column-by-column CG (``"column"``)
    on the normal equations of MDD, from the ``FrequencyBlockSystem`` capability ``system``
    and the data p (a time-domain Vec).  ``deflation_tolerance``: the initial deflation keeps
    the right-hand sides' pivoted-QR directions with |R_ii| > tolerance |R_00|, and the
    block iteration drops Krylov directions below tolerance times the scale of the
    strongest frequency's model block (``block_frequency``, step 3);
    ``noise_norm`` (the total ||e||) only sets the recorded target tau ||e||."""

    exact_resume = False

    def __init__(self, system, data, *, method: str = "block", iterations: int = 1,
                 deflation_tolerance: float = 1e-6, frequency_discrepancy: bool = False,
                 tau: float = 1.02, noise_norm: float = 0.0, max_iterations: int = 500):
        if method not in METHODS:
            raise ArgumentError("method", f"must be one of {sorted(METHODS)}, got {method!r}")
        if frequency_discrepancy and system.frequency_noise is None:
            raise ArgumentError("frequency_discrepancy", "the problem gives no noise norms per "
                                "frequency, so no per-frequency discrepancy rule")
        recorded = Discrepancy(tau, noise_norm, stop=False)     # checks tau and the noise
        super().__init__(system.operator, data, tau=tau, noise_norm=noise_norm,
                         max_iterations=max_iterations,
                         stopping=FrequenciesFrozen(frequency_discrepancy, recorded.target))
        self.method = method
        self.iterations = check_count("iterations", iterations, 1)
        self.deflation_tolerance = check_tolerance(deflation_tolerance)
        self.frequency_discrepancy = bool(frequency_discrepancy)
        self.tau = float(tau)
        transform = self.operator.range_transform
        self.frequency_layout = transform.frequency_layout
        bins = np.arange(self.frequency_layout.start, self.frequency_layout.stop)
        self._weights = parseval_weights(bins, transform.n_t)
        self._real_bins = self._weights * transform.n_t == 1.0
        self._targets = self._frequency_targets(system.frequency_noise) \
            if frequency_discrepancy else None
        self._data_blocks = transform.to_frequency(data)
        self._out_of_band = self._energy_above_kept_bins()
        self._krylov = None      # (the state they belong to, the per-frequency solvers)

    def _frequency_targets(self, frequency_noise) -> np.ndarray:
        noise = np.asarray(frequency_noise, dtype=float)
        wrong = noise.shape != (self.frequency_layout.local_size,) or not np.all(noise >= 0)
        # Agreed by all ranks: one raising alone would leave the others in a collective.
        if any(self.frequency_layout.mpi.allgather(wrong)):
            raise ArgumentError("frequency_noise", f"need {self.frequency_layout.local_size} "
                                "non-negative norms, one per frequency of this rank, got "
                                f"shape {noise.shape} (or negative norms) on some rank")
        return self.tau * noise

    def _energy_above_kept_bins(self) -> float:
        """||p||^2 minus the energy of p's kept bins: what no g can fit (collective)."""
        transform = self.operator.range_transform
        if transform.n_f == transform.n_bins:
            return 0.0
        kept = self._global_sum(self._weights * np.sum(np.abs(self._data_blocks) ** 2,
                                                       axis=(1, 2)))
        return max(self.data.norm() ** 2 - kept, 0.0)

    def _global_sum(self, local: np.ndarray) -> float:
        return self.frequency_layout.mpi.allreduce(float(np.sum(local)))

    # Per-frequency systems ------------------------------------------------------------------

    def _system(self, k: int):
        """(A, D) = (M_f^H, P_f^H) of this rank's k-th frequency, real at a self-twin bin."""
        matrix = self.operator.model_blocks[k].conj().T
        data = self._data_blocks[k].conj().T
        if self._real_bins[k]:
            return matrix.real, data.real
        return matrix, data

    def _start_solvers(self, state: SolverState) -> list:
        """Each frequency's solver, started from the state's g (collective)."""
        x = state.vectors["x"]
        # A fresh run starts from g = 0: no transform of it (norm is collective, as the
        # transform would be).
        g_blocks = None if x.norm() == 0.0 \
            else self.operator.domain_transform.to_frequency(x)
        # One scale for all frequencies: a frequency whose model block is weak next to the
        # strongest (the zero frequency of a Ricker wavelet) is truncated, not inverted.
        local = max((float(np.linalg.norm(block)) for block in self.operator.model_blocks),
                    default=0.0)
        scale = global_max(self.frequency_layout.mpi, local)
        solvers = []
        for k in range(self.frequency_layout.local_size):
            matrix, data = self._system(k)
            start = None if g_blocks is None else g_blocks[k].conj().T
            if start is not None and self._real_bins[k]:
                start = start.real
            solvers.append(frequency_solver(
                self.method, matrix, data, tolerance=self.deflation_tolerance,
                start=start, matrix_scale=scale))
        return solvers

    def _solvers(self, state: SolverState) -> list:
        if self._krylov is None or self._krylov[0] is not state:
            self._krylov = (state, self._start_solvers(state))
        return self._krylov[1]

    def _met_discrepancy(self, solvers) -> np.ndarray:
        if not self.frequency_discrepancy:
            return np.zeros(len(solvers), dtype=bool)
        return np.array([solver.residual_norm <= target
                         for solver, target in zip(solvers, self._targets)], dtype=bool)

    def _active(self, state: SolverState, solvers) -> np.ndarray:
        """Which of this rank's frequencies still iterate."""
        steps = state.vectors["frequency_iterations"].getArray(readonly=True)
        exhausted = np.array([solver.exhausted for solver in solvers], dtype=bool)
        active = ~exhausted & ~self._met_discrepancy(solvers)
        if not self.frequency_discrepancy:
            active &= steps < self.iterations
        return active

    def _record(self, state: SolverState, solvers) -> float:
        """Update the state's counts from ``solvers``; return the time-domain residual."""
        active = self._active(state, solvers)
        unmet = ~active & ~self._met_discrepancy(solvers)
        mpi = self.frequency_layout.mpi
        state.scalars["active_frequencies"] = mpi.allreduce(int(np.count_nonzero(active)))
        state.scalars["unmet_frequencies"] = mpi.allreduce(int(np.count_nonzero(unmet)))
        squares = np.array([solver.residual_norm ** 2 for solver in solvers], dtype=float)
        fitted = self._global_sum(self._weights * squares)
        return float(np.sqrt(fitted + self._out_of_band))

    # IterativeMethod -------------------------------------------------------------------------

    def initial_state(self) -> SolverState:
        x, _ = self.operator.create_vecs()
        ranks = self.frequency_layout.create_vec()
        state = SolverState(vectors={"x": x, "deflated_rank": ranks,
                                     "frequency_iterations": self.frequency_layout.create_vec()})
        solvers = self._solvers(state)
        ranks.getArray()[:] = [solver.rank for solver in solvers]
        state.scalars["residual_norm"] = self._record(state, solvers)
        return state

    def step(self, state: SolverState) -> float:
        solvers = self._solvers(state)
        active = self._active(state, solvers)
        steps = state.vectors["frequency_iterations"].getArray()
        for k in np.flatnonzero(active):
            if solvers[k].step():
                steps[k] += 1
        g_blocks = self.operator.domain_transform.create_blocks()
        for k, solver in enumerate(solvers):
            g_blocks[k] = solver.solution.conj().T
        self.operator.domain_transform.to_time(g_blocks, state.vectors["x"])
        return self._record(state, solvers)

    def history_columns(self, state: SolverState) -> dict:
        return {"active_frequencies": state.scalars["active_frequencies"]}

    def result_attributes(self, state: SolverState) -> dict:
        """Per frequency (all of them, in order): Hz, the rank of the data after the
        initial deflation (thesis Fig. 4.4), the block steps taken and ||P_f - G_f M_f||_F."""
        solvers = self._solvers(state)
        gather = self.frequency_layout.gather
        residuals = np.array([solver.residual_norm for solver in solvers], dtype=float)
        return {
            "method": self.method,
            "frequencies": [float(f) for f in self.operator.frequencies],
            "deflated_rank": gather(state.vectors["deflated_rank"].getArray(readonly=True))
            .astype(int).tolist(),
            "frequency_iterations": gather(
                state.vectors["frequency_iterations"].getArray(readonly=True))
            .astype(int).tolist(),
            "frequency_residual": gather(residuals).tolist(),
        }
