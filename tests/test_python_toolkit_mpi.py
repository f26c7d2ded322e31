"""The regularization toolkit's Python API on 1 and 2 ranks: README's example as written,
dense_operator, the numpy <-> Vec helpers (also where ranks own rows out of the operator's
order), GSVD.model, StandardForm.lanczos_choice and the reason a rule finds no lambda (also
through the Tikhonov solver and a job)."""
import re

import numpy as np
import pytest

import hpcinv
from hpcinv.core.petsc_env import initialize
from hpcinv.linalg import Layout, array_from_vec, dense_operator, vec_from_array
from hpcinv.linalg.decompositions.gsvd import gsvd
from hpcinv.linalg.dense import dense_matrix
from hpcinv.linalg.operator import StackedOperator
from hpcinv.operators.regularization import regularization_operator
from hpcinv.solvers.tikhonov import (StandardForm, choose_lambda_explained,
                                     lanczos_choice_explained)
from hpcinv.solvers.tikhonov.paramchoice import SpectralModel, choose_lambda
from hpcinv.solvers.tikhonov.paramchoice.lanczos import lanczos_choice
from helpers import ROOT, gather, hpcinv as hpcinv_command, write_job

PETSc = initialize()
COMM = PETSc.COMM_WORLD
RANK, SIZE = COMM.getRank(), COMM.getSize()


def _readme_example() -> str:
    """The Python block under README's "The regularization toolkit from Python"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The regularization toolkit from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def _gravity(n):
    s = (np.arange(n) + 0.5) / n
    return 0.25 / n * (0.0625 + (s[:, None] - s) ** 2) ** -1.5, s


def _tikhonov(A, L, b, lam):
    return np.linalg.solve(A.T @ A + lam * L.T @ L, A.T @ b)


@pytest.mark.mpi
def test_readme_example_runs_and_is_right(capsys):
    namespace = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    A, s = _gravity(64)
    L = np.diff(np.eye(64), axis=0)
    b = array_from_vec(namespace["b"])
    noise = 1e-3 * np.random.default_rng(0).standard_normal(64)
    np.testing.assert_allclose(b, A @ np.sin(np.pi * s) + noise, rtol=1e-13, atol=1e-15)
    gcv, lanczos, dp = namespace["gcv"], namespace["lanczos"], namespace["dp"]
    # What README's comment says it prints.
    assert f"{gcv.lam:.3g} {lanczos.lam:.3g}" == "0.000475 0.000475"
    assert lanczos.lam == pytest.approx(gcv.lam, rel=1e-3) and lanczos.reason == ""
    assert dp.lam is None and dp.reason.startswith(
        "the discrepancy target tau ||e|| = 100 lies above the residual ||A x - b|| at the "
        "largest lambda searched (5.24 at lambda = 6.82e+03; ||b|| = 35.73): ")
    np.testing.assert_allclose(namespace["x_gsvd"], _tikhonov(A, L, b, gcv.lam), rtol=1e-10,
                               atol=0)
    if RANK == 0:
        np.testing.assert_allclose(namespace["x_lanczos"], _tikhonov(A, L, b, lanczos.lam),
                                   rtol=1e-8)
    else:
        assert namespace["x_lanczos"] is None
    assert "0.000475 0.000475 None the discrepancy target" in capsys.readouterr().out


@pytest.mark.mpi
def test_dense_operator_holds_each_ranks_rows():
    dense = np.arange(35.0).reshape(7, 5) ** 0.5
    asked = []

    def rows(start, stop):
        asked.append((start, stop))
        return dense[start:stop]

    operator = dense_operator(COMM, dense.shape, rows)
    assert asked == [(operator.range_layout.start, operator.range_layout.stop)]
    np.testing.assert_array_equal(dense_matrix(operator), dense)
    with pytest.raises(ValueError, match="rows_fn"):
        dense_operator(COMM, dense.shape, lambda start, stop: dense[start:stop, :4])


def _gradient_reference(shape):
    n0, n1 = shape
    return np.vstack([np.kron(np.eye(n0), np.diff(np.eye(n1), axis=0)),
                      np.kron(np.diff(np.eye(n0), axis=0), np.eye(n1))])


@pytest.mark.mpi
@pytest.mark.parametrize("root", [None, 0, SIZE - 1])
def test_vecs_round_trip_in_the_operators_order(root):
    """gradient2d gives each rank its share of both blocks: the range Vec's global order is
    not the operator's, yet L x read back is the dense L @ x, and an array put in comes
    back unchanged."""
    shape = (5, 7)
    G = regularization_operator(COMM, "gradient2d", shape)
    reference = _gradient_reference(shape)
    if SIZE > 1:   # the case the helpers are for: ranks own rows out of order
        assert len(G.natural_row_ranges()) == 2
    x_whole = np.random.default_rng(3).standard_normal(reference.shape[1])
    x = vec_from_array(G, x_whole, "domain")
    _, y = G.create_vecs()
    G.mult(x, y)
    image = array_from_vec(y, G, "range", root=root)
    if root is None or RANK == root:
        np.testing.assert_allclose(image, reference @ x_whole, rtol=1e-14, atol=1e-14)
    else:
        assert image is None
    y_whole = np.random.default_rng(4).standard_normal(reference.shape[0])
    y = vec_from_array(G, y_whole, "range")
    np.testing.assert_array_equal(G.gathered_range(y), y_whole)
    back = array_from_vec(y, G, "range", root=root)
    if root is None or RANK == root:
        np.testing.assert_array_equal(back, y_whole)
    # G^T y with y put in through the helper is the dense G^T @ y
    G.mult_transpose(y, x)
    np.testing.assert_allclose(array_from_vec(x, G, "domain"), reference.T @ y_whole,
                               rtol=1e-13, atol=1e-14)


@pytest.mark.mpi
def test_vecs_of_a_stacked_operator_and_plain_templates():
    """[A; L]'s range Vec interleaves the ranks' blocks of A and L; the operator's order is
    A's rows, then L's.  A Vec or a Layout as template means the Vec's own order."""
    A_dense = np.arange(1.0, 31.0).reshape(6, 5)
    A = dense_operator(COMM, A_dense.shape, lambda start, stop: A_dense[start:stop])
    L = regularization_operator(COMM, "derivative", (5,))
    stacked = StackedOperator(A, L, 2.0)
    x_whole = np.linspace(-1.0, 1.0, 5)
    _, z = stacked.create_vecs()
    stacked.mult(vec_from_array(stacked, x_whole, "domain"), z)
    expected = np.concatenate([A_dense @ x_whole, 2.0 * np.diff(x_whole)])
    np.testing.assert_allclose(array_from_vec(z, stacked, "range"), expected, rtol=1e-14)
    whole = np.arange(10.0)
    plain = vec_from_array(z, whole)          # the Vec's own global order
    np.testing.assert_array_equal(gather(plain), whole)
    np.testing.assert_array_equal(array_from_vec(plain), whole)
    layout = Layout.default(COMM, 4)
    np.testing.assert_array_equal(array_from_vec(vec_from_array(layout, [1, 2, 3, 4])),
                                  [1.0, 2.0, 3.0, 4.0])


