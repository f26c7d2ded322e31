"""``hpcinv reproduce luiken-ch4`` in-process on the tiny survey: the rows and per-frequency
arrays the issue asks for, block and column CG agreeing once the column method has
converged, and a PyLops row that says PyLops is missing rather than failing (the tests never
need PyLops)."""
import argparse
import json

import numpy as np
import pytest

from hpcinv.apps.seismic import pylops_peer
from hpcinv.apps.seismic import reproduce_luiken_ch4 as ch4
from hpcinv.core.errors import InputError

ROW_KEYS = {"method", "seconds", "relative_error", "iterations"}


def _report(capsys, *arguments) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    ch4.add_arguments(parser)
    assert ch4.run(parser.parse_args(["--mesh", "tiny", "--json", "--quiet", *arguments])) == 0
    return json.loads(capsys.readouterr().out)


def _without_pylops(monkeypatch):
    def missing(module):
        raise pylops_peer.PeerMissing(f"no {module} here")
    monkeypatch.setattr(pylops_peer, "_import", missing)


def test_rows_and_per_frequency_arrays(capsys, monkeypatch):
    _without_pylops(monkeypatch)
    report = _report(capsys)
    n_f = len(report["frequencies"])
    # tiny: 64 samples of 8 ms, kept up to 3 x 15 Hz.
    assert n_f == 24 and report["max_frequency"] <= 45.0
    assert report["sizes"] == {"n_t": 64, "n_r": 6, "n_v": 6, "n_s": 6}
    for name in ("rank_q", "rank_p", "deflated_rank"):
        ranks = report[name]
        assert len(ranks) == n_f and all(0 <= rank <= 6 for rank in ranks)
    # Noise-free data: D = G Q has at most the rank of Q.
    assert all(p <= q for p, q in zip(report["rank_p"], report["rank_q"]))
    block, column, peer = report["rows"]
    assert [block["method"], column["method"], peer["method"]] == ["block", "column", "pylops"]
    for row in (block, column):
        assert set(row) >= ROW_KEYS and row["seconds"] > 0
        assert len(row["frequency_relative_error"]) == n_f
        assert 0 < row["relative_error"] < 1
    assert block["iterations"] == 1
    # By default the column method runs to the block method's error.
    assert column["relative_error"] <= block["relative_error"] * (1 + 1e-12)
    assert set(peer) >= ROW_KEYS and peer["seconds"] is None
    assert "not installed" in peer["note"] and "pip install" in peer["note"]


def test_block_and_column_agree_once_the_column_method_has_converged(capsys):
    # Six steps of single columns span C^6 (n_v = 6): where Q_f has full rank both are the
    # solution, g up to rounding.  (Where it has not, the two drop different directions
    # below the tolerance, so they differ by about that much.)
    report = _report(capsys, "--column-iterations", "6", "--block-iterations", "6",
                     "--deflation-tolerance", "1e-10", "--no-pylops")
    block, column, peer = report["rows"]
    assert column["iterations"] == 6 and "skipped" in peer["note"]
    full_rank = np.array(report["rank_q"]) == report["sizes"]["n_v"]
    assert full_rank.sum() >= 10
    for row in (block, column):
        np.testing.assert_allclose(np.array(row["frequency_relative_error"])[full_rank], 0.0,
                                   atol=1e-8)
        # What remains: g's energy above the kept bins and the rank-deficient frequencies.
        assert row["relative_error"] < 1e-2
    assert column["relative_error"] == pytest.approx(block["relative_error"], rel=0.3)


def test_the_text_table_puts_the_thesis_beside_ours(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    ch4.add_arguments(parser)
    assert ch4.run(parser.parse_args(["--mesh", "tiny", "--quiet", "--no-pylops"])) == 0
    text = capsys.readouterr().out
    assert "thesis 21x" in text and "rank Q" in text and "23.1" in text


def test_bad_arguments_are_refused_before_any_work():
    parser = argparse.ArgumentParser()
    ch4.add_arguments(parser)
    with pytest.raises(InputError, match="--block-iterations"):
        ch4.check_arguments(parser.parse_args(["--block-iterations", "0"]))
    with pytest.raises(InputError, match="--mesh"):
        ch4.resolve_mesh("no-such-survey")
