"""The seismic app in one process: SEG-Y, HDF5 and NPZ wavefields read by trace range, bad
data refused naming the key and the file (exit 2), the synthetic surveys (hyperbolic events,
the thesis' layered medium) and p = MDC(g, q) + band-limited noise, the memory estimate and
the figures of ``hpcinv plot``."""
import argparse

import h5py
import numpy as np
import pytest
import scipy.fft

import hpcinv
from hpcinv.apps.seismic.arrays import open_hdf5, open_npz, write_hdf5, write_npz
from hpcinv.apps.seismic.commands import add_commands
from hpcinv.apps.seismic.figures import (AMPLITUDE_LABEL, FREQUENCY_ERROR_LABEL,
                                         FREQUENCY_LABEL, RECEIVER_LABEL, TIME_LABEL,
                                         frequency_error_figure, frequency_errors,
                                         gathers_figure, mdd_figures)
from hpcinv.apps.seismic.layered import (LayeredSurvey, layer_responses, layered_spectra,
                                         vertical_wavenumber)
from hpcinv.apps.seismic.memory import mdd_memory
from hpcinv.apps.seismic.mesh import load_seismic_mesh
from hpcinv.apps.seismic.problem import PARAMETERS, mdd_problem
from hpcinv.apps.seismic.segy import open_segy, write_segy
from hpcinv.apps.seismic.synthetic import HyperbolicSurvey, event_traces, ricker_spectrum
from hpcinv.cli import main
from hpcinv.core.errors import InputError
from hpcinv.core.io.results import read_result
from hpcinv.core.petsc_env import initialize
from helpers import ROOT

PETSc = initialize()
TINY = str(ROOT / "meshes/seismic/tiny.toml")
RNG = np.random.default_rng(7)


def _field(n_t=16, n_a=4, n_s=3):
    return RNG.standard_normal((n_t, n_a, n_s))


def _trace_major(field):
    return field.reshape(field.shape[0], -1).T


# Reading -------------------------------------------------------------------------------------

def test_segy_round_trip_keeps_samples_interval_and_positions(tmp_path):
    field = _field()
    path = str(tmp_path / "q.sgy")
    receivers, sources = 1000.0 + 12.5 * np.arange(4), np.array([990.25, 1030.0, 1070.5])
    write_segy(path, field, 0.002, receivers, sources)
    read = open_segy(path, "problem.downgoing")
    assert read.shape == field.shape and read.dt == 0.002 and read.dr == 12.5
    np.testing.assert_array_equal(read.receiver_positions, receivers)
    np.testing.assert_array_equal(read.source_positions, sources)
    expected = _trace_major(field.astype(np.float32))
    np.testing.assert_array_equal(read.traces(0, 12), expected)
    # A range across receivers reads only its traces, in the problem's order.
    np.testing.assert_array_equal(read.traces(4, 10), expected[4:10])
    # The file holds shot gathers: trace s * n_r + r is receiver r of source s.
    import segyio

    with segyio.open(path, ignore_geometry=True) as handle:
        np.testing.assert_array_equal(handle.trace[1 * 4 + 2], field[:, 2, 1].astype(np.float32))
        assert handle.bin[segyio.BinField.Interval] == 2000


@pytest.mark.parametrize("fmt", ["hdf5", "npz"])
def test_arrays_read_by_trace_range_with_their_sampling(tmp_path, fmt):
    field = _field(n_t=10, n_a=5, n_s=3)
    if fmt == "hdf5":
        path = str(tmp_path / "f.h5")
        write_hdf5(path, {"q": field}, 0.004, 20.0)
        read = open_hdf5(path, "problem.downgoing", "q")
    else:
        path = str(tmp_path / "f.npz")
        write_npz(path, {"q": field}, 0.004, 20.0)
        read = open_npz(path, "problem.downgoing", "q")
    assert read.shape == field.shape and (read.dt, read.dr) == (0.004, 20.0)
    for start, stop in ((0, 15), (2, 4), (4, 11), (14, 15), (7, 7)):
        np.testing.assert_array_equal(read.traces(start, stop),
                                      _trace_major(field)[start:stop])


