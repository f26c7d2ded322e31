"""The multidimensional convolution in frequency blocks on 1 and 2 ranks: transforms, exact
adjoint, agreement with the time-domain sum, truncation, rank-count independence, bad
arguments."""
import numpy as np
import pytest

from hpcinv.core.errors import ArgumentError
from hpcinv.core.petsc_env import initialize
from hpcinv.linalg import dot_test
from hpcinv.linalg.random import fill_normal
from hpcinv.operators import MultiDimensionalConvolution, TimeFrequencyTransform

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _fields(n_t, n_r, n_v, n_s, seed=0):
    """Random q (n_t, n_v, n_s) and g (n_t, n_r, n_v), the same on every rank."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_t, n_v, n_s)), rng.standard_normal((n_t, n_r, n_v))


def _apply(operator, g):
    """p = operator(g) for g an (n_t, n_r, n_v) array, gathered as (n_t, n_r, n_s)."""
    x = operator.domain_transform.vec_from_array(g)
    y = operator.range_transform.create_vec()
    operator.mult(x, y)
    return operator.range_transform.gather_array(y)


def _time_domain_convolution(g, q, scale):
    """scale * sum_{t'} g(t - t') q(t') with t - t' taken modulo n_t, written out."""
    n_t = g.shape[0]
    p = np.zeros((n_t, g.shape[1], q.shape[2]))
    for t in range(n_t):
        for t_prime in range(n_t):
            p[t] += g[(t - t_prime) % n_t] @ q[t_prime]
    return scale * p


@pytest.mark.mpi
@pytest.mark.parametrize("n_t", [16, 15])
def test_to_time_inverts_to_frequency_with_every_bin(n_t):
    transform = TimeFrequencyTransform(COMM, 3, 5, n_t, n_t // 2 + 1)
    vec = transform.create_vec()
    fill_normal(vec, 2)
    blocks = transform.to_frequency(vec)
    assert blocks.shape == (transform.frequency_layout.local_size, 3, 5)
    back = transform.to_time(blocks)
    np.testing.assert_allclose(back.getArray(), vec.getArray(), rtol=0, atol=1e-14)


@pytest.mark.mpi
def test_frequency_blocks_are_the_real_fft_of_the_traces():
    whole = np.random.default_rng(4).standard_normal((12, 2, 3))
    transform = TimeFrequencyTransform(COMM, 2, 3, 12, 5)
    blocks = transform.to_frequency(transform.vec_from_array(whole))
    expected = np.fft.rfft(whole, axis=0)[:5][transform.frequency_layout.local_slice]
    np.testing.assert_allclose(blocks, expected, rtol=0, atol=1e-13)


@pytest.mark.mpi
@pytest.mark.parametrize("n_t, n_r, n_v, n_s, max_frequency", [
    (16, 3, 4, 5, None),    # even n_t, every bin (Nyquist included)
    (15, 4, 2, 3, None),    # odd n_t: no Nyquist bin
    (16, 2, 3, 4, 0.2),     # a few bins: 0.2 Hz at dt = 0.5 keeps bins 0..1
    (17, 5, 3, 2, 0.7),     # odd n_t, most bins but not all
    (8, 1, 1, 1, 0.001),    # the zero-frequency bin alone
])
def test_mult_transpose_is_the_exact_adjoint(n_t, n_r, n_v, n_s, max_frequency):
    q, _ = _fields(n_t, n_r, n_v, n_s, seed=1)
    operator = MultiDimensionalConvolution.from_array(COMM, q, n_r=n_r, dt=0.5, dr=3.0,
                                                      max_frequency=max_frequency)
    assert dot_test(operator, seed=7) < 1e-12


@pytest.mark.mpi
@pytest.mark.parametrize("n_t", [8, 9])
def test_mult_equals_the_circular_time_domain_convolution(n_t):
    q, g = _fields(n_t, 3, 2, 4, seed=3)
    operator = MultiDimensionalConvolution.from_array(COMM, q, n_r=3, dt=0.004, dr=20.0)
    p = _apply(operator, g)
    expected = _time_domain_convolution(g, q, 0.004 * 20.0)
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.mpi
def test_model_blocks_and_frequencies_are_the_scaled_spectrum_of_q():
    q, _ = _fields(10, 2, 3, 4)
    operator = MultiDimensionalConvolution.from_array(COMM, q, n_r=2, dt=0.1, dr=2.0,
                                                      max_frequency=3.0)
    np.testing.assert_allclose(operator.frequencies, [0.0, 1.0, 2.0, 3.0])
    local = operator.domain_transform.frequency_layout.local_slice
    expected = 0.1 * 2.0 * np.fft.rfft(q, axis=0)[:4][local]
    np.testing.assert_allclose(operator.model_blocks, expected, rtol=0, atol=1e-13)


@pytest.mark.mpi
@pytest.mark.parametrize("n_t", [16, 15])
def test_max_frequency_equals_zeroing_the_high_bins(n_t):
    q, g = _fields(n_t, 2, 3, 2, seed=5)
    full = MultiDimensionalConvolution.from_array(COMM, q, n_r=2, dt=0.25)
    truncated = MultiDimensionalConvolution.from_array(COMM, q, n_r=2, dt=0.25,
                                                       max_frequency=1.0)
    kept = truncated.frequencies.size
    assert kept == 1 + int(1.0 * n_t * 0.25) < n_t // 2 + 1
    spectrum = np.fft.rfft(_apply(full, g), axis=0)
    spectrum[kept:] = 0.0
    np.testing.assert_allclose(_apply(truncated, g), np.fft.irfft(spectrum, n=n_t, axis=0),
                               rtol=0, atol=1e-13)


@pytest.mark.mpi
def test_the_result_does_not_depend_on_the_number_of_ranks():
    q, g = _fields(14, 3, 4, 5, seed=6)
    keys = dict(n_r=3, dt=0.5, dr=2.0, max_frequency=0.8)
    serial = _apply(MultiDimensionalConvolution.from_array(PETSc.COMM_SELF, q, **keys), g)
    parallel = _apply(MultiDimensionalConvolution.from_array(COMM, q, **keys), g)
    np.testing.assert_allclose(parallel, serial, rtol=0, atol=1e-13)
    # The adjoint too: every rank's serial product of the same data.
    operator = MultiDimensionalConvolution.from_array(COMM, q, **keys)
    reference = MultiDimensionalConvolution.from_array(PETSc.COMM_SELF, q, **keys)
    adjoints = []
    for each in (operator, reference):
        y = each.range_transform.vec_from_array(serial)
        x = each.domain_transform.create_vec()
        each.mult_transpose(y, x)
        adjoints.append(each.domain_transform.gather_array(x))
    np.testing.assert_allclose(adjoints[0], adjoints[1], rtol=0, atol=1e-13)


@pytest.mark.mpi
def test_from_array_equals_the_trace_constructor():
    q, g = _fields(12, 2, 3, 4, seed=8)
    from_array = MultiDimensionalConvolution.from_array(COMM, q, n_r=2, dt=0.5,
                                                        max_frequency=0.5)
    q_transform = TimeFrequencyTransform(COMM, 3, 4, 12, 1)
    from_traces = MultiDimensionalConvolution(COMM, q_transform.local_traces(q), n_r=2, n_v=3,
                                              n_s=4, n_t=12, dt=0.5, max_frequency=0.5)
    np.testing.assert_array_equal(from_traces.model_blocks, from_array.model_blocks)
    np.testing.assert_array_equal(_apply(from_traces, g), _apply(from_array, g))


@pytest.mark.mpi
def test_the_shell_mat_applies_the_operator():
    q, _ = _fields(10, 2, 2, 3, seed=9)
    operator = MultiDimensionalConvolution.from_array(COMM, q, n_r=2)
    x, y = operator.create_vecs()
    fill_normal(x, 10)
    expected = y.duplicate()
    operator.mult(x, expected)
    operator.as_petsc_mat().mult(x, y)
    np.testing.assert_array_equal(y.getArray(), expected.getArray())


@pytest.mark.mpi
@pytest.mark.parametrize("build, argument", [
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q[0], n_r=2), "q"),
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q, n_r=2, n_v=4), "q"),
    (lambda q: MultiDimensionalConvolution(COMM, q[0], n_r=2, n_v=3, n_s=4, n_t=8), "q_traces"),
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q, n_r=2, max_frequency=0.0),
     "max_frequency"),
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q, n_r=2, max_frequency=-1.0),
     "max_frequency"),
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q, n_r=0), "n_r"),
    (lambda q: MultiDimensionalConvolution.from_array(COMM, q, n_r=2, dt=0.0), "dt"),
    (lambda q: TimeFrequencyTransform(COMM, 2, 3, 8, 6), "n_f"),
    (lambda q: TimeFrequencyTransform(COMM, 2, 3, 9, 0), "n_f"),
])
def test_bad_arguments_are_named(build, argument):
    q = np.ones((8, 3, 4))
    with pytest.raises(ArgumentError) as caught:
        build(q)
    assert caught.value.argument == argument


@pytest.mark.mpi
def test_q_traces_with_a_nan_are_refused_on_every_rank():
    traces = TimeFrequencyTransform(COMM, 3, 4, 8, 1).local_traces(np.ones((8, 3, 4)))
    if COMM.rank == 0:
        traces[0, 0] = np.nan
    with pytest.raises(ArgumentError, match="q_traces"):
        MultiDimensionalConvolution(COMM, traces, n_r=2, n_v=3, n_s=4, n_t=8)


@pytest.mark.mpi
def test_transforms_refuse_blocks_of_the_wrong_shape():
    transform = TimeFrequencyTransform(COMM, 2, 3, 8, 5)
    vec = transform.create_vec()
    with pytest.raises(ArgumentError) as caught:
        transform.to_frequency(vec, out=np.zeros((5, 3, 2), dtype=complex))
    assert caught.value.argument == "out"
    with pytest.raises(ArgumentError) as caught:
        transform.to_time(np.zeros((5, 3, 2), dtype=complex), vec)
    assert caught.value.argument == "blocks"