@pytest.mark.mpi
@pytest.mark.parametrize("call,message", [
    (lambda G, x: vec_from_array(G, np.zeros(3), "domain"), "expected 35 real entries"),
    (lambda G, x: vec_from_array(G, np.zeros(35)), "side"),
    (lambda G, x: vec_from_array(G, np.zeros(35), "rows"), "side"),
    (lambda G, x: vec_from_array(x, np.zeros(35), "domain"), "side: only for an operator"),
    (lambda G, x: array_from_vec(x, G, "range"), "split"),
    (lambda G, x: array_from_vec(x, side="domain"), "needs the operator"),
    (lambda G, x: array_from_vec(x, root=SIZE), "root"),
])
def test_vec_helpers_refuse_what_does_not_fit(call, message):
    G = regularization_operator(COMM, "gradient2d", (5, 7))
    x, _ = G.create_vecs()
    with pytest.raises(ValueError, match=message):
        call(G, x)


def _general_form_problem():
    A_dense, s = _gravity(48)
    L_dense = np.diff(np.eye(48), 2, axis=0)            # N(L): constants and lines
    A = dense_operator(COMM, A_dense.shape, lambda start, stop: A_dense[start:stop])
    L = regularization_operator(COMM, "laplacian", (48,))
    b_whole = A_dense @ (s * (1 - s) + np.sin(3 * s)) \
        + 1e-3 * np.random.default_rng(5).standard_normal(48)
    return A_dense, L_dense, A, L, vec_from_array(A, b_whole, "range"), b_whole


