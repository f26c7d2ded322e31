"""`hpcinv reproduce pnkr-vs-ppxf`: pPXF's fits as maps, the error metrics, the table and the
command line.  None of it needs pPXF or the network."""
import json
import subprocess
import sys
import types

import numpy as np
import pytest

from hpcinv.apps.galaxy.derived import MAP_NAMES, DerivedGrid, maps
from hpcinv.reproduce import EXPERIMENTS
from hpcinv.apps.galaxy import comparison_metrics as metrics
from hpcinv.apps.galaxy import reproduce_pnkr_vs_ppxf as experiment
from hpcinv.apps.galaxy import ppxf_fit
from hpcinv.core.errors import RuntimeFailure
from helpers import hpcinv


def _grid(velocity):
    return DerivedGrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 3), velocity,
                       np.array([-0.5, 0.0]), np.array([2.0, 8.0]),
                       theta_weights=(np.gradient(velocity), np.ones(2), np.ones(2)),
                       light=np.array([[1.0, 0.5], [2.0, 1.0]]))


def _point_values(velocity):
    """A velocity 'averaging' that keeps the LOSVD's values at the grid's velocities."""
    return velocity, np.eye(velocity.size)


def test_a_gauss_hermite_losvd_without_higher_moments_has_its_v_and_sigma():
    velocity = np.linspace(-1000, 1000, 401)
    grid = _grid(velocity)
    kinematics = np.array([[120.0, 80.0, 0.0, 0.0, 0.0, 0.0]])
    weights = np.array([[[1.0, 0.0], [0.0, 3.0]]])     # template masses, ([M/H], age)
    result = maps(ppxf_fit.ppxf_rows(kinematics, weights, grid, _point_values(velocity)),
                  grid)
    # pPXF's V is c ln(1 + v/c): its 120 km/s is 120.02 km/s of the kernel's v.
    np.testing.assert_allclose(result["mu_v"], 120, atol=0.1)
    np.testing.assert_allclose(result["sigma_v"], 80, rtol=1e-3)
    for name in ("h3", "h4", "h5"):
        np.testing.assert_allclose(result[name], 0, atol=1e-3)
    np.testing.assert_allclose(result["mass"], 4.0)
    np.testing.assert_allclose(result["mean_age"], (1 * 2.0 + 3 * 8.0) / 4)
    np.testing.assert_allclose(result["mean_metallicity"], (1 * -0.5 + 3 * 0.0) / 4)


def test_the_gauss_hermite_integral_is_the_losvds_and_scales_the_mass():
    velocity = np.linspace(-3000, 3000, 60001)
    kinematics = np.array([[50.0, 120.0, 0.05, -0.08, 0.03, 0.06]])
    integral = np.trapz(ppxf_fit.gauss_hermite_losvd(velocity, kinematics)[0], velocity)
    np.testing.assert_allclose(ppxf_fit.gauss_hermite_integral(kinematics), integral,
                               rtol=1e-8)
    grid = _grid(np.linspace(-1000, 1000, 401))
    rows = ppxf_fit.ppxf_rows(kinematics, np.ones((1, 2, 2)), grid,
                                _point_values(grid.velocity))
    np.testing.assert_allclose(maps(rows, grid)["mass"], 4 * integral)


def test_a_skewed_ppxf_losvd_gives_a_skewed_map():
    velocity = np.linspace(-1500, 1500, 601)
    grid = _grid(velocity)
    kinematics = np.array([[0.0, 150.0, 0.1, 0.0, 0.0, 0.0],
                           [0.0, 150.0, -0.1, 0.0, 0.0, 0.0]])
    result = maps(ppxf_fit.ppxf_rows(kinematics, np.ones((2, 2, 2)), grid,
                                       _point_values(velocity)), grid)
    assert result["h3"][0] > 0.05 and result["h3"][1] < -0.05


def test_map_errors_are_rms_over_the_positions_with_truth_mass():
    truth_mass = np.array([[1.0, 0.5], [0.001, 0.2]])
    mask = metrics.sky_mask(truth_mass)
    assert mask.tolist() == [[True, True], [False, True]]
    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert metrics.map_error("mu_v", truth, truth, mask) == 0
    shifted = truth + np.array([[3.0, -3.0], [100.0, 3.0]])   # 100: left out
    assert metrics.map_error("mu_v", shifted, truth, mask) == pytest.approx(3.0)
    assert metrics.map_error("mass", 1.1 * truth_mass, truth_mass, mask) == \
        pytest.approx(0.1)


