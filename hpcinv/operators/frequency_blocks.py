"""Multidimensional convolution (seismic MDD) as frequency blocks split across ranks.

The model g (n_t x n_r x n_v), the known down-going field q (n_t x n_v x n_s) and the data
p (n_t x n_r x n_s) are gathers of traces.  A time-domain Vec holds the n_a x n_b traces of
such a gather trace-major, entry ((a * n_b) + b) * n_t + t, and every rank owns whole traces
(PETSc's default split of the traces).  The convolution

    p(t, r, s) = dt * dr * sum_{t', v} g(t - t', r, v) q(t', v, s)

is circular in t (the block-circulant assumption of Luiken's thesis, ch. 4: users pad their
traces), so the real FFT over t turns it into one independent product P_f = G_f (dt dr Q_f)
per frequency f, a complex n_r x n_v times n_v x n_s block product.  The frequencies are
split across ranks by a second layout; each rank holds the blocks of its own frequencies.

One product costs one rfft of this rank's traces, one Alltoallv from the trace layout to the
frequency layout, one batched zgemm (numpy matmul on the stacked (n_f_local, ...) blocks),
one Alltoallv back and one irfft.  No rank ever holds all of g, q or p: the only
communication is the two all-to-alls, each moving every rank's share once.

A ``max_frequency`` keeps only the first n_f bins (the others are zero in the products), as
PyLops' ``nfmax``.  The transpose (for the real inner products of the time-domain Vecs) is the
same pipeline with the conjugate-transposed blocks P_f -> P_f (dt dr Q_f)^H.  Why no weights
appear: irfft counts each bin k with a conjugate twin (0 < k < n_t / 2) twice and divides by
n_t, so its transpose is rfft times w_k / n_t (w_k = 2 there, 1 at 0 and at Nyquist); the
transpose of rfft restricted to the kept bins is n_t times irfft of the bins divided by the
same w_k.  The factors cancel for every bin, for odd and even n_t and any n_f.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from ..core.errors import ArgumentError, check_number
from ..linalg.layout import Layout
from ..linalg.operator import Operator

# One rank per core: the FFTs run on the calling thread only.
_FFT_WORKERS = 1


def _positive_int(argument: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ArgumentError(argument, f"must be a positive integer, got {value!r}")
    return int(value)


class _TraceFrequencyExchange:
    """The all-to-all between the spectra of this rank's traces, frequency-major
    (n_f, local traces), and the blocks of this rank's frequencies (local frequencies, all
    traces).

    The trace side is sent and received in place: rank r's frequencies are consecutive rows.
    The frequency side goes through one preallocated buffer holding, source rank after source
    rank, (local frequencies, that rank's traces), copied from or to the columns of the
    blocks."""

    def __init__(self, trace_layout: Layout, frequency_layout: Layout):
        local_traces, local_frequencies = trace_layout.local_size, frequency_layout.local_size
        self._trace_counts = np.array(frequency_layout.counts, dtype=np.int64) * local_traces
        self._trace_offsets = np.cumsum(self._trace_counts) - self._trace_counts
        self._frequency_counts = np.array(trace_layout.counts, dtype=np.int64) * local_frequencies
        self._frequency_offsets = np.cumsum(self._frequency_counts) - self._frequency_counts
        self._frequency_side = np.empty(trace_layout.size * local_frequencies, dtype=complex)
        trace_starts = np.cumsum(trace_layout.counts) - trace_layout.counts
        self._frequency_blocks = [
            (slice(start, start + count),
             self._frequency_side[offset:offset + local_frequencies * count].reshape(
                 local_frequencies, count))
            for start, count, offset in zip(trace_starts, trace_layout.counts,
                                            self._frequency_offsets)]
        self._mpi = trace_layout.mpi
        # mpi4py initialises MPI on import: only once a communicator exists.
        from mpi4py import MPI

        self._complex = MPI.DOUBLE_COMPLEX

    def to_frequencies(self, spectra: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out`` (local frequencies, all traces) from ``spectra``, C-contiguous (>= n_f,
        local traces), the first n_f rows used."""
        self._mpi.Alltoallv(
            [spectra, self._trace_counts, self._trace_offsets, self._complex],
            [self._frequency_side, self._frequency_counts, self._frequency_offsets, self._complex])
        for traces, block in self._frequency_blocks:
            out[:, traces] = block
        return out

    def to_traces(self, blocks: np.ndarray, spectra: np.ndarray) -> np.ndarray:
        """The first n_f rows of ``spectra``, C-contiguous (>= n_f, local traces), from
        ``blocks`` (local frequencies, all traces); the other rows are left as they are."""
        for traces, block in self._frequency_blocks:
            block[...] = blocks[:, traces]
        self._mpi.Alltoallv(
            [self._frequency_side, self._frequency_counts, self._frequency_offsets, self._complex],
            [spectra, self._trace_counts, self._trace_offsets, self._complex])
        return spectra


class TimeFrequencyTransform:
    """Between a real time-domain PETSc Vec of n_a x n_b traces of n_t samples and complex
    frequency blocks.  Vec order is trace-major: entry ((a * n_b) + b) * n_t + t; every rank
    owns whole traces, in PETSc's default split of the n_a * n_b traces
    (``trace_layout = Layout.default(comm, n_a * n_b)``; the Vec's layout is its counts * n_t).
    Frequencies: the first n_f bins of the real FFT over t (n_f <= n_t // 2 + 1), split over
    the ranks by ``frequency_layout = Layout.default(comm, n_f)``; blocks are numpy complex128
    arrays (frequency_layout.local_size, n_a, n_b) for this rank's frequencies.

    ``to_time`` inverts ``to_frequency`` when n_f = n_t // 2 + 1; with fewer bins it is the
    inverse after zeroing the others.  Collective: every rank calls the transforms together.
    """

    def __init__(self, comm, n_a: int, n_b: int, n_t: int, n_f: int):
        self.n_a, self.n_b = _positive_int("n_a", n_a), _positive_int("n_b", n_b)
        self.n_t, n_f = _positive_int("n_t", n_t), _positive_int("n_f", n_f)
        self.n_bins = self.n_t // 2 + 1
        if n_f > self.n_bins:
            raise ArgumentError("n_f", f"the real FFT of {self.n_t} samples has "
                                       f"{self.n_bins} bins, asked for {n_f}")
        self.n_f = n_f
        self.trace_layout = Layout.default(comm, self.n_a * self.n_b)
        self.vec_layout = self.trace_layout.rows_of(self.n_t)
        self.frequency_layout = Layout.default(comm, self.n_f)
        self.block_shape = (self.frequency_layout.local_size, self.n_a, self.n_b)
        self._exchange = _TraceFrequencyExchange(self.trace_layout, self.frequency_layout)
        # irfft's input, frequency-major as the all-to-all delivers it: the bins from n_f up
        # stay zero.
        self._spectra = np.zeros((self.n_bins, self.trace_layout.local_size), dtype=complex)

    def create_vec(self):
        """A zeroed Vec of this layout."""
        return self.vec_layout.create_vec()

    def create_blocks(self) -> np.ndarray:
        """Zeroed frequency blocks of this rank."""
        return np.zeros(self.block_shape, dtype=complex)

    def local_traces(self, whole: np.ndarray) -> np.ndarray:
        """This rank's traces (local traces, n_t) of an (n_t, n_a, n_b) array every rank
        holds."""
        whole = np.asarray(whole)
        if whole.shape != (self.n_t, self.n_a, self.n_b):
            raise ArgumentError("whole", f"expected shape {(self.n_t, self.n_a, self.n_b)}, "
                                         f"got {whole.shape}")
        traces = whole.reshape(self.n_t, self.n_a * self.n_b).T
        return np.ascontiguousarray(self.trace_layout.local_part(traces), dtype=float)

    def vec_from_array(self, whole: np.ndarray, vec=None):
        """A Vec (``vec`` when given) holding an (n_t, n_a, n_b) array every rank holds."""
        vec = vec if vec is not None else self.create_vec()
        vec.getArray()[:] = self.local_traces(whole).ravel()
        return vec

    def gather_array(self, vec) -> np.ndarray:
        """The whole (n_t, n_a, n_b) array of a Vec of this layout, on every rank
        (collective)."""
        traces = self.trace_layout.gather(
            vec.getArray(readonly=True).reshape(self.trace_layout.local_size, self.n_t))
        return traces.T.reshape(self.n_t, self.n_a, self.n_b)

    def to_frequency(self, vec, out: np.ndarray | None = None) -> np.ndarray:
        """The frequency blocks of a Vec of this layout (into ``out`` when given)."""
        traces = vec.getArray(readonly=True).reshape(self.trace_layout.local_size, self.n_t)
        return self.traces_to_frequency(traces, out)

    def traces_to_frequency(self, traces: np.ndarray, out: np.ndarray | None = None):
        """As ``to_frequency`` for this rank's traces as a (local traces, n_t) real array."""
        traces = np.asarray(traces, dtype=float)
        expected = (self.trace_layout.local_size, self.n_t)
        if traces.shape != expected:
            raise ArgumentError("traces", f"expected this rank's traces, shape {expected}, "
                                          f"got {traces.shape}")
        if out is None:
            out = np.empty(self.block_shape, dtype=complex)
        elif (out.shape != self.block_shape or out.dtype != complex
              or not out.flags.c_contiguous):
            raise ArgumentError("out", f"expected C-contiguous complex128 blocks of shape "
                                       f"{self.block_shape}, got {out.dtype} {out.shape}")
        # The FFT of the transposed view writes the spectra frequency-major, the order the
        # all-to-all sends, so no separate transpose pass is needed.
        spectra = scipy.fft.rfft(traces.T, axis=0, workers=_FFT_WORKERS)
        flat = out.reshape(self.frequency_layout.local_size, self.n_a * self.n_b)
        self._exchange.to_frequencies(spectra, flat)
        return out

    def to_time(self, blocks: np.ndarray, vec=None):
        """The Vec (``vec`` when given) whose first n_f bins are ``blocks``, the others zero."""
        if np.shape(blocks) != self.block_shape:
            raise ArgumentError("blocks", f"expected this rank's blocks, shape "
                                          f"{self.block_shape}, got {np.shape(blocks)}")
        flat = np.reshape(blocks, (self.frequency_layout.local_size, self.n_a * self.n_b))
        self._exchange.to_traces(flat, self._spectra)
        traces = scipy.fft.irfft(self._spectra.T, n=self.n_t, axis=1, workers=_FFT_WORKERS)
        vec = vec if vec is not None else self.create_vec()
        vec.getArray()[:] = traces.ravel()
        return vec


def _kept_bins(n_t: int, dt: float, max_frequency: float | None) -> int:
    """The number of rfft bins of n_t samples at interval dt with frequency <= max_frequency
    (all of them for None)."""
    frequencies = scipy.fft.rfftfreq(n_t, dt)
    if max_frequency is None:
        return frequencies.size
    # A bin exactly at max_frequency is kept even when k / (n_t dt) rounds a little above it.
    return int(np.count_nonzero(frequencies <= max_frequency * (1 + 1e-12)))


class MultiDimensionalConvolution(Operator):
    """p = MDC(g; q).  Domain: g as a ``TimeFrequencyTransform`` Vec with (n_a, n_b) =
    (n_r, n_v); range: p with (n_a, n_b) = (n_r, n_s).

    ``q_traces`` is this rank's traces of q in the trace layout of (n_a, n_b) = (n_v, n_s): a
    real (local traces, n_t) array; the constructor turns them into the model blocks with the
    same all-to-all (no rank ever holds all of q).  ``max_frequency`` in Hz (None: Nyquist)
    keeps the n_f bins with frequency <= max_frequency.  ``model_blocks[k]`` is dt dr Q_f for
    this rank's k-th frequency, so that P_f = G_f @ model_blocks[k].
    """

    def __init__(self, comm, q_traces, *, n_r: int, n_v: int, n_s: int, n_t: int,
                 dt: float = 1.0, dr: float = 1.0, max_frequency: float | None = None):
        n_r, n_v = _positive_int("n_r", n_r), _positive_int("n_v", n_v)
        n_s, n_t = _positive_int("n_s", n_s), _positive_int("n_t", n_t)
        self.dt, self.dr = check_number("dt", dt, positive=True), check_number("dr", dr, positive=True)
        if max_frequency is not None:
            max_frequency = check_number("max_frequency", max_frequency, positive=True)
        n_f = _kept_bins(n_t, self.dt, max_frequency)
        self.frequencies = scipy.fft.rfftfreq(n_t, self.dt)[:n_f]
        self.domain_transform = TimeFrequencyTransform(comm, n_r, n_v, n_t, n_f)
        self.range_transform = TimeFrequencyTransform(comm, n_r, n_s, n_t, n_f)
        model_transform = TimeFrequencyTransform(comm, n_v, n_s, n_t, n_f)
        q_traces = np.asarray(q_traces)
        expected = (model_transform.trace_layout.local_size, n_t)
        # Checked on every rank together: a rank that raised alone would leave the others in
        # the all-to-all.
        wrong = q_traces.shape != expected or not np.all(np.isfinite(q_traces))
        if any(comm.tompi4py().allgather(wrong)):
            raise ArgumentError("q_traces", f"expected this rank's finite traces of q, shape "
                                            f"{expected} on this rank, got {q_traces.shape} "
                                            f"(or non-finite values) on some rank")
        self.model_blocks = model_transform.traces_to_frequency(q_traces)
        self.model_blocks *= self.dt * self.dr
        super().__init__(self.range_transform.vec_layout, self.domain_transform.vec_layout)
        self._domain_blocks = self.domain_transform.create_blocks()
        self._range_blocks = self.range_transform.create_blocks()

    @classmethod
    def from_array(cls, comm, q, **keys) -> "MultiDimensionalConvolution":
        """The operator of q, an (n_t, n_v, n_s) array every rank holds (tests, small data);
        n_t, n_v and n_s come from its shape (and must match when also given)."""
        q = np.asarray(q, dtype=float)
        if q.ndim != 3:
            raise ArgumentError("q", f"expected an (n_t, n_v, n_s) array, got shape {q.shape}")
        sizes = dict(zip(("n_t", "n_v", "n_s"), q.shape))
        for name, size in sizes.items():
            if keys.get(name, size) != size:
                raise ArgumentError("q", f"its shape {q.shape} (n_t, n_v, n_s) disagrees with "
                                         f"{name} = {keys[name]}")
        keys.update(sizes)
        traces = q.reshape(q.shape[0], q.shape[1] * q.shape[2]).T
        return cls(comm, Layout.default(comm, traces.shape[0]).local_part(traces), **keys)

    def mult(self, g, p) -> None:
        blocks = self.domain_transform.to_frequency(g, out=self._domain_blocks)
        np.matmul(blocks, self.model_blocks, out=self._range_blocks)
        self.range_transform.to_time(self._range_blocks, p)

    def mult_transpose(self, p, g) -> None:
        # G'_f = P_f M_f^H, computed as conj(conj(P_f) M_f^T) so that no conjugate copy of
        # the model blocks is kept: M_f^T is a view BLAS reads transposed.
        blocks = self.range_transform.to_frequency(p, out=self._range_blocks)
        np.conjugate(blocks, out=blocks)
        np.matmul(blocks, self.model_blocks.transpose(0, 2, 1), out=self._domain_blocks)
        np.conjugate(self._domain_blocks, out=self._domain_blocks)
        self.domain_transform.to_time(self._domain_blocks, g)
