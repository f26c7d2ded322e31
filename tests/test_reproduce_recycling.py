"""``hpcinv reproduce recycling`` as users run it, at a small size: the issue's JSON rows for
the three parts, recycling needing fewer iterations to the discrepancy principle, and 1 and
2 ranks agreeing."""
import json

import pytest

from helpers import hpcinv

ARGS = ["reproduce", "recycling", "--blur-n", "48", "--blur-sigma", "2", "--ao-n", "49",
        "--ao-pupil-pixels", "12",
        "--ks", "0,2,9", "--frames", "3", "--frame-exposures", "4", "--ao-max-iterations",
        "150", "--blur-max-iterations", "600", "--json", "--quiet"]
KEYS = {"problem", "method", "k", "iterations_dp", "error_dp", "iterations_best", "error_best"}


def _rows(ranks: int) -> list[dict]:
    result = hpcinv(ARGS, ranks=ranks, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ranks"] == ranks
    return report["rows"]


def test_recycling_rows_on_one_and_two_ranks():
    one, two = _rows(1), _rows(2)
    assert all(set(row) >= KEYS for row in one)
    assert [(r["problem"], r["method"], r["k"]) for r in one] == [
        (r["problem"], r["method"], r["k"]) for r in two]
    blur = {(r["data"], r["method"]): r for r in one if r["problem"] == "blur"}
    assert len(blur) == 6
    for data in ("inverse-crime", "no-inverse-crime"):
        plain = blur[(data, "sd")]
        assert plain["k"] == 0 and plain["iterations_dp"] is not None
        assert blur[(data, "augmented-sd-clean")]["iterations_dp"] <= plain["iterations_dp"]
    ao = [r for r in one if r["problem"] == "ao"]
    assert [r["k"] for r in ao] == [0, 2, 9]
    assert ao[-1]["iterations_dp"] < ao[0]["iterations_dp"]
    assert all(r["iterations_best"] is not None and r["error_best"] <= r["error_dp"] + 1e-12
               for r in ao)
    sequence = [r for r in one if r["problem"] == "sequence"]
    assert [(r["frame"], r["method"]) for r in sequence] == [
        (f, m) for f in range(3) for m in ("warm-start", "recycle")]
    # Frame f recycles up to f earlier solutions; parallel ones are dropped.
    recycled = [r["k"] for r in sequence if r["method"] == "recycle"]
    assert recycled[0] == 0 and all(1 <= k <= f for f, k in enumerate(recycled) if f)
    for a, b in zip(one, two):
        assert a["iterations_dp"] == b["iterations_dp"]
        if a["error_dp"] is not None:
            assert a["error_dp"] == pytest.approx(b["error_dp"], rel=1e-8)


def test_bad_arguments_are_refused_before_any_work():
    result = hpcinv(["reproduce", "recycling", "--parts", "blur,nope"])
    assert result.returncode == 2 and "--parts" in result.stderr
    result = hpcinv(["reproduce", "recycling", "--ks", "0,x"])
    assert result.returncode == 2 and "--ks" in result.stderr
