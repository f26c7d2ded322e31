"""``hpcinv reproduce luiken-ch5`` through the command line on 1 and 2 ranks, on the tiny
survey at 1:1 and on a copy of it with a source at every 4th receiver (1:4), with the sweep,
the iteration limits and the Lanczos steps cut to what tiny needs (its optima lie below 60
LSQR / 120 MINRES steps).  On tiny the onsets are all zero (the 100 m line is shorter than
one wavelet period at c1), so only reciprocity binds.

What the two rank counts share: Table 5.1 to rounding, and each curve up to its optimum
(past it the Krylov recurrences amplify the different summation orders by about 10 per
iteration on this small problem); Table 5.2's lambdas exactly (the same golden-section
decisions) and its errors as far as its final iterates have converged (measured: 2e-5 for
the penalty's 60 LSQR steps at lambda_opt, 1e-13 at ten times lambda_opt); the lambda of a
converged choice on the preconditioned system.  Not the penalty system's GCV: its
Hutchinson probe is drawn over the stacked [Q; L] vector, whose global order interleaves
the ranks' blocks, so another rank count draws another probe.
"""
import argparse
import json
import math

import numpy as np
import pytest

from hpcinv.apps.seismic import reproduce_luiken_ch5 as ch5
from hpcinv.apps.seismic import luiken_ch5_study as study
from hpcinv.core.errors import InputError
from helpers import ROOT, hpcinv

ROW_KEYS = {"table", "ratio", "solver", "tikhonov", "error", "iterations", "lambda", "thesis"}
LIMITS = {"preconditioned": 60, "penalty": 60, "kkt": 120}
REDUCED = ["--max-iterations", "60", "--max-kkt-iterations", "120", "--lambdas", "5",
           "--lambda-range", "1e-4", "1", "--refinements", "2", "--lanczos-steps", "70"]