def test_hdf5_sampling_may_be_attributes_of_the_dataset(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as handle:
        handle["p"] = _field()
        handle["p"].attrs["dt"] = 0.008
    read = open_hdf5(str(path), "problem.upgoing", "p")
    assert read.dt == 0.008 and read.dr is None


# Bad data -----------------------------------------------------------------------------------

def _job(tmp_path, downgoing, upgoing, extra=""):
    path = tmp_path / "job.toml"
    path.write_text(f'[problem]\nkind = "mdd"\ndata = "file"\ndowngoing = "{downgoing}"\n'
                    f'upgoing = "{upgoing}"\n{extra}[solver]\nkind = "lsqr"\n'
                    f'[output]\npath = "{tmp_path / "out.h5"}"\n')
    return str(path)


def _pair(tmp_path, q=None, p=None, dt_q=0.004, dt_p=0.004, name="pair"):
    q = _field(n_t=16, n_a=4, n_s=3) if q is None else q
    p = _field(n_t=16, n_a=5, n_s=3) if p is None else p
    files = []
    for label, field, dt in (("q", q, dt_q), ("p", p, dt_p)):
        path = str(tmp_path / f"{name}-{label}.h5")
        write_hdf5(path, {label: field}, dt, 20.0)
        files.append(path)
    return files


def _nan_segy(tmp_path):
    q = _field(n_t=16, n_a=4, n_s=3)
    p = _field(n_t=16, n_a=4, n_s=3)
    p[:, 2, 1] = np.nan
    files = []
    for label, field in (("q", q), ("p", p)):
        path = str(tmp_path / f"nan-{label}.sgy")
        write_segy(path, field, 0.004, 20.0 * np.arange(4), 20.0 * np.arange(3))
        files.append(path)
    return files


def _irregular_segy(tmp_path):
    path = str(tmp_path / "irregular.sgy")
    write_segy(path, _field(n_a=4), 0.004, np.array([0.0, 20.0, 45.0, 60.0]),
               20.0 * np.arange(3))
    return path


def _bad_cases(tmp_path):
    """{case: (downgoing, upgoing, extra job lines, key, phrases the message has)}."""
    q, p = _pair(tmp_path)
    short_q, long_p = _pair(tmp_path, p=_field(n_t=32, n_a=5, n_s=3), name="lengths")
    few_q, more_p = _pair(tmp_path, p=_field(n_t=16, n_a=5, n_s=4), name="sources")
    slow_q, fast_p = _pair(tmp_path, dt_p=0.002, name="dt")
    nan_field = _field(n_t=16, n_a=5, n_s=3)
    nan_field[3, 2, 1] = np.inf
    nan_q, nan_p = _pair(tmp_path, p=nan_field, name="nan")
    segy_q, segy_p = _nan_segy(tmp_path)
    garbage = tmp_path / "garbage.sgy"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    truncated = tmp_path / "truncated.sgy"
    truncated.write_bytes(open(segy_p, "rb").read()[:-100])
    no_dt = str(tmp_path / "no-dt.npz")
    np.savez(no_dt, p=_field(n_t=16, n_a=5, n_s=3))
    text = tmp_path / "fields.txt"
    text.write_text("1 2 3\n")
    two_d = str(tmp_path / "flat.h5")
    with h5py.File(two_d, "w") as handle:
        handle["p"] = np.ones((16, 15))
    return {
        "samples": (short_q, long_p, "", "problem.upgoing", ["32 samples per trace", short_q]),
        "sources": (few_q, more_p, "", "problem.upgoing", ["4 sources", few_q]),
        "dt": (slow_q, fast_p, "", "problem.upgoing", ["dt = 0.002 s", "dt = 0.004 s"]),
        "job dt": (q, p, "dt = 0.002\n", "problem.downgoing",
                   ["dt = 0.004 in the file", "problem.dt = 0.002"]),
        "NaN trace": (nan_q, nan_p, "", "problem.upgoing",
                      [nan_p, "receiver 2, source 1", "non-finite"]),
        "NaN SEG-Y trace": (segy_q, segy_p, "", "problem.upgoing",
                            [segy_p, "trace 6 (0-based: source 1 at x = 20 m, receiver 2 at "
                                     "x = 40 m)", "non-finite"]),
        "garbage SEG-Y": (q, str(garbage), "", "problem.upgoing",
                          [f"cannot read SEG-Y file {garbage}", "not a SEG-Y file"]),
        "truncated SEG-Y": (q, str(truncated), "", "problem.upgoing",
                            [f"cannot read SEG-Y file {truncated}"]),
        "irregular receivers": (_irregular_segy(tmp_path), p, "", "problem.downgoing",
                                ["not regularly spaced", "x = 20 and 45 m"]),
        "missing dataset": (q, p, 'upgoing_dataset = "data"\n', "problem.upgoing",
                            ["dataset 'data' in", "is missing", "datasets at the top: p"]),
        "not 3-D": (q, two_d, "", "problem.upgoing", ["shape (16, 15)", two_d]),
        "no dt": (q, no_dt, "", "problem.upgoing", ["give problem.dt", no_dt]),
        "unknown format": (q, str(text), "", "problem.upgoing",
                           ["cannot tell the format", "'.txt'", "problem.format"]),
    }


def test_bad_data_exits_2_naming_the_file_and_the_problem(tmp_path, capsys):
    for case, (downgoing, upgoing, extra, key, phrases) in _bad_cases(tmp_path).items():
        assert main(["validate", _job(tmp_path, downgoing, upgoing, extra)]) == 2, case
        error = capsys.readouterr().err
        assert f"{key}:" in error, (case, error)
        assert all(phrase in error for phrase in phrases), (case, error)
        assert "Traceback" not in error, case


def _validate_problem(tmp_path, capsys, lines: str) -> str:
    job = tmp_path / "job.toml"
    job.write_text(f'[problem]\nkind = "mdd"\n{lines}[solver]\nkind = "lsqr"\n')
    assert main(["validate", str(job)]) == 2
    return capsys.readouterr().err


def test_keys_of_one_data_source_are_refused_with_another(tmp_path, capsys):
    error = _validate_problem(tmp_path, capsys, f'mesh = "{TINY}"\nupgoing = "{TINY}"\n'
                                                'velocities = [1800.0, 1500.0, 2000.0]\n')
    assert 'problem.upgoing: only with data = "file"' in error
    assert 'problem.velocities: only with data = "layered"' in error
    error = _validate_problem(tmp_path, capsys, 'data = "file"\n')
    assert 'problem.downgoing: data = "file" needs it' in error
    error = _validate_problem(tmp_path, capsys, f'data = "layered"\nmesh = "{TINY}"\n'
                                                'depths = [0.0, 900.0, 800.0]\n')
    assert "problem.depths: must increase" in error


# Synthetic surveys ---------------------------------------------------------------------------

def test_ricker_spectrum_is_the_fourier_transform_of_the_wavelet():
    f0, dt = 20.0, 1e-4
    t = dt * np.arange(-4000, 4000)
    wavelet = (1 - 2 * (np.pi * f0 * t) ** 2) * np.exp(-(np.pi * f0 * t) ** 2)
    for f in (5.0, 20.0, 47.5):
        transform = np.sum(wavelet * np.exp(-2j * np.pi * f * t)) * dt
        np.testing.assert_allclose(transform, ricker_spectrum(f, f0), rtol=1e-9, atol=1e-12)


def test_hyperbolic_events_are_ricker_wavelets_on_their_hyperbolas():
    mesh = load_seismic_mesh(TINY)
    offsets = np.array([0.0, 60.0, 100.0])
    events = mesh.impulse_response
    expected = np.zeros((offsets.size, mesh.samples))
    for time, velocity, amplitude in zip(events.times, events.velocities, events.amplitudes):
        arrival = np.sqrt(time ** 2 + (offsets / velocity) ** 2)
        argument = (np.pi * mesh.peak_frequency
                    * (mesh.interval * np.arange(mesh.samples) - arrival[:, None])) ** 2
        expected += amplitude * (1 - 2 * argument) * np.exp(-argument)
    np.testing.assert_allclose(event_traces(events, offsets, mesh), expected, atol=1e-6)
    # 1 km away both events would arrive past the record's end less the wavelet: nothing.
    assert np.abs(event_traces(events, np.array([1000.0]), mesh)).max() < 1e-12


def test_survey_traces_do_not_depend_on_how_the_ranges_split():
    mesh = load_seismic_mesh(TINY)
    for survey in (HyperbolicSurvey(mesh), LayeredSurvey(mesh)):
        whole = survey.impulse_response(0, 36)
        np.testing.assert_array_equal(np.vstack([survey.impulse_response(0, 13),
                                                 survey.impulse_response(13, 36)]), whole)
        q = survey.downgoing(0, 36).reshape(6, 6, -1)
        # q(v, s) depends on x_v - x_s only: a source's gather shifted by one receiver.
        np.testing.assert_allclose(q[1:, 1], q[:-1, 0], atol=1e-14)


def _hand_formulas(omega, xi, c, h1):
    k = [np.sqrt(complex((omega / ci) ** 2 - xi ** 2)) for ci in c]
    k = [kk if kk.real > 0 else -1j * abs(kk) for kk in k]
    t1 = 2 * k[0] / (k[1] + k[0]) * np.exp(-1j * k[1] * h1 / 2)
    r1 = (k[1] - k[0]) / (k[1] + k[0]) * np.exp(-1j * k[1] * h1)
    r2 = (k[1] - k[2]) / (k[1] + k[2]) * np.exp(-1j * k[1] * h1)
    return t1, r1, r2


def test_layered_responses_follow_example_5_2_1():
    c, z = (1500.0, 1800.0, 2000.0), (0.0, 500.0, 1000.0)
    omega = 2 * np.pi * 25.0
    # At normal incidence R2+ = (c2 - c1) / (c2 + c1) delayed by the two-way time h1 / c1.
    _, _, r2 = layer_responses(omega, 0.0, c, z)
    np.testing.assert_allclose(r2, 200 / 3800 * np.exp(-1j * omega * 500 / 1800), rtol=1e-12)
    for xi in (0.0, 0.03, 0.08, 0.086):     # the last one beyond the critical angle of c2
        expected = _hand_formulas(omega, xi, c, 500.0)
        np.testing.assert_allclose(layer_responses(omega, xi, c, z), expected, rtol=1e-12)
    assert vertical_wavenumber(omega, 0.086, 2000.0).imag < 0     # decays downwards


def test_layered_masks_keep_the_propagating_waves():
    omega = 2 * np.pi * 25.0
    xi = np.array([0.01, 0.08, 0.09, 0.1])     # omega / c: 0.105 (1500), 0.087 (1800)
    g, q = layered_spectra(omega, xi, (1500.0, 1800.0, 2000.0), (0.0, 500.0, 1000.0), 0.0)
    _, _, r2 = layer_responses(omega, xi, (1500.0, 1800.0, 2000.0), (0.0, 500.0, 1000.0))
    np.testing.assert_allclose(g[:2], r2[:2], rtol=1e-12)
    assert np.all(g[2:] == 0) and np.all(q[2:] == 0) and np.all(q[:2] != 0)
    # (1800, 1500, 2000): g reaches |xi| < omega / 1500, q only omega / 1800 (thesis Fig. 5.5).
    g, q = layered_spectra(omega, xi, (1800.0, 1500.0, 2000.0), (0.0, 500.0, 1000.0), 0.0)
    assert g[2] != 0 and q[2] == 0
    # The taper: full weight well inside, none at the edge.
    g, _ = layered_spectra(omega, np.array([0.01, 0.0869]), (1500.0, 1800.0, 2000.0),
                           (0.0, 500.0, 1000.0), 0.1)
    _, _, r2 = layer_responses(omega, np.array([0.01, 0.0869]), (1500.0, 1800.0, 2000.0),
                               (0.0, 500.0, 1000.0))
    ramp = (0.0869 * 1800.0 / omega - 0.9) / 0.1
    np.testing.assert_allclose(g, r2 * [1.0, np.cos(0.5 * np.pi * ramp) ** 2], rtol=1e-12)


def test_layered_tables_are_the_inverse_transform_of_the_spectra():
    mesh = load_seismic_mesh(TINY)
    survey = LayeredSurvey(mesh)
    g_table, q_table = survey.tables
    omega = 2 * np.pi * survey.frequencies[:, None]
    g_hat, q_hat = layered_spectra(omega, survey.wavenumbers[None, :],
                                   (1500.0, 1800.0, 2000.0), (0.0, 500.0, 1000.0), 0.1)
    wavelet = ricker_spectrum(survey.frequencies, mesh.peak_frequency)[:, None]
    for table, spectrum in ((g_table, g_hat), (q_table, q_hat)):
        transform = scipy.fft.fft(scipy.fft.rfft(table, axis=0), axis=1) * mesh.interval * \
            mesh.spacing
        # Up to the Nyquist bin in t, whose imaginary part a real signal cannot hold.
        np.testing.assert_allclose(transform[:-1], (spectrum * wavelet)[:-1],
                                   atol=1e-12 * np.abs(spectrum * wavelet).max())
    # Traces are the tables' first n_t samples at the offsets x_r - x_v.
    np.testing.assert_array_equal(survey.impulse_response(7, 8)[0],
                                  g_table[:mesh.samples, 1 - 1])
    np.testing.assert_array_equal(survey.impulse_response(6, 7)[0],
                                  g_table[:mesh.samples, 1])


def _circular_mdc(g, q, dt, dr):
    """p(t, r, s) = dt dr sum_{t', v} g(t - t', r, v) q(t', v, s), directly in time."""
    n_t = g.shape[0]
    p = np.zeros((n_t, g.shape[1], q.shape[2]))
    for shift in range(n_t):
        p += np.einsum("rv,tvs->trs", g[shift], np.roll(q, shift, axis=0))
    return dt * dr * p


@pytest.mark.parametrize("data", ["synthetic-hyperbolic", "layered"])
def test_synthetic_data_are_the_convolution_plus_band_limited_noise_of_the_stated_level(data):
    problem = mdd_problem(PETSc.COMM_SELF, data=data, mesh=TINY, noise_level=0.05, seed=3,
                          max_frequency=40.0)
    operator = problem.operator
    mesh = load_seismic_mesh(TINY)
    survey = (HyperbolicSurvey if data == "synthetic-hyperbolic" else LayeredSurvey)(mesh)
    g = operator.domain_transform.gather_array(problem.truth)
    np.testing.assert_array_equal(g.transpose(1, 2, 0).reshape(36, -1),
                                  survey.impulse_response(0, 36))
    q = survey.downgoing(0, 36).reshape(6, 6, -1).transpose(2, 0, 1)
    # The operator keeps the bins up to 40 Hz: p is the band of the direct convolution.
    spectrum = np.fft.rfft(_circular_mdc(g, q, mesh.interval, mesh.spacing), axis=0)
    kept = operator.frequencies.size
    assert operator.frequencies[-1] <= 40.0 < operator.frequencies[-1] + 1 / (64 * 0.008)
    spectrum[kept:] = 0
    clean = operator.range_transform.gather_array(problem.noise_free_data)
    np.testing.assert_allclose(clean, np.fft.irfft(spectrum, n=64, axis=0),
                               atol=1e-12 * np.abs(clean).max())
    noise = operator.range_transform.gather_array(problem.data) - clean
    np.testing.assert_allclose(np.linalg.norm(noise), 0.05 * np.linalg.norm(clean), rtol=1e-12)
    assert problem.noise_norm == pytest.approx(np.linalg.norm(noise), rel=1e-12)
    noise_spectrum = np.fft.rfft(noise, axis=0)
    assert np.abs(noise_spectrum[kept:]).max() < 1e-12 * np.abs(noise_spectrum).max()
    frequency_noise = problem.capabilities[0].frequency_noise
    np.testing.assert_allclose(frequency_noise,
                               np.linalg.norm(noise_spectrum[:kept].reshape(kept, -1), axis=1),
                               rtol=1e-10)
    assert problem.attributes["snr_db"] == pytest.approx(-20 * np.log10(0.05))


def test_driver_function_checks_its_arguments():
    with pytest.raises(ValueError, match="mdd_problem.noise_level"):
        mdd_problem(PETSc.COMM_SELF, mesh=TINY, noise_level=2.0)
    with pytest.raises(InputError, match="needs a survey mesh"):
        mdd_problem(PETSc.COMM_SELF, data="layered")


# Memory, figures, the mock command ------------------------------------------------------------

def _values(**keys):
    return {**{key: field.default for key, field in PARAMETERS.items()}, **keys}


def test_memory_estimate_has_the_operator_shape_and_grows_with_the_survey():
    tiny = mdd_memory(_values(mesh=TINY))
    assert (tiny.rows, tiny.columns) == (6 * 6 * 64, 6 * 6 * 64)
    assert tiny.facts["grid_shape"] == (6, 6, 64)
    thesis = mdd_memory(_values(mesh=str(ROOT / "meshes/seismic/thesis-1x1.toml")))
    assert (thesis.rows, thesis.columns) == (151 * 151 * 512, 151 * 151 * 512)
    # g, p, q blocks and Vecs: well over the 9 x 151^2 x 512 doubles of the Vecs alone.
    assert thesis.distributed_bytes > 9 * 8 * 151 ** 2 * 512
    quarter = mdd_memory(_values(mesh=str(ROOT / "meshes/seismic/thesis-1x1.toml"),
                                 max_frequency=62.5))
    assert quarter.distributed_bytes < thesis.distributed_bytes
    layered = mdd_memory(_values(mesh=TINY, data="layered"))
    assert layered.replicated_bytes > 0 == tiny.replicated_bytes
    assert mdd_memory(_values(mesh=str(ROOT / "README.md"))) is None


@pytest.fixture(scope="module")
def layered_result(tmp_path_factory):
    path = tmp_path_factory.mktemp("mdd") / "layered.h5"
    outcome = hpcinv.run({"problem": {"kind": "mdd", "data": "layered", "mesh": TINY,
                                      "noise_level": 0.01},
                          "solver": {"kind": "lsqr", "tau": 1.02, "max_iterations": 300},
                          "output": {"path": str(path)}}, quiet=True)
    assert outcome.exit_status == 0
    return outcome, str(path)


def test_a_tiny_layered_lsqr_job_stops_on_the_discrepancy(layered_result):
    outcome, path = layered_result
    assert outcome.stop_reason == "discrepancy" and outcome.iterations < 300
    result = read_result(path)
    assert result.grid_shape == (6, 6, 64)
    estimate, truth = result.vector("solution"), result.vector("truth")
    assert np.linalg.norm(estimate - truth) < 0.5 * np.linalg.norm(truth)


def test_gathers_share_one_colour_scale_with_labelled_axes(layered_result):
    result = read_result(layered_result[1])
    figure = gathers_figure(result)
    panels = [axis for axis in figure.axes if axis.images]
    assert len(panels) == 9     # truth, estimate, difference at virtual sources 0, 2, 5
    titles = [axis.get_title() for axis in panels]
    assert titles[0] == "truth, virtual source at 0 m"
    assert titles[-1] == "estimate - truth, virtual source at 100 m"
    assert {axis.get_xlabel() for axis in panels} == {RECEIVER_LABEL}
    assert {axis.get_ylabel() for axis in panels} == {TIME_LABEL}
    assert {axis.images[0].colorbar.ax.get_ylabel() for axis in panels} == {AMPLITUDE_LABEL}
    assert len({axis.images[0].get_clim() for axis in panels}) == 1
    estimate = result.vector("solution").reshape(6, 6, 64)
    truth = result.vector("truth").reshape(6, 6, 64)
    # Receivers across, time down: g(t, r) of virtual source 5, extent in m and s.
    np.testing.assert_array_equal(panels[5].images[0].get_array(), estimate[:, 5, :].T)
    np.testing.assert_array_equal(panels[8].images[0].get_array(),
                                  (estimate - truth)[:, 5, :].T)
    assert panels[0].images[0].get_extent() == [-10.0, 110.0, 0.512, 0.0]


def test_relative_error_per_frequency(layered_result, tmp_path):
    result = read_result(layered_result[1])
    axis = frequency_error_figure(result).axes[0]
    assert axis.get_xlabel() == FREQUENCY_LABEL and axis.get_ylabel() == FREQUENCY_ERROR_LABEL
    line = axis.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), np.fft.rfftfreq(64, 0.008))
    estimate = result.vector("solution").reshape(6, 6, 64)
    truth = result.vector("truth").reshape(6, 6, 64)
    errors = frequency_errors(estimate, truth, 33)
    np.testing.assert_array_equal(line.get_ydata(), errors)
    f = 10      # by hand at one bin
    spectra = [np.fft.rfft(x, axis=-1)[..., f] for x in (estimate, truth)]
    assert errors[f] == pytest.approx(np.linalg.norm(spectra[0] - spectra[1])
                                      / np.linalg.norm(spectra[1]))
    written = mdd_figures(result, tmp_path, "layered")
    assert sorted(p.name for p in written) == ["layered-cross-sections.png",
                                               "layered-frequency-error.png",
                                               "layered-gathers.png"]


