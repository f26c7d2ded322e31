"""Synthetic MDD data with a known impulse response g: hyperbolic events with a Ricker wavelet,
as in PyLops' MDD tutorial (the layered medium of the thesis is ``layered.py``).

Both kinds are a ``Survey``: the traces of g (n_t x n_r x n_v, trace r * n_v + v) and of q
(n_t x n_v x n_s, trace v * n_s + s) in any range of trace indices, so that every rank makes
only its own traces and the result does not depend on the number of ranks.  p is not made
here: the problem computes it as MDC(g, q) with the operator it inverts.

Conventions: receivers (and virtual sources) at x_r = r dr, source s at the receiver position
``mesh.source_receivers[s]``; time t_i = i dt with the record periodic in t (the operator's
circular convolution), so no event may reach past the end of the record: events that would
arrive later than n_t dt - WAVELET_REACH / f0 are left out.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import scipy.fft

from .mesh import Events, SeismicMesh

# Beyond 1.2 / f0 from its peak the Ricker wavelet has fallen below 1e-4 of its peak.
WAVELET_REACH = 1.2


def ricker_spectrum(frequencies: np.ndarray, peak_frequency: float) -> np.ndarray:
    """The continuous Fourier transform of the zero-phase Ricker wavelet of unit peak,
    (1 - 2 pi^2 f0^2 t^2) exp(-pi^2 f0^2 t^2): 2 f^2 / (sqrt(pi) f0^3) exp(-f^2 / f0^2)."""
    f, f0 = np.asarray(frequencies, dtype=float), float(peak_frequency)
    return 2 * f ** 2 / (np.sqrt(np.pi) * f0 ** 3) * np.exp(-(f / f0) ** 2)


def sampled_from_spectrum(spectrum: np.ndarray, n_t: int, dt: float) -> np.ndarray:
    """Samples f(i dt), i < n_t, of the n_t dt-periodic sum of a function's shifts, from its
    continuous Fourier transform at the rfft frequencies (last axis; Poisson summation:
    f(i dt) = 1 / (n_t dt) sum_k F(k / (n_t dt)) exp(2 pi i k i / n_t))."""
    return scipy.fft.irfft(spectrum / dt, n=n_t, axis=-1)


def event_traces(events: Events, offsets: np.ndarray, mesh: SeismicMesh) -> np.ndarray:
    """(offsets, n_t): per offset the sum of the events' Ricker wavelets at the arrival
    times sqrt(t0^2 + (offset / v)^2), shifted exactly (band-limited, in frequency)."""
    n_t, dt = mesh.samples, mesh.interval
    frequencies = scipy.fft.rfftfreq(n_t, dt)
    latest = n_t * dt - WAVELET_REACH / mesh.peak_frequency
    offsets = np.asarray(offsets, dtype=float)
    spectrum = np.zeros((offsets.size, frequencies.size), dtype=complex)
    for time, velocity, amplitude in zip(events.times, events.velocities, events.amplitudes):
        arrival = np.sqrt(time ** 2 + (offsets / velocity) ** 2)
        weight = np.where(arrival <= latest, amplitude, 0.0)
        spectrum += weight[:, None] * np.exp(-2j * np.pi * arrival[:, None] * frequencies)
    return sampled_from_spectrum(spectrum * ricker_spectrum(frequencies, mesh.peak_frequency),
                                 n_t, dt)


class Survey(ABC):
    """The geometry of a synthetic survey and the trace indexing of g and q."""

    def __init__(self, mesh: SeismicMesh):
        self.mesh = mesh
        self.n_t, self.dt, self.dr = mesh.samples, mesh.interval, mesh.spacing
        self.n_r = self.n_v = mesh.receivers
        self.n_s = mesh.sources

    def impulse_response_offsets(self, start: int, stop: int) -> np.ndarray:
        """Receiver minus virtual-source index of g's traces [start, stop)."""
        receiver, virtual = np.divmod(np.arange(start, stop), self.n_v)
        return receiver - virtual

    def downgoing_offsets(self, start: int, stop: int) -> np.ndarray:
        """Receiver minus source index (in receiver positions) of q's traces [start, stop)."""
        virtual, source = np.divmod(np.arange(start, stop), self.n_s)
        return virtual - self.mesh.source_receivers[source]

    @abstractmethod
    def impulse_response(self, start: int, stop: int) -> np.ndarray:
        """g's traces [start, stop) as a (stop - start, n_t) array."""

    @abstractmethod
    def downgoing(self, start: int, stop: int) -> np.ndarray:
        """q's traces [start, stop) as a (stop - start, n_t) array."""


class HyperbolicSurvey(Survey):
    """g: the mesh's [impulse_response] reflectors, hyperbolas about each virtual source;
    q: its [downgoing] direct arrival and multiple, hyperbolas about each source."""

    def impulse_response(self, start: int, stop: int) -> np.ndarray:
        return event_traces(self.mesh.impulse_response,
                            self.dr * self.impulse_response_offsets(start, stop), self.mesh)

    def downgoing(self, start: int, stop: int) -> np.ndarray:
        return event_traces(self.mesh.downgoing, self.dr * self.downgoing_offsets(start, stop),
                            self.mesh)