# Table 5.1 on tiny: preconditioned 0.2255 / 0.259, KKT 0.2225 / 0.258 (1:1 / 1:4).
PRECONDITIONED_VS_KKT = 0.03


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(1-rank report, 2-rank report, figure directory of the 2-rank run)."""
    directory = tmp_path_factory.mktemp("luiken-ch5")
    sparse = directory / "tiny-1x4.toml"
    tiny = (ROOT / "meshes" / "seismic" / "tiny.toml").read_text()
    sparse.write_text(tiny.replace("step = 1", "step = 4"))
    arguments = ["reproduce", "luiken-ch5", "--mesh", "tiny", "--mesh-1x4", sparse, "--json",
                 "--quiet", *REDUCED]
    one = hpcinv(arguments)
    two = hpcinv([*arguments, "--figures", directory / "figures"], ranks=2)
    for run in (one, two):
        assert run.returncode == 0, run.stderr
    return json.loads(one.stdout), json.loads(two.stdout), directory / "figures"


def _rows(report, table):
    return [row for row in report["rows"] if row["table"] == table]


def test_rows_keys_and_error_bounds(runs):
    for report in runs[:2]:
        assert set(report["ratios"]) == {"1:1", "1:4"}
        assert report["ratios"]["1:4"]["sizes"] == {"n_t": 64, "n_r": 6, "n_s": 2}
        assert len(_rows(report, "5.1")) == len(_rows(report, "5.2")) == 6
        assert len(_rows(report, "choice")) == 8
        for row in report["rows"]:
            assert set(row) >= ROW_KEYS and row["ratio"] in ("1:1", "1:4")
            if row["error"] is not None:
                assert math.isfinite(row["error"]) and 0 < row["error"] < 1.5
        for row in _rows(report, "5.1") + _rows(report, "5.2"):
            assert row["error"] is not None and row["thesis"] in (0.08, 0.10, 0.12, 0.13,
                                                                  0.14, 0.17)


def test_table_51_takes_the_least_error_of_each_curve(runs):
    report = runs[0]
    for row in _rows(report, "5.1"):
        curve = report["ratios"][row["ratio"]]["curves"][row["solver"]]
        assert len(curve) == LIMITS[row["solver"]] + 1 and curve[0] == pytest.approx(1.0)
        assert 0 < row["iterations"] < LIMITS[row["solver"]]
        assert row["error"] == min(curve) == curve[row["iterations"]]
    for ratio in ("1:1", "1:4"):
        errors = {row["solver"]: row["error"] for row in _rows(report, "5.1")
                  if row["ratio"] == ratio}
        assert errors["kkt"] == pytest.approx(errors["preconditioned"],
                                              rel=PRECONDITIONED_VS_KKT)


def test_lambda_opt_lies_inside_the_sweep_and_is_its_least_error(runs):
    report = runs[0]
    for row in _rows(report, "5.2"):
        block = report["ratios"][row["ratio"]]
        grid, points = block["lambda_grid"], block["sweeps"][row["solver"]]
        assert len(grid) == 5 and len(points) == 5 + 2
        assert grid[0] < row["lambda"] < grid[-1] and row["interior"]
        assert row["error"] == min(point["error"] for point in points)
        assert row["settled"] and row["thesis_lambda"] > 0


def test_choices_and_findings_carry_their_numbers(runs):
    report = runs[0]
    for row in _rows(report, "choice"):
        assert row["solver"] in study.CHOICE_SYSTEMS and row["rule"] in study.CHOICE_RULES
        assert row["thesis_near_optimum"] is False
        if row["lambda"] is not None:
            optimum = next(r["lambda"] for r in _rows(report, "5.2")
                           if (r["ratio"], r["solver"]) == (row["ratio"], row["solver"]))
            assert row["lambda_over_optimum"] == pytest.approx(row["lambda"] / optimum)
    for block in report["ratios"].values():
        found = block["findings"]
        assert set(found) == {"kkt_best_without_tikhonov", "equal_with_tikhonov",
                              "penalty_fewer_iterations_than_kkt",
                              "preconditioned_sharpest_minimum", "no_rule_near_optimum"}
        assert all(isinstance(item["holds"], bool) and item["thesis"] for item in found.values())
        iterations = found["penalty_fewer_iterations_than_kkt"]["iterations"]
        assert found["penalty_fewer_iterations_than_kkt"]["holds"] == \
            (iterations["penalty"] < iterations["kkt"])


def test_one_and_two_ranks_agree(runs):
    one, two = runs[:2]
    for first, second in zip(one["rows"], two["rows"]):
        assert (first["table"], first["ratio"], first["solver"], first.get("rule")) == \
            (second["table"], second["ratio"], second["solver"], second.get("rule"))
        if first["table"] == "5.1":
            assert first["iterations"] == second["iterations"]
            assert first["error"] == pytest.approx(second["error"], rel=1e-10)
        elif first["table"] == "5.2":
            assert first["lambda"] == pytest.approx(second["lambda"], rel=1e-10)
            assert first["error"] == pytest.approx(second["error"], rel=1e-4)
        elif first["solver"] == "preconditioned" and first["converged"]:
            assert second["converged"]
            assert first["lambda"] == pytest.approx(second["lambda"], rel=1e-8)
    assert any(row["converged"] for row in _rows(one, "choice"))
    for ratio, block in one["ratios"].items():
        for row in _rows(one, "5.1"):
            if row["ratio"] == ratio:
                stop = row["iterations"] + 1
                np.testing.assert_allclose(block["curves"][row["solver"]][:stop],
                                           two["ratios"][ratio]["curves"][row["solver"]][:stop],
                                           rtol=1e-8)


def test_figures_are_written_on_two_ranks(runs):
    report, directory = runs[1], runs[2]
    names = {f"luiken-ch5-{ratio}-{kind}.png" for ratio in ("1x1", "1x4")
             for kind in ("semiconvergence", "cross-sections")}
    assert {path.name for path in directory.iterdir()} == names
    assert sorted(report["figures"]) == sorted(str(directory / name) for name in names)
    assert all((directory / name).stat().st_size > 10_000 for name in names)


def test_the_text_table_puts_the_thesis_beside_ours(runs):
    text = ch5.table(runs[0])
    for expected in ("Table 5.1", "Table 5.2", "0.14", "0.10", "0.17", "0.13", "1.1e-05",
                     "2.6e-06", "reginska", "gcv", "KKT best without Tikhonov"):
        assert expected in text


def _arguments(*words):
    parser = argparse.ArgumentParser()
    ch5.add_arguments(parser)
    return parser.parse_args(list(words))


@pytest.mark.parametrize("words,option", [
    (["--lambdas", "1"], "--lambdas"),
    (["--rho", "0"], "--rho"),
    (["--lambda-range", "1", "0.1"], "--lambda-range"),
    (["--max-kkt-iterations", "0"], "--max-kkt-iterations"),
    (["--noise-level", "1.5"], "--noise-level"),
    (["--mesh", "none", "--mesh-1x4", "none"], "--mesh"),
])
def test_bad_arguments_are_refused_before_any_work(words, option):
    with pytest.raises(InputError, match=option):
        ch5.check_arguments(_arguments(*words))


def test_an_unknown_mesh_names_its_option():
    with pytest.raises(InputError, match="--mesh-1x4"):
        ch5.resolve_meshes(_arguments("--mesh", "tiny", "--mesh-1x4", "no-such-survey"))


def test_bad_arguments_exit_2_from_the_command_line():
    run = hpcinv(["reproduce", "luiken-ch5", "--mesh", "tiny", "--rho", "-1"])
    assert run.returncode == 2 and "--rho" in run.stderr


def test_golden_section_closes_in_on_a_minimum():
    errors = {}

    def error_at(x):
        errors[x] = (x - 0.3) ** 2
        return errors[x]

    study.golden_section(error_at, -1.0, 1.0, 12)
    assert len(errors) == 12 and min(errors, key=errors.get) == pytest.approx(0.3, abs=0.01)


def test_basin_width_counts_the_iterations_near_the_least_error():
    assert study.basin_width(np.array([1.0, 0.5, 0.41, 0.4, 0.41, 0.6])) == (3, False)
    assert study.basin_width(np.array([1.0, 0.5, 0.4, 0.41])) == (2, True)
