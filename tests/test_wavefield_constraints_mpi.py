"""Causality and reciprocity of redatuming's impulse response on 1 and 2 ranks: agreement with
numpy references of thesis (5.5)/(5.6), projector properties, the taper, onsets, bad
arguments and rank-count independence.

The sizes give n_r * n_r traces that do not split evenly on 2 ranks (25 -> 13 + 12, 9 -> 5 +
4), so pairs (a, b), (b, a) such as (0, 4) / (4, 0) sit on different ranks and the
transposing scatter moves data between them."""
import numpy as np
import pytest
import scipy.linalg

from hpcinv.core.errors import ArgumentError
from hpcinv.core.petsc_env import initialize
from hpcinv.operators import TimeFrequencyTransform
from hpcinv.operators.wavefield_constraints import (ConstraintProjection,
                                                    direct_arrival_onsets, onsets_from_seconds)
from hpcinv.solvers.constrained import ProjectionComplement

PETSc = initialize()
COMM = PETSc.COMM_WORLD

SIZES = [(5, 7), (3, 8)]   # (n_r, n_t)
CONSTRAINTS = [(True, False), (False, True), (True, True)]   # (causality, reciprocity)


def _transform(n_r, n_t, comm=COMM):
    return TimeFrequencyTransform(comm, n_r, n_r, n_t, n_t // 2 + 1)


def _field(n_t, n_r, seed=0):
    """A random g (n_t, n_r, n_r), the same on every rank."""
    return np.random.default_rng(seed).standard_normal((n_t, n_r, n_r))


def _onsets(n_r, n_t, seed=0):
    """Random symmetric onsets in samples with a zero, one past n_t (a whole trace zeroed)
    and the others anywhere in [0, n_t]."""
    upper = np.triu(np.random.default_rng(seed).integers(0, n_t + 1, (n_r, n_r)))
    onsets = upper + np.triu(upper, 1).T
    onsets[0, 0] = 0
    onsets[0, -1] = onsets[-1, 0] = n_t + 2
    return onsets


def _causal(onsets, n_t):
    """The (n_t, n_r, n_r) mask of the samples t >= tau[a, b]."""
    return np.arange(n_t)[:, None, None] >= onsets[None, :, :]


def _transposed(g):
    return g.transpose(0, 2, 1)


def _operators(n_r, n_t, causality, reciprocity, taper=0, comm=COMM):
    transform = _transform(n_r, n_t, comm)
    onsets = _onsets(n_r, n_t) if causality else None
    projection = ConstraintProjection(transform, onsets=onsets, reciprocity=reciprocity,
                                      taper=taper)
    return transform, projection, ProjectionComplement(projection)


def _apply(operator, transform, g):
    """operator(g) for g an (n_t, n_r, n_r) array, gathered on every rank."""
    x = transform.vec_from_array(g)
    y = transform.create_vec()
    operator.mult(x, y)
    return transform.gather_array(y)


@pytest.mark.mpi
@pytest.mark.parametrize("n_r, n_t", SIZES)
def test_causality_zeros_exactly_the_samples_before_the_onsets(n_r, n_t):
    transform, g, onsets = _transform(n_r, n_t), _field(n_t, n_r), _onsets(n_r, n_t)
    projected = _apply(ConstraintProjection(transform, onsets=onsets), transform, g)
    kept = _causal(onsets, n_t)
    assert kept.any() and not kept.all()
    assert np.all(projected[~kept] == 0.0)
    assert projected[kept].tobytes() == g[kept].tobytes()


@pytest.mark.mpi
def test_causality_alone_takes_onsets_that_are_not_symmetric():
    n_r, n_t = 3, 8
    onsets = np.array([[0, 2, 9], [5, 1, 3], [0, 4, 7]])
    transform, g = _transform(n_r, n_t), _field(n_t, n_r, seed=1)
    projected = _apply(ConstraintProjection(transform, onsets=onsets), transform, g)
    np.testing.assert_array_equal(projected, np.where(_causal(onsets, n_t), g, 0.0))


@pytest.mark.mpi
@pytest.mark.parametrize("n_r, n_t", SIZES)
def test_reciprocity_is_the_symmetric_part(n_r, n_t):
    transform, g = _transform(n_r, n_t), _field(n_t, n_r, seed=2)
    projected = _apply(ConstraintProjection(transform, reciprocity=True), transform, g)
    np.testing.assert_array_equal(projected, (g + _transposed(g)) / 2)


@pytest.mark.mpi
@pytest.mark.parametrize("n_r, n_t", SIZES)
def test_both_constraints_are_thesis_5_5_and_the_penalty_5_6(n_r, n_t):
    transform, projection, penalty = _operators(n_r, n_t, True, True)
    g = _field(n_t, n_r, seed=3)
    kept = _causal(projection.onsets, n_t)
    np.testing.assert_array_equal(_apply(projection, transform, g),
                                  np.where(kept, (g + _transposed(g)) / 2, 0.0))
    # I - P rounds differently from the thesis' (g - g^T) / 2, by an ulp or so.
    np.testing.assert_allclose(_apply(penalty, transform, g),
                               np.where(kept, (g - _transposed(g)) / 2, g), rtol=0, atol=1e-14)


@pytest.mark.mpi
@pytest.mark.parametrize("n_r, n_t", SIZES)
@pytest.mark.parametrize("causality, reciprocity", CONSTRAINTS)
def test_the_projection_is_an_orthogonal_projector(n_r, n_t, causality, reciprocity):
    transform, projection, penalty = _operators(n_r, n_t, causality, reciprocity)
    assert projection.is_projector
    assert projection.symmetric and penalty.symmetric
    x = transform.vec_from_array(_field(n_t, n_r, seed=4))
    y = transform.vec_from_array(_field(n_t, n_r, seed=5))
    px, ppx, lx, lpx, py, ly = (transform.create_vec() for _ in range(6))
    projection.mult(x, px)
    projection.mult(px, ppx)
    penalty.mult(x, lx)
    penalty.mult(px, lpx)
    projection.mult(y, py)
    penalty.mult(y, ly)
    scale = x.norm() * y.norm()
    np.testing.assert_allclose(ppx.getArray(), px.getArray(), rtol=0, atol=1e-14)
    assert lpx.norm() <= 1e-14 * x.norm()
    np.testing.assert_allclose(lx.getArray() + px.getArray(), x.getArray(), rtol=0, atol=1e-14)
    assert abs(px.dot(y) - x.dot(py)) <= 1e-14 * scale
    assert abs(lx.dot(y) - x.dot(ly)) <= 1e-14 * scale
    # The Mats KSP, TAO and SLEPc see, both ways, and a product in place.
    for operator, expected in ((projection, px), (penalty, lx)):
        mat, result = operator.as_petsc_mat(), transform.create_vec()
        mat.mult(x, result)
        np.testing.assert_array_equal(result.getArray(), expected.getArray())
        mat.multTranspose(x, result)
        np.testing.assert_array_equal(result.getArray(), expected.getArray())
        in_place = x.copy()
        operator.mult(in_place, in_place)
        np.testing.assert_array_equal(in_place.getArray(), expected.getArray())


@pytest.mark.mpi
@pytest.mark.parametrize("reciprocity", [False, True])
def test_a_taper_ramps_the_weights_and_keeps_p_self_adjoint(reciprocity):
    n_r, n_t, taper = 5, 12, 3
    transform = _transform(n_r, n_t)
    onsets = _onsets(n_r, n_t, seed=6)
    onsets[1, 2] = onsets[2, 1] = 7   # a whole ramp inside the trace
    onsets[1, 3] = onsets[3, 1] = 1   # a ramp cut at t = 0
    projection = ConstraintProjection(transform, onsets=onsets, reciprocity=reciprocity,
                                      taper=taper)
    penalty = ProjectionComplement(projection)
    assert not projection.is_projector
    weights = transform.trace_layout.gather(projection.weights())
    assert weights.shape == (n_r * n_r, n_t)
    for trace, row in enumerate(weights):
        onset = onsets.flat[trace]
        ramp_start = max(onset - taper, 0)
        assert np.all(row[:ramp_start] == 0.0) and np.all(row[onset:] == 1.0)
        ramp = row[ramp_start:onset]
        assert np.all((ramp > 0.0) & (ramp < 1.0)) and np.all(np.diff(ramp) > 0)
    assert np.count_nonzero((weights > 0) & (weights < 1)) >= taper + 1

    g = _field(n_t, n_r, seed=7)
    symmetrized = (g + _transposed(g)) / 2 if reciprocity else g
    np.testing.assert_allclose(_apply(projection, transform, g),
                               weights.T.reshape(n_t, n_r, n_r) * symmetrized, rtol=0,
                               atol=1e-14)
    x = transform.vec_from_array(g)
    y = transform.vec_from_array(_field(n_t, n_r, seed=8))
    px, ppx, py, lx = (transform.create_vec() for _ in range(4))
    projection.mult(x, px)
    projection.mult(px, ppx)
    projection.mult(y, py)
    penalty.mult(x, lx)
    assert abs(px.dot(y) - x.dot(py)) <= 1e-14 * x.norm() * y.norm()
    assert 0.0 <= px.dot(x) <= x.dot(x)
    assert (ppx - px).norm() > 1e-3 * px.norm()   # W^2 != W on the ramps
    np.testing.assert_allclose(lx.getArray() + px.getArray(), x.getArray(), rtol=0, atol=1e-14)


@pytest.mark.mpi
def test_the_weights_without_causality_are_ones():
    projection = ConstraintProjection(_transform(3, 8), reciprocity=True, taper=2)
    assert projection.is_projector
    np.testing.assert_array_equal(projection.weights(),
                                  np.ones((projection.transform.trace_layout.local_size, 8)))


def test_direct_arrival_onsets_by_hand():
    # 10 m at 1000 m/s is 2.5 samples of 4 ms per receiver step.
    by_hand = {0.0: [0, 2, 5, 7], 0.005: [0, 1, 3, 6], 0.025: [0, 0, 0, 1], 1.0: [0, 0, 0, 0]}
    for margin, first_row in by_hand.items():
        onsets = direct_arrival_onsets(4, 10.0, 0.004, 1000.0, margin=margin)
        assert onsets.dtype == np.int64
        np.testing.assert_array_equal(onsets, scipy.linalg.toeplitz(first_row))
        np.testing.assert_array_equal(onsets, onsets.T)
        assert np.all(np.diag(onsets) == 0)
    # Exactly one sample per step: 300 m / 1000 m/s / 0.1 s is 2.9999999999999996.
    np.testing.assert_array_equal(direct_arrival_onsets(4, 100.0, 0.1, 1000.0),
                                  scipy.linalg.toeplitz([0, 1, 2, 3]))


@pytest.mark.parametrize("keys, argument", [
    (dict(n_r=0), "n_r"), (dict(dr=0.0), "dr"), (dict(dt=-0.004), "dt"),
    (dict(velocity=np.inf), "velocity"), (dict(margin=-0.001), "margin"),
])
def test_direct_arrival_onsets_name_bad_arguments(keys, argument):
    arguments = dict(n_r=4, dr=10.0, dt=0.004, velocity=1000.0, margin=0.0) | keys
    with pytest.raises(ArgumentError) as caught:
        direct_arrival_onsets(**arguments)
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: ")


def test_onsets_from_seconds_rounds_to_samples():
    seconds = np.array([[0.0, 0.012, 0.02], [0.012, 0.0, 0.0041], [0.02, 0.0041, 0.0]])
    samples = onsets_from_seconds(seconds, 0.004, 3)
    assert samples.dtype == np.int64
    np.testing.assert_array_equal(samples, [[0, 3, 5], [3, 0, 1], [5, 1, 0]])
    # 0.3 / 0.1 is 2.9999999999999996: still 3 samples.
    np.testing.assert_array_equal(onsets_from_seconds([[0.0, 0.3], [0.3, 0.0]], 0.1, 2),
                                  [[0, 3], [3, 0]])
    # Within the tolerance the earlier time serves both directions: the samples stay
    # symmetric although 0.012 alone would give 3 samples.
    seconds[1, 0] = 0.012 - 1e-10
    samples = onsets_from_seconds(seconds, 0.004, 3)
    assert samples[0, 1] == samples[1, 0] == 2


_ENTRIES = np.arange(9).reshape(3, 3)   # entry (j, k) of a 3 x 3 array is 3 j + k


@pytest.mark.parametrize("change, expected", [
    (lambda s: s[:2], "(3, 3)"),
    (lambda s: s + np.where(_ENTRIES == 7, np.inf, 0.0), "(2, 1)"),
    (lambda s: s * np.where(_ENTRIES == 5, np.nan, 1.0), "(1, 2)"),
    (lambda s: s - 0.1 * (_ENTRIES == 6), "(2, 0)"),
    (lambda s: s + 0.01 * (_ENTRIES == 2), "(0, 2)"),
    (lambda s: "early", "seconds"),
])
def test_onsets_from_seconds_names_what_is_wrong(change, expected):
    seconds = np.array([[0.0, 0.012, 0.02], [0.012, 0.0, 0.004], [0.02, 0.004, 0.0]])
    with pytest.raises(ArgumentError) as caught:
        onsets_from_seconds(change(seconds), 0.004, 3)
    assert caught.value.argument == "onsets"
    assert str(caught.value).startswith("onsets: ") and expected in str(caught.value)


def test_onsets_from_seconds_names_a_bad_dt():
    with pytest.raises(ArgumentError) as caught:
        onsets_from_seconds(np.zeros((2, 2)), 0.0, 2)
    assert caught.value.argument == "dt"


@pytest.mark.mpi
@pytest.mark.parametrize("build, argument, words", [
    (lambda t, o: ConstraintProjection(t, onsets=o[:2]), "onsets", "(3, 3)"),
    (lambda t, o: ConstraintProjection(t, onsets=o - 1), "onsets", ">= 0"),
    (lambda t, o: ConstraintProjection(t, onsets=o * 0.004), "onsets", "integer"),
    (lambda t, o: ConstraintProjection(t, onsets=o + np.eye(3, k=1, dtype=int),
                                       reciprocity=True), "onsets", "symmetric"),
    (lambda t, o: ConstraintProjection(t), "onsets", "nothing to constrain"),
    (lambda t, o: ConstraintProjection(t, onsets=o, taper=-1), "taper", ">= 0"),
    (lambda t, o: ConstraintProjection(t, reciprocity="yes"), "reciprocity", "True or False"),
    (lambda t, o: ConstraintProjection(TimeFrequencyTransform(COMM, 3, 4, 8, 5), onsets=o),
     "transform", "n_a = n_b"),
    (lambda t, o: ConstraintProjection(None, reciprocity=True), "transform",
     "TimeFrequencyTransform"),
])
def test_the_constructors_name_bad_arguments(build, argument, words):
    transform = _transform(3, 8)
    onsets = np.array([[0, 2, 3], [2, 0, 1], [3, 1, 0]])
    with pytest.raises(ArgumentError) as caught:
        build(transform, onsets)
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: ") and words in str(caught.value)


@pytest.mark.mpi
@pytest.mark.parametrize("taper", [0, 2])
def test_the_result_does_not_depend_on_the_number_of_ranks(taper):
    n_r, n_t = 5, 7
    g = _field(n_t, n_r, seed=9)
    results = []
    for comm in (COMM, PETSc.COMM_SELF):
        transform, projection, penalty = _operators(n_r, n_t, True, True, taper, comm)
        results.append([_apply(each, transform, g) for each in (projection, penalty)])
    for parallel, serial in zip(*results):
        np.testing.assert_array_equal(parallel, serial)
