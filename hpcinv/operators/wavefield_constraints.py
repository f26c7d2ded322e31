"""Causality and reciprocity of the impulse response g(t, r, v) of seismic redatuming.

Luiken's thesis (ch. 5, section 5.3) constrains g, an n_t x n_r x n_r array, by two linear
sets and imposes them through their orthogonal projectors P (right preconditioning, KKT)
or through the penalty L = I - P (quadratic penalty; ``solvers.constrained``'s
``ProjectionComplement``):

* causality: g[t, j, k] = 0 for t < tau[j, k], with symmetric onsets tau (in samples);
* reciprocity: g[t, j, k] = g[t, k, j], projector P_R g = (g + g^T) / 2 over (j, k).

Both together (the sets are consistent because tau is symmetric) give the thesis'

    (5.5)  P g[t, j, k] = (g[t, j, k] + g[t, k, j]) / 2   if t >= tau[j, k], else 0,
    (5.6)  L g[t, j, k] = (g[t, j, k] - g[t, k, j]) / 2   if t >= tau[j, k], else g[t, j, k].

The thesis counts samples from 1 and asks tau > 1; here they count from 0 and tau >= 0
(tau = 0: nothing of the trace is zeroed).

Onsets.  The thesis does not say how tau is chosen.  ``direct_arrival_onsets`` uses the
direct arrival between receivers j and k at the datum, |x_j - x_k| / velocity, minus a
safety margin (seconds) so that an event arriving slightly early (a zero-phase wavelet's
first half) is not cut.  That bounds g's arrivals only up to the critical offset: beyond
it a head wave along a faster layer below arrives before |x_j - x_k| / velocity (in the
thesis' layered medium, c2 = 2000 m/s beyond about 2.2 km), so give the fastest velocity
within reach, a larger margin, or onsets of one's own.  ``onsets_from_seconds`` turns a
user's (n_r, n_r) onset times into samples.

Taper.  A hard cut at tau rings in the frequency domain, where the data are compared.  With
``taper`` = m > 0 the causality mask becomes a sin^2 ramp over the m samples before each
onset (0 before tau - m, strictly between 0 and 1 on [tau - m, tau), 1 from tau on).  Then
P = W S (W the diagonal weights, S the symmetrization or I) is still self-adjoint with
spectrum in [0, 1], because W and S commute for symmetric tau, but it is no longer
idempotent: not a projector (``is_projector``), and the solvers' equivalences of the thesis
no longer hold exactly; taper = 0 gives the exact projector.

Distribution.  g is a ``TimeFrequencyTransform`` Vec with (n_a, n_b) = (n_r, n_r): every
rank owns whole traces (a, b) in PETSc's default split.  Causality is a local product with
this rank's precomputed weights.  Reciprocity needs trace (b, a), which usually lives on
another rank: a PETSc VecScatter, built once, delivers to a work Vec, at the place of each
local trace (a, b), the trace (b, a) from whichever rank owns it.  A scatter because the
pairing is a fixed permutation of whole traces: PETSc plans the messages once and then
moves only the traces whose partner is remote, point to point, each once per product, and
copies the local pairs in place; no rank ever holds all of g, unlike a gather or an
all-to-all of the whole field.
"""
from __future__ import annotations


import numpy as np

from ..core.errors import ArgumentError, check_count, check_number
from ..linalg.operator import Operator
from .frequency_blocks import TimeFrequencyTransform

# Sample indices come from quotients of times that are often exact multiples of dt in
# decimal but not in binary (0.3 / 0.1 = 2.9999999999999996): a small nudge keeps them.
_ROUNDING_NUDGE = 1e-9
_SYMMETRY_TOLERANCE = 1e-9


def _first_pair(mask: np.ndarray) -> tuple[int, int]:
    j, k = np.argwhere(mask)[0]
    return int(j), int(k)


def _asymmetry(values: np.ndarray, tolerance: float = 0.0) -> str | None:
    """Where ``values`` (square) differs from its transpose by more than ``tolerance``."""
    differs = np.abs(values - values.T) > tolerance
    if not differs.any():
        return None
    j, k = _first_pair(differs)
    return (f"not symmetric: entry ({j}, {k}) is {values[j, k]!r} but ({k}, {j}) is "
            f"{values[k, j]!r}")


