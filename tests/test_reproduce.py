"""``hpcinv reproduce pnkr-paper`` as users run it, on a tiny mesh: the rows it prints, the
convergence of the noise-free case, and the same numbers on 1 and 2 ranks."""
import json

import numpy as np
import pytest

from hpcinv.apps.galaxy.reproduce_pnkr_paper import range_of_adjoint_truth
from hpcinv.core.petsc_env import initialize
from helpers import build_job, gather, hpcinv

PETSc = initialize()

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
    assert [(r["case"], r["s"]) for r in two] == [(r["case"], r["s"]) for r in one]
    for a, b in zip(one, two):
        for key in ("loops", "relative_residual", "relative_error"):
            assert np.isclose(a[key], b[key], rtol=1e-9), (key, a, b)


def test_pnkr_paper_names_a_bad_option():
    result = hpcinv(["reproduce", "pnkr-paper", "--cases", "c"])
    assert result.returncode == 2 and "--cases" in result.stderr
    result = hpcinv(["reproduce", "pnkr-paper", "--mesh", "nowhere"])
    assert result.returncode == 2 and "--mesh" in result.stderr


@pytest.mark.parametrize("order", [0, 1])
def test_range_of_adjoint_truth_is_the_dense_formula(order):
    """u_perp = M^-1 sum_r H_r^T H_r u* with dense H_r = N (x) k_r^T and M = Psi (x) Phi."""
    problem = build_job(PETSc.COMM_SELF, '[problem]\nkind = "galaxy"\n'
                        'mesh = "meshes/galaxy/tiny.toml"\n'
                        f'order = {order}\nbeta = 0.5\nnoise_level = 0.0\n'
                        '[solver]\nkind = "pnkr"\n')[1]
    blocks = problem.block_rows
    truth = gather(problem.truth)
    gram, kernel = blocks.data_gram.toarray(), blocks.kernel
    normal = np.kron(gram @ gram, kernel.T @ kernel)
    metric = np.kron(blocks.spatial_metric.toarray(), blocks.theta_metric.toarray())
    expected = np.linalg.solve(metric, normal @ truth)
    range_of_adjoint_truth(problem)
    np.testing.assert_allclose(gather(problem.truth), expected, rtol=1e-9,
                               atol=1e-12 * np.abs(expected).max())
    data = problem.operator.create_vecs()[1]
    problem.operator.mult(problem.truth, data)
    assert np.allclose(gather(problem.data), gather(data))
    assert problem.noise_free_data.equal(problem.data)