def test_losvd_error_is_zero_for_equal_and_two_for_disjoint_losvds():
    weights = np.full(4, 0.5)
    p = np.array([1.0, 1.0, 0.0, 0.0])
    assert metrics.losvd_error(p, p, weights) == 0
    assert metrics.losvd_error(p, p[::-1], weights) == pytest.approx(2.0)


def _gauss(velocity, mean, sigma):
    return np.exp(-0.5 * ((velocity - mean) / sigma) ** 2)


def test_peaks_are_separate_maxima_and_bimodality_needs_them_where_the_truth_has_them():
    v = np.linspace(-750, 750, 25)                      # 62.5 km/s nodes
    truth = _gauss(v, 190, 60) + 0.3 * _gauss(v, -150, 40)
    np.testing.assert_array_equal(metrics.losvd_peaks(truth, v), [187.5, -125.0])
    assert metrics.losvd_peaks(_gauss(v, 20, 90), v).tolist() == [0.0]
    # Two components too close for a dip of 20%: one peak.
    assert metrics.losvd_peaks(_gauss(v, -60, 100) + _gauss(v, 60, 100), v).size == 1
    # Below 5% of the highest value a maximum is no peak.
    assert metrics.losvd_peaks(_gauss(v, 190, 60) + 0.03 * _gauss(v, -300, 40), v).size == 1
    tolerance = metrics.PEAK_TOLERANCE_NODES * 62.5
    truth_peaks = metrics.losvd_peaks(truth, v)
    recovered = metrics.losvd_peaks(_gauss(v, 170, 80) + 0.2 * _gauss(v, -190, 60), v)
    assert metrics.bimodal_recovered(recovered, truth_peaks, tolerance)
    # A Gauss-Hermite ringing lobe far from the truth's second peak does not count.
    ringing = metrics.losvd_peaks(_gauss(v, 190, 60) + 0.1 * _gauss(v, 500, 40), v)
    assert ringing.size == 2 and not metrics.bimodal_recovered(ringing, truth_peaks, tolerance)
    assert not metrics.bimodal_recovered(truth_peaks[:1], truth_peaks, tolerance)
    # Rises at the ends of the velocity range are cut-off components, not peaks; a LOSVD
    # without data has none.
    assert metrics.losvd_peaks(np.array([5, 3, 1, 0.5, 1, 3, 5.0]), v[:7]).size == 0
    assert metrics.losvd_peaks(np.where(v == 0, np.nan, truth), v).size == 0


def test_a_pedestal_under_a_losvd_counts_as_wing_mass_and_leaves_its_core_alone():
    velocity = np.linspace(-750, 750, 121)
    weights = np.full(velocity.size, velocity[1] - velocity[0])
    truth = _gauss(velocity, 100, 60)
    truth /= truth @ weights
    pedestal = np.full(velocity.size, 1 / (velocity[-1] - velocity[0]))
    estimate = 0.97 * truth + 0.03 * pedestal
    mean, sigma = np.array([100.0, 100.0]), np.array([60.0, 60.0])
    wings, core = metrics.core_and_wings(np.array([truth, estimate]), mean, sigma, velocity,
                                         weights)
    # beyond 100 +- 180 km/s: 0.3% of a Gaussian, and 1140 of the pedestal's 1500 km/s
    assert wings[0] == pytest.approx(0.0027, abs=5e-4)
    assert wings[1] == pytest.approx(0.97 * wings[0] + 0.03 * 1140 / 1500, rel=0.03)
    # the pedestal inside the core widens it by a few km/s; its moment sigma by far more
    assert abs(core[1] - core[0]) < 5.0
    full = [np.sqrt(((velocity - 100) ** 2 * p) @ weights) for p in (truth, estimate)]
    assert full[1] - full[0] > 10 * abs(core[1] - core[0])