def direct_arrival_onsets(n_r: int, dr: float, dt: float, velocity: float, *,
                          margin: float = 0.0) -> np.ndarray:
    """(n_r, n_r) int64 onset samples tau_jk = max(0, floor((|j - k| dr / velocity - margin)
    / dt + 1e-9)): the direct arrival between receivers j and k, ``dr`` apart per index,
    ``margin`` seconds early.  Symmetric with a zero diagonal."""
    n_r = check_count("n_r", n_r, 1)
    dr, dt = check_number("dr", dr, positive=True), check_number("dt", dt, positive=True)
    velocity = check_number("velocity", velocity, positive=True)
    margin = check_number("margin", margin)
    receivers = np.arange(n_r)
    distance = np.abs(receivers[:, None] - receivers[None, :]) * dr
    samples = np.floor((distance / velocity - margin) / dt + _ROUNDING_NUDGE)
    return np.maximum(samples, 0).astype(np.int64)


def onsets_from_seconds(seconds, dt: float, n_r: int) -> np.ndarray:
    """A user's (n_r, n_r) array of onset times in seconds as int64 samples
    floor(s / dt + 1e-9).

    The times must be finite, >= 0 and symmetric up to 1e-9 max(1, max |s|); within that
    tolerance the earlier of s[j, k] and s[k, j] is used for both, so that the samples are
    exactly symmetric (the reciprocity projector needs that)."""
    dt, n_r = check_number("dt", dt, positive=True), check_count("n_r", n_r, 1)
    try:
        seconds = np.array(seconds, dtype=float)
    except (TypeError, ValueError) as error:
        raise ArgumentError("onsets", f"must be an array of shape ({n_r}, {n_r}) of times in "
                                      f"seconds: {error}") from None
    if seconds.shape != (n_r, n_r):
        raise ArgumentError("onsets", f"expected times in seconds of shape ({n_r}, {n_r}), "
                                      f"got shape {seconds.shape}")
    not_finite = ~np.isfinite(seconds)
    if not_finite.any():
        j, k = _first_pair(not_finite)
        raise ArgumentError("onsets", f"must be finite, entry ({j}, {k}) is {seconds[j, k]!r}")
    negative = seconds < 0
    if negative.any():
        j, k = _first_pair(negative)
        raise ArgumentError("onsets", f"must be >= 0 seconds, entry ({j}, {k}) is "
                                      f"{seconds[j, k]!r}")
    tolerance = _SYMMETRY_TOLERANCE * max(1.0, float(np.abs(seconds).max()))
    problem = _asymmetry(seconds, tolerance)
    if problem is not None:
        raise ArgumentError("onsets", f"{problem} (tolerance {tolerance:g} s); onset times "
                                      f"between two receivers do not depend on the direction")
    earlier = np.minimum(seconds, seconds.T)
    return np.floor(earlier / dt + _ROUNDING_NUDGE).astype(np.int64)


def _onsets_problem(onsets, n_r: int, reciprocity: bool) -> str | None:
    """Why ``onsets`` cannot be the causality onsets in samples, or None when they can."""
    onsets = np.asarray(onsets)
    if onsets.shape != (n_r, n_r):
        return f"expected samples of shape ({n_r}, {n_r}), got shape {onsets.shape}"
    if onsets.dtype.kind not in "iu":
        return (f"must be integer samples, got dtype {onsets.dtype} (onsets_from_seconds "
                f"converts times in seconds)")
    if (onsets < 0).any():
        j, k = _first_pair(onsets < 0)
        return f"must be >= 0 samples, entry ({j}, {k}) is {onsets[j, k]}"
    if reciprocity:
        problem = _asymmetry(onsets)
        if problem is not None:
            return (f"{problem}; with reciprocity the onsets must be symmetric, else the "
                    f"constraints are inconsistent and P is not an orthogonal projector")
    return None


def _causality_weights(onsets: np.ndarray, traces: np.ndarray, n_t: int,
                       taper: int) -> np.ndarray:
    """(len(traces), n_t) weights: 0 before tau - taper, a sin^2 ramp strictly between 0
    and 1 on [tau - taper, tau), 1 from tau on (tau the onset of each trace)."""
    tau = onsets.ravel()[traces][:, None]
    time = np.arange(n_t)[None, :]
    if taper == 0:
        return (time >= tau).astype(float)
    # The ramp's argument steps by 1 / (taper + 1) from just above 0 to just below 1, so
    # every tapered sample is strictly inside (0, 1); the clip gives exact zeros before.
    phase = np.clip((time - tau + taper + 1) / (taper + 1), 0.0, 1.0)
    weights = np.sin(0.5 * np.pi * phase) ** 2
    weights[time >= tau] = 1.0
    return weights


