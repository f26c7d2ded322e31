"""The solver framework's contracts: stopping rules, problem capabilities checked at
validation, kind registration, and keyword errors reported under the job's keys."""
import math

import numpy as np
import pytest

from hpcinv.core.errors import ArgumentError, InputError, job_keys
from hpcinv.core.jobspec import PROBLEMS, SOLVERS, ProblemKind, SolverKind, parse_spec
from hpcinv.core.jobspec.registry import Registry
from hpcinv.core.problem import Capability, Problem
from hpcinv.solvers.framework.method import SolveResult
from hpcinv.core.state import SolverState
from hpcinv.solvers.framework.stopping import (ChiSquareTarget, Discrepancy,
                                               EquationwiseDiscrepancy, FixedIterations)
from hpcinv.solvers.kaczmarz.block_rows import TensorBlockRows


def test_discrepancy_rule():
    rule = Discrepancy(1.5, 2.0)
    state = SolverState()
    assert rule.target == 3.0 and rule.reason == "discrepancy"
    assert rule.met(state, 3.0) and not rule.met(state, 3.0001)
    watching = Discrepancy(1.5, 2.0, stop=False)
    assert watching.target == 3.0 and not watching.met(state, 0.0)
    for tau, noise in ((0.9, 1.0), (1.0, -1.0), (1.0, math.inf)):
        with pytest.raises(ValueError):
            Discrepancy(tau, noise)


def test_equationwise_discrepancy_rule():
    rule = EquationwiseDiscrepancy(2.0, [3.0, 4.0])
    assert rule.target == pytest.approx(10.0)
    assert not rule.met(SolverState(scalars={"equations_updated": -1}), 0.0)
    assert not rule.met(SolverState(scalars={"equations_updated": 3}), 0.0)
    assert rule.met(SolverState(scalars={"equations_updated": 0}), 1e9)


def test_chi_square_and_fixed_iteration_rules():
    rule = ChiSquareTarget(100.0)
    assert rule.target == 10.0 and rule.met(SolverState(), 10.0)
    assert not rule.met(SolverState(), 10.01)
    with pytest.raises(ValueError, match="chi_square"):
        ChiSquareTarget(0.0)
    assert not FixedIterations().met(SolverState(), 0.0) and FixedIterations().target == 0.0


def test_solve_result_reads_its_history():
    history = {"iteration": np.arange(5), "residual_norm": np.array([5.0, 4, 3, 2, 1]),
               "discrepancy_target": np.full(5, 2.5),
               "relative_error": np.array([1.0, 0.5, 0.3, 0.4, 0.6])}
    result = SolveResult(None, "max_iterations", 4, history)
    assert result.discrepancy_iteration == 3 and result.semiconvergence_iteration == 2
    assert result.first_iteration_within(3.5) == 2 and result.first_iteration_within(0.5) is None
    history["relative_error"] = np.full(5, np.nan)
    history["discrepancy_target"] = np.zeros(5)
    assert result.semiconvergence_iteration is None and result.discrepancy_iteration is None


JOB = """
[problem]
kind = "{problem}"
{problem_extra}
[solver]
kind = "{solver}"
{solver_extra}
"""


@pytest.mark.parametrize("problem, problem_extra, solver, solver_extra, key, words", [
    ("deconvolution", 'mesh = "meshes/deconvolution/line-256.toml"', "pnkr", "",
     "solver.kind", "tensor block rows (such as galaxy), not deconvolution"),
    ("gravity", "n = 20", "augmented-sd", 'recycle = "reference-eigen"\nrecycle_k = 2',
     "solver.recycle", "a reference operator (such as ao-deconvolution), not gravity"),
    ("gravity", "n = 20", "augmented-cgls", 'recycle = "sd-iterates"',
     "solver.recycle", "auxiliary operators (such as gaussian-blur)"),
])
def test_a_solver_that_needs_what_the_problem_lacks_is_refused_at_validation(
        problem, problem_extra, solver, solver_extra, key, words):
    with pytest.raises(InputError) as error:
        parse_spec(JOB.format(problem=problem, problem_extra=problem_extra, solver=solver,
                              solver_extra=solver_extra))
    assert [k for k, _ in error.value.problems] == [key]
    assert words in error.value.problems[0][1]


def test_declared_capabilities_match_what_problems_have():
    assert PROBLEMS.get("galaxy", "").capabilities({}) == (TensorBlockRows,)
    assert SOLVERS.get("pnkr", "").requirements({}) == {TensorBlockRows: "solver.kind"}
    assert SOLVERS.get("cgls", "").requirements({}) == {}


class _Marker(Capability):
    description = "a marker"
    examples = "nothing"


def test_problems_hold_one_capability_of_each_class():
    marker = _Marker()
    problem = Problem(operator=None, data=None, noise_norm=0.0, capabilities=[marker])
    assert problem.capability(_Marker) is marker and problem.require(_Marker) is marker
    assert problem.capability(TensorBlockRows) is None
    with pytest.raises(InputError, match="needs a problem with tensor block rows"):
        problem.require(TensorBlockRows)
    with pytest.raises(ValueError, match="more than once"):
        Problem(operator=None, data=None, noise_norm=0.0, capabilities=[marker, _Marker()])
    with pytest.raises(TypeError, match="not a Capability"):
        Problem(operator=None, data=None, noise_norm=0.0, capabilities=["marker"])


def test_registries_take_only_kinds():
    problems = Registry("problem", "hpcinv.apps.kinds", ProblemKind)
    solvers = Registry("solver", "hpcinv.solvers.kinds", SolverKind)
    with pytest.raises(TypeError, match="SolverKind"):
        solvers.register("plain")(object)
    with pytest.raises(TypeError, match="ProblemKind"):
        problems.register("solver-as-problem")(SOLVERS.get("cgls", ""))

    @problems.register("mine")
    class Mine(ProblemKind):
        pass

    assert problems.get("mine", "problem.kind") is Mine and Mine.kind == "mine"


def test_keyword_errors_become_job_key_errors():
    with pytest.raises(InputError) as error:
        with job_keys("solver"):
            raise ArgumentError("omega", "must be in (0, 2)")
    assert error.value.problems == [("solver.omega", "must be in (0, 2)")]
    with pytest.raises(ValueError, match="^omega: must be in"):
        raise ArgumentError("omega", "must be in (0, 2)")
