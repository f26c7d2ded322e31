"""``hpcinv reproduce luiken-ch6`` as users run it, on small grids: the iteration rows of
inexact and exact SR3 over kappa and of ADMM, F_kappa's spectrum against A L_A^+'s, Pareto
points below the original curve, the same numbers on 1 and 2 ranks, bad flags refused.
(PyProximal is a peer installed on use: ``--no-peer`` here.)"""
import json

import numpy as np
import pytest

from helpers import hpcinv

KAPPAS = [0.1, 1.0, 10.0]
ARGS = ["reproduce", "luiken-ch6", "--gravity-n", "64", "--tomography-n", "16",
        "--small-tomography-n", "8", "--kappas", ",".join(map(str, KAPPAS)),
        "--pareto-problems", "compressed-sensing,tomography", "--pareto-fractions", "0.5,1",
        "--pareto-kappas", "1,100", "--max-outer", "5000", "--no-peer", "--json", "--quiet"]
ROW_KEYS = {"problem", "method", "kappa", "outer", "inner", "total", "relative_error",
            "objective", "seconds"}


@pytest.fixture(scope="module")
def reports() -> dict:
    reports = {}
    for ranks in (1, 2):
        result = hpcinv(ARGS, ranks=ranks, timeout=300)
        assert result.returncode == 0, result.stderr
        reports[ranks] = json.loads(result.stdout)
        assert reports[ranks]["ranks"] == ranks
    return reports


def test_inexact_sr3_needs_fewer_lsqr_steps_for_the_same_point(reports):
    rows = reports[1]["iterations"]
    assert all(ROW_KEYS <= set(row) for row in rows)
    for problem in ("gravity", "tomography"):
        mine = [row for row in rows if row["problem"] == problem]
        assert [row["method"] for row in mine] == ["sr3-inexact", "sr3-exact"] * 3 + \
            ["admm", "sr3-inexact"]
        assert all(row["reason"] == "converged" for row in mine if row["method"] != "admm")
        for kappa in KAPPAS:
            inexact, exact = (row for row in mine if row["kappa"] == kappa
                              and row["form"] == "constrained" and row["method"] != "admm")
            assert inexact["total"] < exact["total"]
            assert inexact["total"] == pytest.approx(inexact["outer"] * inexact["inner"])
            # Noise-free with the oracle tau: both minima are 0; both end near it.
            assert inexact["relative_objective"] < 1e-6 and exact["relative_objective"] < 1e-6
        twin = mine[-1]
        assert twin["form"] == "penalized" and twin["weight"] > 0 and twin["kappa"] == 1.0


def test_f_kappa_is_capped_at_sqrt_kappa_and_tends_to_the_standard_form(reports):
    rows = reports[1]["spectrum"]
    for problem in ("gravity 64", "tomography 8x8"):
        standard, *relaxed = (row for row in rows if row["problem"] == problem)
        assert standard["operator"] == "A L_A^+" and [row["kappa"] for row in relaxed] == KAPPAS
        for row in relaxed:
            assert row["quantiles"][0] <= np.sqrt(row["kappa"]) * (1 + 1e-12)
            assert np.all(np.diff(row["quantiles"]) <= 0)
        # Small kappa: F_kappa far better conditioned than A L_A^+, H_kappa the worse.
        assert relaxed[0]["condition"] < standard["condition"]
        assert relaxed[0]["condition_h"] > relaxed[-1]["condition_h"]
    tomography = [row for row in rows if row["problem"] == "tomography 8x8"][1:]
    # L = [I (x) D; D (x) I] on 8 x 8: p = 112 rows of rank 63, so 49 values sqrt(kappa).
    assert all(row["values"] == 112 and row["at_sqrt_kappa"] >= 49 for row in tomography)


def test_relaxed_pareto_points_lie_below_the_original_curve(reports):
    rows = reports[1]["pareto"]
    assert [(row["problem"], row["fraction"], row["kappa"]) for row in rows] == [
        (problem, fraction, kappa) for problem in ("compressed-sensing", "tomography")
        for fraction in (0.5, 1.0) for kappa in (1.0, 100.0)]
    for row in rows:
        assert row["phi_relaxed_lower"] <= row["phi_relaxed"] * (1 + 1e-9) + 1e-12
        if row["fraction"] < 1:   # away from tau*, where both curves reach 0
            assert row["below"]
    sensing = [row for row in rows if row["problem"] == "compressed-sensing"]
    assert all(row["original_method"] == "fista" and row["phi_original_lower"] is not None
               for row in sensing)
    # The larger kappa's curve is the closer to the original one (Theorem 9).
    for fraction in (0.5,):
        small, large = (row for row in sensing if row["fraction"] == fraction)
        assert small["phi_relaxed"] < large["phi_relaxed"] <= large["phi_original"] * 1.000001


def test_one_and_two_ranks_agree(reports):
    for key in ("iterations", "pareto"):
        for one, two in zip(reports[1][key], reports[2][key]):
            assert (one["problem"], one.get("method")) == (two["problem"], two.get("method"))
            # LSQR's reductions round differently on 2 ranks, so the stops (at a relative
            # change of 1e-6, not an error of 1e-6) move along the flat valley of the
            # severely ill-posed gravity problem: inexact SR3 at kappa 1 stopped at errors
            # 3.6e-3 and 3.0e-3 of ||x_true||, both at objectives ~2e-11 of f(0).
            if key == "iterations":
                assert two["relative_error"] == pytest.approx(one["relative_error"], rel=0.05,
                                                              abs=1e-3)
                assert two["relative_objective"] == pytest.approx(
                    one["relative_objective"], rel=0.5, abs=1e-10)
            elif one["fraction"] < 1:   # at tau* phi is 0 up to the stopping tolerance
                assert two["phi_relaxed"] == pytest.approx(one["phi_relaxed"], rel=1e-3)
    for one, two in zip(reports[1]["spectrum"], reports[2]["spectrum"]):
        np.testing.assert_allclose(two["quantiles"][:3], one["quantiles"][:3], rtol=1e-8)


@pytest.mark.parametrize("flags, named", [
    (["--kappas", "1,10"], "--kappas"),
    (["--kappas", "1,-1,3"], "--kappas"),
    (["--experiments", "iterations,figures"], "--experiments"),
    (["--pareto-problems", "gravity,heat"], "--pareto-problems"),
    (["--tomography-n", "1"], "--tomography-n"),
])
def test_bad_flags_are_refused_naming_them(flags, named):
    result = hpcinv(["reproduce", "luiken-ch6", *flags, "--quiet"], timeout=60)
    assert result.returncode == 2 and named in result.stderr, result.stderr