def _products(seed: int, velocity) -> dict:
    """Derived products on a 3 x 3 sky; the LOSVDs of the first sky column bimodal."""
    rng = np.random.default_rng(seed)
    products = {name: rng.uniform(1, 2, (3, 3)) for name in MAP_NAMES}
    cube = np.empty((3, 3, velocity.size))
    cube[...] = _gauss(velocity, 150 + 10 * seed, 60)
    cube[0] += 0.4 * _gauss(velocity, -200, 50)
    products["losvd_cube"] = cube
    products["losvd"] = cube.reshape(9, -1)
    products["velocity"] = velocity
    return products


def test_the_table_and_json_list_every_mock_solver_map_and_losvd():
    velocity = np.linspace(-750, 750, 25)
    weights = np.full(velocity.size, 62.5)
    truth = _products(0, velocity)
    truth.update({f"truth_{name}": truth[name] for name in (*MAP_NAMES, "losvd", "losvd_cube")})
    estimate = _products(1, velocity)
    unimodal = dict(estimate, losvd_cube=np.broadcast_to(_gauss(velocity, 150, 60),
                                                         (3, 3, velocity.size)))
    exact = metrics.compare(truth, truth, weights)
    assert all(error == 0 for error in exact["maps"].values()) and exact["losvd_all"] == 0
    assert exact["bimodal_truth"] == exact["bimodal_recovered"] == 3
    other = metrics.compare(estimate, truth, weights)
    assert other["bimodal_recovered"] == 3 and other["losvd_all"] > 0
    assert metrics.compare(unimodal, truth, weights)["bimodal_recovered"] == 0
    report = {"regul": 0.0, "ppxf_version": "9.5.2", "rows": [], "losvd_rows": [],
              "summaries": [], "runs": [], "ppxf": []}
    for mock in ("three-component", "bulge-counter-disk"):
        report["ppxf"].append({"mock": mock, "seconds": 1.0, "ranks": 2, "spectra": 9,
                               "seconds_per_spectrum": 0.2})
        for solver, errors in (("pnkr", other), ("tensor-tikhonov", exact)):
            rows = experiment.comparison(mock, solver, metrics.compare(unimodal, truth, weights),
                                         errors, np.zeros((9, 2)))
            report["rows"] += rows["rows"]
            report["losvd_rows"] += rows["losvd_rows"]
            report["summaries"].append(rows["summary"])
            report["runs"].append({"mock": mock, "solver": solver, "result": "r.h5",
                                   "seconds": 3.0, "ranks": 2, "iterations": 10})
    assert {row["map"] for row in report["rows"]} == set(MAP_NAMES)
    assert len(report["rows"]) == 2 * 2 * len(MAP_NAMES) and len(report["losvd_rows"]) == 36
    table = experiment.format_table(report)
    assert table.count("mock three-component") == table.count("mock bulge-counter-disk") == 1
    assert all(name in table for name in MAP_NAMES) and "tensor-tikhonov" in table
    assert "bimodal recovered of 3" in table and "mass > 3 sigma (truth" in table
    row = json.loads(json.dumps(report))["rows"][0]
    assert row.keys() >= {"mock", "solver", "map", "error_ppxf", "error_hpcinv"}


def test_an_installed_ppxf_is_used_without_pip(monkeypatch):
    package, module = types.ModuleType("ppxf"), types.ModuleType("ppxf.ppxf")
    module.ppxf = object()
    package.ppxf = module
    monkeypatch.setitem(sys.modules, "ppxf", package)
    monkeypatch.setitem(sys.modules, "ppxf.ppxf", module)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip was called"))
    assert ppxf_fit.ensure_ppxf() is module.ppxf


def test_a_failed_install_names_pip_and_the_version(monkeypatch):
    monkeypatch.setitem(sys.modules, "ppxf", None)      # import ppxf raises ImportError
    monkeypatch.setattr(subprocess, "run", lambda command, **k: subprocess.CompletedProcess(
        command, 1, "", "ERROR: no network"))
    with pytest.raises(RuntimeFailure, match=r"pip could not install ppxf==9\.5\.2.*no network"):
        ppxf_fit.ensure_ppxf()


def test_the_experiment_is_registered_with_its_options():
    assert EXPERIMENTS["pnkr-vs-ppxf"] == "hpcinv.apps.galaxy.reproduce_pnkr_vs_ppxf"
    usage = hpcinv(["reproduce", "pnkr-vs-ppxf", "--help"])
    assert usage.returncode == 0
    for option in ("--json", "--result", "--mocks", "--solvers", "--mesh", "--max-iterations",
                   "--output", "--regul"):
        assert option in usage.stdout