def _dense_functionals(A, L, b, lam):
    """(||A x - b||^2, ||L x||^2, GCV) of general-form Tikhonov, densely and stably: with
    [A; sqrt(lam) L] = Q R, x = R^-1 Q^T [b; 0] and the influence matrix is Q_A Q_A^T."""
    q, r = np.linalg.qr(np.vstack([A, np.sqrt(lam) * L]))
    q_a = q[:A.shape[0]]
    x = np.linalg.solve(r, q_a.T @ b)
    residual2 = float(np.sum((A @ x - b) ** 2))
    trace = A.shape[0] - float(np.sum(q_a ** 2))
    return residual2, float(np.sum((L @ x) ** 2)), residual2 / (trace / A.shape[0]) ** 2


@pytest.mark.mpi
def test_gsvd_model_is_general_form_tikhonov():
    A_dense, L_dense, A, L, b, b_whole = _general_form_problem()
    pair = gsvd(A, L, null_basis=L.null_space_basis())
    model = pair.model(b)
    assert isinstance(model, SpectralModel) and model.unfiltered == 2 and model.rows == 48
    for lam in (1e-8, 1e-5, 1e-2):
        residual2, solution2, gcv = _dense_functionals(A_dense, L_dense, b_whole, lam)
        assert model.residual_norm2(lam) == pytest.approx(residual2, rel=1e-10)
        assert model.solution_norm2(lam) == pytest.approx(solution2, rel=1e-10)
        assert model.value("gcv", lam) == pytest.approx(gcv, rel=1e-10)
    lam = choose_lambda(model, "gcv")
    dense_lambdas = np.logspace(-10, 0, 201)
    dense_gcv = [_dense_functionals(A_dense, L_dense, b_whole, value)[2]
                 for value in dense_lambdas]
    best = int(np.argmin(dense_gcv))
    assert dense_lambdas[best - 1] < lam < dense_lambdas[best + 1]
    np.testing.assert_allclose(gather(pair.tikhonov(b, lam)),
                               _tikhonov(A_dense, L_dense, b_whole, lam), rtol=1e-10, atol=0)


@pytest.mark.mpi
@pytest.mark.parametrize("rule,options", [("gcv", {}), ("dp", {"noise_norm": 0.048})])
def test_standard_form_lanczos_choice_is_the_recipe(rule, options):
    """lanczos_choice on A L_A^+ with b - A x_N and unfiltered = dim N(L), then
    back_transform: one call, and its lambda is the GSVD's."""
    A_dense, L_dense, A, L, b, b_whole = _general_form_problem()
    standard = StandardForm(A, L, L.null_space_basis())
    choice = standard.lanczos_choice(b, rule, epsilon=1e-6, **options)
    assert choice.lam is not None and choice.reason == "" and choice.lanczos.converged
    # the recipe by hand
    x_null = standard.null_component(b)
    _, fitted = A.create_vecs()
    A.mult(x_null, fitted)
    data = b.copy()
    data.axpy(-1.0, fitted)
    by_hand = lanczos_choice(standard, data, rule, epsilon=1e-6, unfiltered=2, **options)
    assert choice.lam == by_hand.lam and choice.lanczos.k == by_hand.k
    np.testing.assert_allclose(gather(choice.x),
                               gather(standard.back_transform(by_hand.solution, b)),
                               rtol=1e-12)
    exact = choose_lambda(gsvd(A, L, null_basis=L.null_space_basis()).model(b), rule,
                          **options)
    assert choice.lam == pytest.approx(exact, rel=1e-3)
    np.testing.assert_allclose(gather(choice.x),
                               _tikhonov(A_dense, L_dense, b_whole, choice.lam), rtol=1e-6)
    with pytest.raises(TypeError, match="unfiltered"):
        standard.lanczos_choice(b, rule, epsilon=1e-3, unfiltered=0, **options)


def _spectral():
    A_dense, _ = _gravity(40)
    left, s, _ = np.linalg.svd(A_dense)
    b = A_dense @ np.ones(40) + 1e-3 * np.random.default_rng(2).standard_normal(40)
    return SpectralModel(s, left.T @ b, float(b @ b), 40), float(np.linalg.norm(b))