class ConstraintProjection(Operator):
    """P: the orthogonal projection of g onto the causal (g[t, a, b] = 0 for t < tau[a, b])
    and/or reciprocal (g[t, a, b] = g[t, b, a]) impulse responses; symmetric
    (``mult_transpose`` = ``mult``).

    ``transform``: the ``TimeFrequencyTransform`` of g, n_a = n_b = n_r.  ``onsets``: None
    (no causality) or (n_r, n_r) integer samples >= 0, the same on every rank, symmetric when
    ``reciprocity`` is on (onsets >= n_t zero the whole trace).  ``taper``: samples of a sin^2
    ramp before each onset; with taper > 0 the operator is W S, self-adjoint with 0 <= W <= 1
    but not idempotent (module docstring).  Collective (construction and products).
    """

    symmetric = True

    def __init__(self, transform, *, onsets=None, reciprocity: bool = False, taper: int = 0):
        if not isinstance(transform, TimeFrequencyTransform):
            raise ArgumentError("transform", f"expected a TimeFrequencyTransform, got "
                                             f"{type(transform).__name__}")
        if transform.n_a != transform.n_b:
            raise ArgumentError("transform", f"g is n_t x n_r x n_r: needs n_a = n_b, got "
                                             f"n_a = {transform.n_a}, n_b = {transform.n_b}")
        if not isinstance(reciprocity, (bool, np.bool_)):
            raise ArgumentError("reciprocity", f"must be True or False, got {reciprocity!r}")
        taper = check_count("taper", taper, 0)
        if onsets is None and not reciprocity:
            raise ArgumentError("onsets", "nothing to constrain: give onsets (causality), "
                                          "reciprocity=True, or both")
        layout = transform.trace_layout
        n_r, n_t = transform.n_a, transform.n_t
        if onsets is not None:
            problem = _onsets_problem(onsets, n_r, bool(reciprocity))
            # Decided together: a rank raising alone would leave the others in a
            # collective, and onsets differing between ranks would break the symmetry of P.
            if layout.mpi.size > 1:
                reference = layout.mpi.bcast(np.asarray(onsets), root=0)
                if problem is None and not np.array_equal(reference, onsets):
                    problem = "differ between ranks: every rank must pass the same onsets"
            problems = [each for each in layout.mpi.allgather(problem) if each is not None]
            if problems:
                raise ArgumentError("onsets", problems[0])
            onsets = np.array(onsets, dtype=np.int64)
        super().__init__(transform.vec_layout, transform.vec_layout)
        self.transform, self.onsets = transform, onsets
        self.reciprocity, self.taper = bool(reciprocity), taper
        self._trace_shape = (layout.local_size, n_t)
        local_traces = np.arange(layout.start, layout.stop)
        self._weights = (None if onsets is None
                         else _causality_weights(onsets, local_traces, n_t, taper))
        # One factor per sample: the causality weights, halved when the symmetrization
        # (x + x^T) precedes them; a scalar when no causality is imposed.
        half = 0.5 if self.reciprocity else 1.0
        self._factors = half if onsets is None else half * self._weights
        self._transposed = self._scatter = None
        if self.reciprocity:
            self._transposed = transform.create_vec()
            self._scatter = self._transpose_scatter(transform, local_traces)

    def _transpose_scatter(self, transform, local_traces: np.ndarray):
        """The scatter putting trace (b, a) of a Vec at the place of trace (a, b) of
        another."""
        from petsc4py import PETSc

        n_r, comm = transform.n_a, transform.trace_layout.comm
        receivers, sources = np.divmod(local_traces, n_r)
        partners = (sources * n_r + receivers).astype(PETSc.IntType)
        index_from = PETSc.IS().createBlock(transform.n_t, partners, comm=comm)
        index_to = PETSc.IS().createBlock(transform.n_t, local_traces.astype(PETSc.IntType),
                                          comm=comm)
        scatter = PETSc.Scatter().create(self._transposed, index_from, self._transposed,
                                         index_to)
        index_from.destroy()
        index_to.destroy()
        return scatter

    @property
    def is_projector(self) -> bool:
        """Whether P is idempotent (an orthogonal projector): no taper, or no causality."""
        return self.taper == 0 or self.onsets is None

    def weights(self) -> np.ndarray:
        """This rank's causality weights, (local traces, n_t); ones without causality."""
        if self._weights is None:
            return np.ones(self._trace_shape)
        return self._weights.copy()

    def mult(self, x, y) -> None:
        from petsc4py import PETSc

        # Read and written through numpy views, elementwise, so y may be x.
        source = x.getArray(readonly=True)
        if self._scatter is not None:
            self._scatter.scatter(x, self._transposed, addv=PETSc.InsertMode.INSERT_VALUES,
                                  mode=PETSc.ScatterMode.FORWARD)
            target = y.getArray()
            np.add(source, self._transposed.getArray(readonly=True), out=target)
            source = target
        else:
            target = y.getArray()
        np.multiply(source.reshape(self._trace_shape), self._factors,
                    out=target.reshape(self._trace_shape))

    def mult_transpose(self, y, x) -> None:
        self.mult(y, x)
