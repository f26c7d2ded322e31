"""``hpcinv reproduce pnkr-paper`` as users run it, on a tiny mesh: the rows it prints, the
convergence of the noise-free case, and the same numbers on 1 and 2 ranks."""
import json

import numpy as np

from helpers import hpcinv

ARGS = ["reproduce", "pnkr-paper", "--mesh", "tiny", "--loops-noise-free", "3",
        "--max-loops", "5", "--json", "--quiet"]


def _rows(ranks: int) -> list[dict]:
    result = hpcinv(ARGS, ranks=ranks)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ranks"] == ranks and report["tau"] == 1.2
    return report["rows"]


def test_pnkr_paper_rows_on_one_and_two_ranks():
    one, two = _rows(1), _rows(2)
    assert [(r["case"], r["s"]) for r in one] == [("noise-free", 0), ("noise-free", 1),
                                                  ("noise-1%", 0), ("noise-1%", 1)]
    for row in one:
        assert set(row) >= {"case", "s", "loops", "relative_residual", "relative_error",
                            "seconds"}
        assert row["loops"] == (3 if row["case"] == "noise-free" else 5)
    for row in one[:2]:        # noise-free data of a truth in the range: the error falls
        errors = row["error_per_loop"]
        assert len(errors) == 3 and errors[-1] < errors[0] < 1
    for a, b in zip(one, two):
        for key in ("loops", "relative_residual", "relative_error"):
            assert np.isclose(a[key], b[key], rtol=1e-9), (key, a, b)


def test_pnkr_paper_names_a_bad_option():
    result = hpcinv(["reproduce", "pnkr-paper", "--cases", "c"])
    assert result.returncode == 2 and "--cases" in result.stderr
    result = hpcinv(["reproduce", "pnkr-paper", "--mesh", "nowhere"])
    assert result.returncode == 2 and "--mesh" in result.stderr
