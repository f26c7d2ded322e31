"""The layered medium of Luiken's thesis, Example 5.2.1: g = R2+ known in (omega, xi).

Three horizontal layers with speeds (c0, c1, c2) for z in [z0, z1), [z1, z2), [z2, inf);
receivers (and virtual sources) at the redatuming level z = (z1 + z2) / 2, x_r = r dr; the
sources emit from the top interface z1, at the receiver positions ``mesh.source_receivers``
(the thesis' T1+ carries no propagation through layer 0).  With h1 = z2 - z1 and
k_i = sqrt((omega / c_i)^2 - xi^2):

    T1+ = 2 k0 / (k1 + k0) exp(-i k1 h1 / 2)     transmission into layer 1, down to z
    R1- = (k1 - k0) / (k1 + k0) exp(-i k1 h1)    up from z, reflected at z1, back to z
    R2+ = (k1 - k2) / (k1 + k2) exp(-i k1 h1)    down from z, reflected at z2, back to z
    g^ = R2+,   q^ = T1+ / (1 - R1- R2+),   p^ = g^ q^

Signs: numpy's transforms, F(omega) = int f(t) exp(-i omega t) dt (and the same in x with
xi), so exp(-i k h) is a delay; where k_i is imaginary (|xi| > omega / c_i, beyond the
critical angle) k_i = -i sqrt(xi^2 - (omega / c_i)^2), a wave that decays downwards.

Only propagating waves are kept: g^ where |xi| < omega / c1 (k1 real), q^ where also k0 is
real, |xi| < omega / max(c0, c1).  With (c0, c1, c2) = (1500, 1800, 2000) the two supports
are equal; with (1800, 1500, 2000) g^ reaches past q^'s and that part of g cannot be
recovered.  Each mask is tapered by cos^2 over the outer ``taper`` fraction of its
|xi| < omega / c band against the ringing a sharp cut gives along x.

Both spectra are multiplied by the mesh's Ricker wavelet and transformed to (t, x) by inverse
FFTs over xi and omega, scaled by 1 / (dt dr) so that the samples are those of the continuous
fields.  The transforms are periodic: in x over 2^k offsets, enough that the periodic images
arrive after the record, and in t over TIME_PADDING records, of which the first is kept, as a
survey records it.  p is then MDC(g, q) of these g and q over the survey's finite aperture
(circular in t, as the operator), which differs from p^ = g^ q^ of the infinite line near the
ends of the line.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from .mesh import SeismicMesh
from .synthetic import Survey, ricker_spectrum, sampled_from_spectrum

# (c0, c1, c2) m/s and (z0, z1, z2) m of Example 5.2.1 (Fig. 5.5 also uses (1800, 1500, 2000)).
THESIS_VELOCITIES = (1500.0, 1800.0, 2000.0)
THESIS_DEPTHS = (0.0, 500.0, 1000.0)
OFFSET_PADDING = 4
# The tables span this many records in time, so that the slowly decaying tails of the
# 2-D responses wrap around (the inverse FFT's periodicity) far from the record kept.
TIME_PADDING = 4


def vertical_wavenumber(omega, xi, velocity: float) -> np.ndarray:
    """k = sqrt((omega / c)^2 - xi^2), the branch -i sqrt(xi^2 - (omega / c)^2) where it is
    imaginary (omega >= 0)."""
    square = (np.asarray(omega, dtype=float) / velocity) ** 2 - np.asarray(xi, dtype=float) ** 2
    return np.where(square >= 0, np.sqrt(np.abs(square)), -1j * np.sqrt(np.abs(square)))


def layer_responses(omega, xi, velocities, depths) -> tuple:
    """(T1+, R1-, R2+) at (omega, xi) by Example 5.2.1's formulas (unmasked)."""
    k0, k1, k2 = (vertical_wavenumber(omega, xi, c) for c in velocities)
    h1 = depths[2] - depths[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        transmission = 2 * k0 / (k1 + k0) * np.exp(-0.5j * k1 * h1)
        reflection_above = (k1 - k0) / (k1 + k0) * np.exp(-1j * k1 * h1)
        reflection_below = (k1 - k2) / (k1 + k2) * np.exp(-1j * k1 * h1)
    return transmission, reflection_above, reflection_below


def propagating_taper(omega, xi, velocity: float, taper: float) -> np.ndarray:
    """1 for |xi| <= (1 - taper) omega / c, falling as cos^2 to 0 at |xi| = omega / c, 0
    beyond and at omega = 0."""
    omega, xi = np.broadcast_arrays(np.asarray(omega, dtype=float), np.asarray(xi, dtype=float))
    ratio = np.full(omega.shape, np.inf)
    np.divide(np.abs(xi) * velocity, omega, out=ratio, where=omega > 0)
    if taper == 0:
        return (ratio < 1).astype(float)
    ramp = np.clip((ratio - (1 - taper)) / taper, 0, 1)
    return np.where(ratio < 1, np.cos(0.5 * np.pi * ramp) ** 2, 0.0)


def layered_spectra(omega, xi, velocities, depths, taper: float) -> tuple:
    """(g^, q^) at (omega, xi): R2+ and T1+ / (1 - R1- R2+), each on its tapered propagating
    band (zero elsewhere)."""
    transmission, reflection_above, reflection_below = layer_responses(omega, xi, velocities,
                                                                       depths)
    g_mask = propagating_taper(omega, xi, velocities[1], taper)
    q_mask = propagating_taper(omega, xi, max(velocities[0], velocities[1]), taper)
    # At omega = 0 the formulas are 0 / 0; the masks are 0 there.
    with np.errstate(divide="ignore", invalid="ignore"):
        downgoing = transmission / (1 - reflection_above * reflection_below)
        return (np.where(g_mask > 0, reflection_below * g_mask, 0),
                np.where(q_mask > 0, downgoing * q_mask, 0))


class LayeredSurvey(Survey):
    """The mesh's acquisition over the three-layer medium.  The (t, offset) tables of g and q
    (``tables``: rows t_i = i dt for i < TIME_PADDING n_t, columns offsets m dr for m <
    ``offsets``, negative offsets from the end) are made once on every rank; a trace is the
    first n_t samples of a column."""

    def __init__(self, mesh: SeismicMesh, velocities=THESIS_VELOCITIES,
                 depths=THESIS_DEPTHS, taper: float = 0.1):
        super().__init__(mesh)
        self.offsets = lateral_points(mesh, max(velocities))
        self.padded_samples = TIME_PADDING * self.n_t
        self.frequencies = scipy.fft.rfftfreq(self.padded_samples, self.dt)
        self.wavenumbers = 2 * np.pi * scipy.fft.fftfreq(self.offsets, self.dr)
        wavelet = ricker_spectrum(self.frequencies, mesh.peak_frequency)[:, None]
        spectra = layered_spectra(2 * np.pi * self.frequencies[:, None],
                                  self.wavenumbers[None, :], tuple(velocities), tuple(depths),
                                  taper)
        # Inverse over xi (continuous: divide by dr), then over omega: time along the rows.
        self.tables = tuple(
            sampled_from_spectrum(scipy.fft.ifft(spectrum * wavelet, axis=1).T / self.dr,
                                  self.padded_samples, self.dt).T
            for spectrum in spectra)

    def _columns(self, table: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return table[:self.n_t, offsets % self.offsets].T.copy()

    def impulse_response(self, start: int, stop: int) -> np.ndarray:
        return self._columns(self.tables[0], self.impulse_response_offsets(start, stop))

    def downgoing(self, start: int, stop: int) -> np.ndarray:
        return self._columns(self.tables[1], self.downgoing_offsets(start, stop))


def lateral_points(mesh: SeismicMesh, fastest: float) -> int:
    """Offsets of the periodic (t, x) tables: a power of two, at least OFFSET_PADDING n_r,
    and long enough that the periodic images of the sources, at least the period away,
    arrive after the record even at the fastest speed."""
    needed = max(OFFSET_PADDING * mesh.receivers,
                 fastest * mesh.samples * mesh.interval / mesh.spacing)
    return 1 << int(np.ceil(np.log2(needed)))