def test_a_result_that_is_not_a_galaxy_mock_is_refused(tmp_path):
    result = tmp_path / "deconvolution.h5"
    assert hpcinv(["run", "jobs/deconvolution2d-cgls.toml", "--output", result,
                   "--quiet"]).returncode == 0
    refused = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", result])
    assert refused.returncode == 2
    assert "'deconvolution' result, not a galaxy run" in refused.stderr
    missing = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", tmp_path / "none.h5"])
    assert missing.returncode == 2 and "no such result file" in missing.stderr
    mixed = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", result, "--max-iterations", "5"])
    assert mixed.returncode == 2 and "apply to the jobs" in mixed.stderr
    unknown = hpcinv(["reproduce", "pnkr-vs-ppxf", "--solvers", "pnkr,cgls"])
    assert unknown.returncode == 2 and "--solvers" in unknown.stderr and "'cgls'" in unknown.stderr
    labelled = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", result, "--mocks",
                       "bulge-counter-disk"])
    assert labelled.returncode == 2 and "--mocks" in labelled.stderr


def test_the_jobs_default_to_the_kinematics_mesh_where_the_truth_is_bimodal():
    """The comparison's default mesh resolves the counter-rotating peaks: both mocks have
    bimodal truth LOSVDs there (none or one on the demo mesh's 167 km/s cells)."""
    from hpcinv.core.petsc_env import initialize
    from helpers import build_job

    args = types.SimpleNamespace(mocks=None, solvers=["pnkr"], mesh=None, max_iterations=None)
    specs = experiment._job_specs(args)
    assert [mock for mock, _, _ in specs] == ["three-component", "bulge-counter-disk"]
    for _, _, spec in specs:
        assert spec.problem["mesh"].endswith("meshes/galaxy/kinematics.toml")
        problem = build_job(initialize().COMM_SELF, _spec_text(spec))[1]
        products = problem.derived(problem.truth)
        counts = metrics.bimodality(products["truth_losvd_cube"], products["truth_losvd_cube"],
                                    products["velocity"], metrics.sky_mask(products["truth_mass"]))
        assert counts["bimodal_truth"] >= 3
        assert counts["bimodal_recovered"] == counts["bimodal_truth"]


def _spec_text(spec):
    from hpcinv.core.jobspec.toml_text import toml_text

    return toml_text({"problem": spec.problem, "solver": {"kind": "pnkr"}})


def test_the_jobs_store_their_mock_and_solver_in_the_spec_text():
    from hpcinv.apps.galaxy.demo import demo_spec
    from hpcinv.core.errors import InputError
    from hpcinv.core.jobspec import parse_spec

    spec = demo_spec(max_iterations=7, mock="bulge-counter-disk", solver="tensor-tikhonov")
    stored = parse_spec(spec.text)           # what a result's job_spec rebuilds
    assert stored.problem["mock"] == "bulge-counter-disk"
    assert stored.solver["kind"] == "tensor-tikhonov" and stored.solver["max_iterations"] == 7
    assert stored.problem["beta"] == demo_spec().problem["beta"]
    assert "The built-in demo job" in demo_spec().text
    with pytest.raises(InputError, match="pnkr or tensor-tikhonov"):
        demo_spec(solver="cgls")


def test_a_spectrum_without_positive_median_is_left_unfitted():
    class Strict:                       # pPXF asserts a positive noise vector
        def __init__(self, templates, spectrum, noise, **options):
            assert np.all(noise > 0)
            self.sol = np.array([10.0, 100.0, 0, 0, 0, 0])
            self.weights = np.ones(int(np.prod(templates.shape[1:])))

    spectra = np.array([np.full(5, 2.0), np.full(5, -1.0), np.zeros(5)])
    templates = np.ones((5, 2, 3))
    kinematics, weights = ppxf_fit.fit_spectra(Strict, templates, spectra, np.ones_like(spectra),
                                               {}, lambda done: None)
    assert ppxf_fit.fittable(spectra).tolist() == [True, False, False]
    assert weights[0].sum() == 12.0 and not weights[1:].any()   # scaled back by the median
    assert kinematics[0, 0] == 10.0 and np.all(kinematics[1:, 1] > 0)