def test_the_reason_a_spectral_rule_finds_no_lambda():
    model, b_norm = _spectral()
    lo, hi = model.default_bounds()
    chosen = choose_lambda_explained(model, "gcv")
    assert chosen.lam == choose_lambda(model, "gcv") and chosen.reason == ""
    above = choose_lambda_explained(model, "dp", noise_norm=2 * b_norm)
    assert above.lam is None and "lies above the residual" in above.reason
    assert f"{np.sqrt(model.residual_norm2(hi)):.4g} at lambda = {hi:.3g}" in above.reason
    below = choose_lambda_explained(model, "dp", noise_norm=1e-12)
    assert below.lam is None and "lies below the residual" in below.reason
    assert f"{np.sqrt(model.residual_norm2(lo)):.4g} at lambda = {lo:.3g}" in below.reason
    # Far above s_max^2 Reginska's functional keeps falling (||x||^2 ~ 1 / lambda^2).
    assert model.value("reginska", 1e8) < model.value("reginska", 1e6)
    falling = choose_lambda_explained(model, "reginska", bounds=(1e6, 1e8))
    assert falling.lam is None and choose_lambda(model, "reginska", bounds=(1e6, 1e8)) is None
    assert "smallest at the largest lambda searched, 1e+08: the rule asks for more" \
        in falling.reason and falling.reason.endswith("the bounds given")
    # Far below s_min^2 quasi-optimality rises with lambda (lambda^2 sum beta^2 / s^6).
    assert model.value("qo", 1e-40) < model.value("qo", 1e-38)
    rising = choose_lambda_explained(model, "qo", bounds=(1e-40, 1e-38))
    assert rising.lam is None and "smallest at the smallest lambda searched" in rising.reason


@pytest.mark.mpi
def test_the_reason_a_lanczos_rule_finds_no_lambda():
    _, _, A, _, b, b_whole = _general_form_problem()
    rising = lanczos_choice_explained(A, b, "reginska", epsilon=1e-3, bounds=(1e3, 1e4),
                                      max_steps=4)
    assert rising.lam is None and rising.x is None and rising.lanczos.k == 4
    assert "upper bound of the reginska functional has no interior minimum" in rising.reason
    assert "max_steps = 4 Golub-Kahan steps" in rising.reason
    high = lanczos_choice_explained(A, b, "dp", epsilon=1e-3,
                                    noise_norm=float(np.linalg.norm(b_whole)), tau=2.0,
                                    max_steps=3)
    assert high.lam is None
    assert high.reason.startswith(f"the discrepancy target tau ||e|| = "
                                  f"{2 * np.linalg.norm(b_whole):.4g} lies above the "
                                  f"residual's upper bound")
    assert f"||b|| = {np.linalg.norm(b_whole):.4g}" in high.reason
    same = COMM.tompi4py().allgather(high.reason)
    assert same == [high.reason] * SIZE


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["svd", "gsvd", "lanczos"])
def test_tikhonov_records_why_it_found_no_lambda(method):
    A_dense, _ = _gravity(40)
    b = A_dense @ np.ones(40) + 1e-3 * np.random.default_rng(1).standard_normal(40)
    out = hpcinv.solve(A_dense, b, solver="tikhonov", rule="dp", method=method,
                       noise_norm=float(np.linalg.norm(b)), tau=2.0, max_iterations=5)
    assert out.stop_reason == "no_minimiser" and out.solver_results["lambda"] is None
    assert "lies above the residual" in out.solver_results["no_lambda_reason"]
    found = hpcinv.solve(A_dense, b, solver="tikhonov", rule="gcv", method=method)
    assert "no_lambda_reason" not in found.solver_results


JOB = """
[problem]
kind = "gravity"
n = 64
noise_level = 0.01
[solver]
kind = "tikhonov"
rule = "dp"
method = "{method}"
tau = 1000.0
[output]
path = "{path}"
"""


@pytest.mark.mpi
def test_a_job_reports_why_it_found_no_lambda(mpi_tmp_path):
    from hpcinv.core.io.results import read_summary
    from hpcinv.report.summary import format_summary

    path = mpi_tmp_path / "no-lambda.h5"
    outcome = hpcinv.run(JOB.format(method="rsvd", path=path), quiet=True)
    assert outcome.stop_reason == "no_minimiser"
    reason = outcome.solver_results["no_lambda_reason"]
    assert reason.startswith("the discrepancy target tau ||e|| = ")
    COMM.tompi4py().Barrier()
    summary = read_summary(path)
    assert summary["solver_results"]["no_lambda_reason"] == reason
    text = format_summary(str(path), summary, summary["history"])
    assert f"no lambda    {reason}" in text.splitlines()


def test_the_command_prints_why_it_found_no_lambda(tmp_path):
    job = write_job(tmp_path, "job.toml", JOB.format(method="lanczos",
                                                     path=tmp_path / "out.h5"))
    result = hpcinv_command(["run", job, "--quiet"])
    assert result.returncode == 0, result.stderr
    assert "stop: no_minimiser" in result.stdout
    assert re.search(r"^hpcinv: no lambda: the discrepancy target tau \|\|e\|\| = .* lies above",
                     result.stdout, re.MULTILINE), result.stdout