def test_mock_writes_segy_hdf5_and_npz_that_run_without_a_truth_figure(tmp_path):
    job = tmp_path / "mock.toml"
    job.write_text(f'[problem]\nkind = "mdd"\nmesh = "{TINY}"\n[solver]\nkind = "lsqr"\n')
    parser = argparse.ArgumentParser()
    handlers = add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["seismic-mock", str(job), "--out", str(tmp_path / "fields")])
    assert handlers["seismic-mock"](args) == 0
    with h5py.File(tmp_path / "fields/fields.h5") as handle:
        fields = {name: handle[name][()] for name in "qpg"}
    for name, file_name in (("q", "downgoing.sgy"), ("p", "upgoing.sgy"), ("g", "truth.sgy")):
        read = open_segy(str(tmp_path / "fields" / file_name), "k")
        np.testing.assert_array_equal(read.traces(0, 36),
                                      _trace_major(fields[name]).astype(np.float32))
    npz = np.load(tmp_path / "fields/fields.npz")
    np.testing.assert_array_equal(npz["p"], fields["p"])
    output = tmp_path / "from-files.h5"
    outcome = hpcinv.run({"problem": {"kind": "mdd", "data": "file",
                                      "downgoing": str(tmp_path / "fields/downgoing.sgy"),
                                      "upgoing": str(tmp_path / "fields/upgoing.sgy")},
                          "solver": {"kind": "lsqr", "max_iterations": 5},
                          "output": {"path": str(output)}}, quiet=True)
    assert outcome.exit_status == 0
    result = read_result(str(output))
    assert result.vector("truth") is None and frequency_error_figure(result) is None
    panels = [axis for axis in gathers_figure(result).axes if axis.images]
    assert [axis.get_title() for axis in panels] == [
        "estimate, virtual source at 0 m", "estimate, virtual source at 40 m",
        "estimate, virtual source at 100 m"]
