"""``hpcinv inspect``'s text: what the solver chose, and the discrepancy target only when the
run had one."""
import numpy as np

from hpcinv.report.summary import format_summary

HISTORY = {"iteration": np.array([0, 1, 2]), "residual_norm": np.array([8.0, 2.0, 0.4]),
           "relative_residual": np.array([1.0, 0.25, 0.05]),
           "relative_error": np.array([1.0, 0.5, 0.3])}


def _summary(**attributes):
    return {"problem_kind": "gravity", "solver_kind": "tikhonov", "iterations": 2,
            "stop_reason": "gcv", "datasets": ["/solution"], **attributes}


def test_tikhonov_shows_lambda_and_no_target():
    text = format_summary("r.h5", _summary(
        discrepancy_target=0.0, solver_results={"lambda": 0.00448327, "rule": "gcv"},
        problem_attributes={"n": 1000, "wcs": "x" * 200}), HISTORY)
    assert "solver       lambda 0.00448327, rule gcv" in text
    assert "no discrepancy target" in text and "target 0" not in text
    line = next(line for line in text.splitlines() if line.startswith("problem      n"))
    assert line.endswith("...") and len(line) < 120      # a long value is cut short


def test_discrepancy_target_is_shown_relative_and_absolute():
    text = format_summary("r.h5", _summary(solver_kind="cgls", discrepancy_target=0.408),
                          HISTORY)
    # ||b|| = 8: the relative target is 0.408 / 8.
    assert "discrepancy target tau*delta 5.1000e-02 relative, 4.0800e-01 absolute" in text
    assert "solver       " not in text


def test_penalized_kinds_name_their_chi_square_target():
    """They stop at a chi-square N_e of noise-weighted residuals, not at tau*delta."""
    text = format_summary("r.h5", _summary(solver_kind="penalized-subspace",
                                           discrepancy_target=0.408), HISTORY)
    assert "chi-square target sqrt(N_e) 5.1000e-02 relative, 4.0800e-01 absolute" in text
    assert "tau*delta" not in text
