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
    mask = experiment.sky_mask(truth_mass)
    assert mask.tolist() == [[True, True], [False, True]]
    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert experiment.map_error("mu_v", truth, truth, mask) == 0
    shifted = truth + np.array([[3.0, -3.0], [100.0, 3.0]])   # 100: left out
    assert experiment.map_error("mu_v", shifted, truth, mask) == pytest.approx(3.0)
    assert experiment.map_error("mass", 1.1 * truth_mass, truth_mass, mask) == \
        pytest.approx(0.1)


def test_losvd_error_is_zero_for_equal_and_two_for_disjoint_losvds():
    weights = np.full(4, 0.5)
    p = np.array([1.0, 1.0, 0.0, 0.0])
    assert experiment.losvd_error(p, p, weights) == 0
    assert experiment.losvd_error(p, p[::-1], weights) == pytest.approx(2.0)


def _products(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    products = {name: rng.uniform(1, 2, (3, 3)) for name in MAP_NAMES}
    products["losvd"] = rng.uniform(0, 1, (9, 5))
    return products


def test_the_table_and_json_list_every_map_and_losvd():
    truth = _products(1)
    pnkr = dict(_products(0), **{f"truth_{name}": values for name, values in truth.items()},
                losvd_positions=np.zeros((9, 2)))
    rows = experiment.comparison(truth, pnkr, np.ones(5))     # pPXF's maps: the truth's
    assert [row["map"] for row in rows["rows"]] == list(MAP_NAMES)
    assert all(row["error_ppxf"] == 0 and row["error_pnkr"] > 0 for row in rows["rows"])
    assert len(rows["losvd_rows"]) == 9
    report = {"result": "r.h5", "spectra": 9, "regul": 0.0, "ppxf_version": "9.5.2", **rows,
              "seconds_ppxf": 1.0, "ranks_ppxf": 2, "seconds_per_spectrum_ppxf": 0.2,
              "seconds_pnkr": 3.0, "ranks_pnkr": 2, "iterations_pnkr": 10}
    table = experiment.format_table(report)
    assert all(name in table for name in MAP_NAMES) and "wall time: pPXF 1.0 s" in table
    assert "pnkr 3.0 s on 2 rank(s), 10 loops" in table
    # A result of the second solver is labelled as such.
    table = experiment.format_table(dict(report, solver="tensor-tikhonov"))
    assert "tensor-tikhonov" in table.splitlines()[3]
    assert "tensor-tikhonov 3.0 s on 2 rank(s), 10 steps" in table
    assert json.loads(json.dumps(report))["rows"][0].keys() >= {"map", "error_ppxf",
                                                                "error_pnkr"}


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
    for option in ("--json", "--result", "--mesh", "--max-iterations", "--output", "--regul"):
        assert option in usage.stdout


def test_a_result_that_is_not_a_galaxy_mock_is_refused(tmp_path):
    result = tmp_path / "deconvolution.h5"
    assert hpcinv(["run", "jobs/deconvolution2d-cgls.toml", "--output", result,
                   "--quiet"]).returncode == 0
    refused = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", result])
    assert refused.returncode == 2
    assert "'deconvolution' result, not a galaxy mock" in refused.stderr
    missing = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", tmp_path / "none.h5"])
    assert missing.returncode == 2 and "no such result file" in missing.stderr
    mixed = hpcinv(["reproduce", "pnkr-vs-ppxf", "--result", result, "--max-iterations", "5"])
    assert mixed.returncode == 2 and "apply to the demo job" in mixed.stderr
