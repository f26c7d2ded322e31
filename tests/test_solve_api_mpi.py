"""``hpcinv.solve`` on the user's own operator and data, against the job route (the same problem
and solver kind built by ``pipeline.build``), on 1 and 2 ranks; and jobs given as Python
mappings (``spec_from_mapping``) against the same job as TOML text."""
import numpy as np
import pytest
import scipy.sparse

import hpcinv
from hpcinv.apps.classic.gravity import gravity_rows
from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import parse_spec, spec_from_mapping
from hpcinv.core.petsc_env import initialize
from hpcinv.linalg import Layout
from helpers import MatrixFree, build_job, distributed_matrix, gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD
N = 60
JOB = (f'[problem]\nkind = "gravity"\nn = {N}\nnoise_level = 0.01\nseed = 2\n'
       '[solver]\nkind = "{solver}"\n')


def _gravity_matrix() -> np.ndarray:
    return gravity_rows(N, 0.25, 0, N)


class MatvecOnly:
    """What a PyLops operator offers: shape, matvec and rmatvec on whole numpy vectors."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.shape = matrix.shape

    def matvec(self, x):
        return self.matrix @ x

    def rmatvec(self, y):
        return self.matrix.T @ y


OPERATORS = {
    "petsc-aij": lambda dense: distributed_matrix(dense, "aij").as_petsc_mat(),
    "numpy": lambda dense: dense,
    "scipy-sparse": scipy.sparse.csr_array,
    "matvec": MatvecOnly,
    "hpcinv-operator": lambda dense: MatrixFree(distributed_matrix(dense, "dense")),
}


def _job_route(solver: str, extra: str = ""):
    """(problem, SolveResult) of the gravity job with ``solver``, built as ``hpcinv.run``
    builds it."""
    _, problem, method = build_job(COMM, JOB.replace("{solver}", solver) + extra)
    return problem, method.run(truth=problem.truth)


def _assert_same_solution(outcome, result):
    expected = gather(result.x)
    assert outcome.stop_reason == result.reason
    assert outcome.iterations == result.iterations and result.iterations > 1
    np.testing.assert_allclose(outcome.gather(), expected, rtol=0,
                               atol=1e-10 * np.linalg.norm(expected))
    np.testing.assert_allclose(outcome.history["residual_norm"], result.history["residual_norm"],
                               rtol=1e-10)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", list(OPERATORS))
def test_every_operator_type_gives_the_job_routes_solution(kind):
    problem, result = _job_route("lsqr")
    outcome = hpcinv.solve(OPERATORS[kind](_gravity_matrix()), gather(problem.data),
                           solver="lsqr", noise_norm=problem.noise_norm,
                           truth=gather(problem.truth))
    _assert_same_solution(outcome, result)
    assert np.array_equal(outcome.local, outcome.x.getArray(readonly=True))
    assert np.isfinite(outcome.history["relative_error"]).all()


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["cgls", "ksp", "tikhonov", "augmented-sd",
                                    "augmented-landweber", "augmented-cgls"])
def test_every_generic_solver_kind_gives_the_job_routes_solution(solver):
    problem, result = _job_route(solver)
    outcome = hpcinv.solve(_gravity_matrix(), gather(problem.data), solver=solver,
                           noise_norm=problem.noise_norm)
    _assert_same_solution(outcome, result)
    assert outcome.solver_results.keys() == result.attributes.keys()


@pytest.mark.mpi
def test_tikhonov_returns_its_lambda_and_takes_the_kinds_keys():
    problem, result = _job_route("tikhonov", 'rule = "dp"\ntau = 1.1\n')
    outcome = hpcinv.solve(_gravity_matrix(), gather(problem.data), solver="tikhonov",
                           noise_norm=problem.noise_norm, tau=1.1, rule="dp")
    assert outcome.solver_results["rule"] == "dp"
    assert outcome.solver_results["lambda"] == pytest.approx(result.attributes["lambda"],
                                                             rel=1e-10)
    fixed = hpcinv.solve(_gravity_matrix(), gather(problem.data), solver="tikhonov",
                         rule="fixed", method="lsqr", lambda_=np.float64(2.5e-4))
    assert fixed.solver_results["lambda"] == 2.5e-4


@pytest.mark.mpi
def test_b_as_each_ranks_block_or_as_a_vec_gives_the_same_solution():
    problem, _ = _job_route("lsqr")
    given = problem.data.getArray(readonly=True).copy()
    whole = hpcinv.solve(_gravity_matrix(), gather(problem.data), noise_norm=problem.noise_norm)
    blocks = hpcinv.solve(_gravity_matrix(), problem.data.getArray(readonly=True).copy(),
                          noise_norm=problem.noise_norm)
    vec = hpcinv.solve(_gravity_matrix(), problem.data, noise_norm=problem.noise_norm)
    for outcome in (blocks, vec):
        assert np.array_equal(outcome.gather(), whole.gather())
    assert np.array_equal(problem.data.getArray(readonly=True), given)   # the caller's Vec


@pytest.mark.mpi
def test_the_solution_does_not_depend_on_the_rank_count():
    problem, _ = _job_route("cgls")
    data = gather(problem.data)
    distributed = hpcinv.solve(_gravity_matrix(), data, solver="cgls",
                               noise_norm=problem.noise_norm)
    # Every rank alone: the one-rank solve, in the same process as the distributed one
    # (the split reductions round differently; CGLS amplifies that on this ill-posed matrix).
    alone = hpcinv.solve(_gravity_matrix(), data, solver="cgls", noise_norm=problem.noise_norm,
                         comm=PETSc.COMM_SELF)
    assert alone.iterations == distributed.iterations
    np.testing.assert_allclose(distributed.gather(), alone.gather(), rtol=0,
                               atol=1e-10 * np.linalg.norm(alone.gather()))


def _problems(**arguments) -> dict:
    """{argument: message} of the InputError that ``hpcinv.solve`` raises."""
    arguments.setdefault("A", _gravity_matrix())
    arguments.setdefault("b", np.ones(N))
    with pytest.raises(InputError) as caught:
        hpcinv.solve(arguments.pop("A"), arguments.pop("b"), **arguments)
    return dict(caught.value.problems)


@pytest.mark.mpi
def test_bad_arguments_are_named():
    matrix = _gravity_matrix()
    assert "60 entries" in _problems(b=np.ones(N - 1))["b"]
    assert "on every rank" in _problems(b=np.ones((N, 1)))["b"]
    assert "PETSc Vec or a numpy array" in _problems(b="data")["b"]
    assert "40 entries" in _problems(A=matrix[:40], b=np.ones(N))["b"]
    assert "60 entries" in _problems(truth=np.ones(N + 1))["truth"]
    assert "numpy 2-D array" in _problems(A=matrix.tolist())["A"]
    assert "2-D matrix" in _problems(A=np.ones(N))["A"]
    assert "real entries" in _problems(A=matrix.astype(complex))["A"]
    assert "known kinds" in _problems(solver="lsqrr")["solver"]
    assert "tensor block rows" in _problems(solver="pnkr")["solver"]
    assert "reference operator" in _problems(solver="augmented-cgls",
                                             recycle="reference-eigen", recycle_k=2)["recycle"]
    problems = _problems(max_iter=5, tau=0.5, noise_norm=1.0)
    assert "unknown key" in problems["max_iter"] and ">= 1.0" in problems["tau"]
    assert "needs noise_norm" in _problems(tau=1.5)["tau"]
    assert ">= 0" in _problems(noise_norm=-1.0)["noise_norm"]
    assert "lambda > 0" in _problems(solver="tikhonov", rule="fixed", method="lsqr")["lambda"]
    mat = distributed_matrix(matrix).as_petsc_mat()
    assert "distributed already" in _problems(A=mat, comm=COMM)["comm"]


@pytest.mark.mpi
def test_a_matvec_that_returns_the_wrong_length_is_named():
    wrong = MatvecOnly(_gravity_matrix())
    wrong.rmatvec = lambda y: np.ones(N + 1)
    assert "rmatvec must return 60" in _problems(A=wrong)["A"]


@pytest.mark.mpi
def test_a_vec_unlike_the_operators_rows_is_refused():
    vec = Layout.default(COMM, N + 1).create_vec()
    assert "A.create_vecs()" in _problems(A=distributed_matrix(_gravity_matrix()), b=vec)["b"]


MAPPING = {
    "problem": {"kind": "gravity", "n": N, "noise_level": 0.01, "seed": 2},
    "solver": {"kind": "tikhonov", "rule": "gcv", "epsilon": np.float64(1e-3),
               "reorthogonalize": False},
    "output": {"path": 'out dir/r\u00e9sultat "1".h5', "store_data": False},
    "petsc": {"ksp_rtol": 1e-8, "ksp_converged_reason": True},
}
TOML = f"""
[problem]
kind = "gravity"
n = {N}
noise_level = 0.01
seed = 2
[solver]
kind = "tikhonov"
rule = "gcv"
epsilon = 0.001
reorthogonalize = false
[output]
path = 'out dir/r\u00e9sultat "1".h5'
store_data = false
[petsc]
ksp_rtol = 1e-8
ksp_converged_reason = true
"""


def test_a_mapping_gives_the_job_of_the_same_toml():
    from_mapping, from_toml = spec_from_mapping(MAPPING), parse_spec(TOML)
    assert from_mapping.fingerprint() == from_toml.fingerprint()
    for table in ("problem", "solver", "output", "petsc"):
        assert getattr(from_mapping, table) == getattr(from_toml, table), table
    assert from_mapping.source == "<dict>"
    # The text is TOML that parses back to the same job.
    assert parse_spec(from_mapping.text).fingerprint() == from_toml.fingerprint()


def test_a_mapping_without_output_path_writes_result_h5_like_toml_text():
    mapping = {"problem": MAPPING["problem"], "solver": {"kind": "cgls"}}
    assert spec_from_mapping(mapping).output["path"] == "result.h5"


def test_bad_mappings_name_the_key():
    with pytest.raises(InputError) as caught:
        spec_from_mapping({"problem": {**MAPPING["problem"], "seed": None},
                           "solver": {"kind": "cgls", "tau": object()}})
    problems = dict(caught.value.problems)
    assert "no null" in problems["problem.seed"] and "object" in problems["solver.tau"]
    with pytest.raises(InputError) as caught:
        spec_from_mapping({"problem": MAPPING["problem"], "solver": {"kind": "cgls",
                                                                     "tau": "high"}})
    assert "expected number" in dict(caught.value.problems)["solver.tau"]
    with pytest.raises(InputError, match="unknown table"):
        spec_from_mapping({**MAPPING, "extra": 1})
    with pytest.raises(InputError, match="mapping of tables"):
        spec_from_mapping([("problem", {})])


@pytest.mark.mpi
def test_a_job_from_a_mapping_runs_and_records_toml(mpi_tmp_path):
    from hpcinv.core.io.results import read_summary

    path = mpi_tmp_path / "mapping.h5"
    mapping = {"problem": MAPPING["problem"], "solver": {"kind": "cgls"},
               "output": {"path": str(path)}}
    spec = spec_from_mapping(mapping)
    outcome = hpcinv.run(spec, quiet=True)
    COMM.tompi4py().Barrier()
    assert outcome.stop_reason == "discrepancy"
    summary = read_summary(path)
    assert parse_spec(summary["job_spec"]).fingerprint() == spec.fingerprint()
