"""``hpcinv.solve(A, b, ...)``: any registered solver kind on the user's own operator and data,
in this process, with no problem kind, job file or result file.

The operator and vectors become an hpcinv ``Operator`` and PETSc Vecs (``linalg.adapters``),
those a ``Problem`` without capabilities, the solver kind's keys are checked by its schema
as a ``[solver]`` table would be, and the kind builds the same algorithm a job gets; it
runs under a plain ``IterationControl``.  The module is not named ``solve``: importing a
submodule of that name would replace the ``hpcinv.solve`` function on the package.
"""
from __future__ import annotations

import keyword
import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .core.errors import ArgumentError, InputError
from .core.petsc_env import release_memory
from .core.jobspec import SOLVERS
from .core.jobspec.schema import validate_table
from .core.mpi import same_on_every_rank
from .core.paths import resolve_input
from .core.petsc_env import initialize
from .core.problem import Problem, missing_capability_message
from .linalg.adapters import as_operator, as_vec
from .linalg.layout import Layout
from .solvers.framework.control import IterationControl

_SOLVER_TABLE = "solver."


@dataclass
class SolveOutcome:
    """What ``solve`` returns.  ``x`` is the solution (a PETSc Vec split like the operator's
    columns) and ``local`` this rank's entries of it (a numpy copy); ``history`` the
    iteration history (numpy columns: ``iteration``, ``residual_norm``,
    ``relative_residual``, ``discrepancy_target``, ``relative_error`` (NaN without a truth),
    ``seconds`` and the solver's own); ``solver_results`` what the solver found besides x
    (e.g. tikhonov's ``lambda``), the same on every rank."""
    x: object
    local: np.ndarray
    stop_reason: str
    iterations: int
    history: dict
    solver_results: dict

    def gather(self) -> np.ndarray:
        """The whole solution on every rank.  Collective: every rank must call it."""
        return Layout.of_vec(self.x).gather(self.local)


def solve(A, b, *, solver: str = "lsqr", noise_norm: float | None = None,
          tau: float | None = None, comm=None, truth=None, **options) -> SolveOutcome:
    """Solve min ||A x - b|| with the registered solver kind ``solver`` (``hpcinv kinds``)
    on every rank of the operator's communicator (collective).

    ``A``: an hpcinv Operator, a PETSc Mat (any type, shell included), a numpy 2-D array or
    scipy.sparse matrix that every rank passes whole (each rank keeps its block of rows), or
    an object with ``shape``, ``matvec`` and ``rmatvec`` on whole numpy vectors (run on
    every rank alike; it does not scale).  ``b`` (and ``truth``, which adds the relative
    error to the history): a PETSc Vec split like A's rows (columns), or a numpy vector,
    either whole on every rank or this rank's block on every rank.  ``comm``: the PETSc
    communicator of a numpy, scipy or matvec ``A`` (default COMM_WORLD); an Operator or Mat
    brings its own.  ``noise_norm`` (delta = ||e||) and ``tau`` feed the discrepancy
    principle (||A x - b|| <= tau delta; tau defaults to the kind's); without
    ``noise_norm`` an iterative method runs to ``max_iterations``.  ``options``: the kind's
    keys (``max_iterations``, tikhonov's ``rule``, ...; a key that is a Python keyword may
    end in ``_``: ``lambda_``).

    Raises InputError naming every bad argument before solving (a matvec's bad result
    when it comes).
    """
    initialize()
    noise_norm = _plain(noise_norm)
    with _named_arguments():
        operator = as_operator(A, comm)
        data = as_vec(b, operator.range_layout, "b")
        truth_vec = None if truth is None else as_vec(truth, operator.domain_layout, "truth")
    kind, values = _solver_values(solver, noise_norm, tau, options)
    problem = Problem(operator=operator, data=data,
                      noise_norm=0.0 if noise_norm is None else float(noise_norm),
                      truth=truth_vec, grid_shape=(operator.shape[1],))
    with _named_arguments():
        _check_requirements(kind, values)
        method = kind.build(problem, values)
    return _run(method, truth_vec, values.get("wall_time", 0.0))


def _solver_values(solver, noise_norm, tau, options) -> tuple[type, dict]:
    """(solver kind, its checked values) from the keyword arguments; InputError naming every
    bad one."""
    problems = []
    if noise_norm is not None and (isinstance(noise_norm, bool)
                                   or not isinstance(noise_norm, (int, float))
                                   or not math.isfinite(noise_norm) or noise_norm < 0):
        problems.append(("noise_norm", f"must be a finite number >= 0, got {noise_norm!r}"))
    if tau is not None and noise_norm is None:
        problems.append(("tau", "needs noise_norm: the discrepancy principle stops at tau "
                                "times the noise norm"))
    if not isinstance(solver, str):
        raise InputError(problems + [("solver", f"expected a solver kind name "
                                                f"({', '.join(SOLVERS.names())}), got {solver!r}")])
    try:
        kind = SOLVERS.get(solver, "solver")
    except InputError as error:
        raise InputError(problems + error.problems) from None
    table = {_kind_key(name): _plain(value) for name, value in options.items()}
    if tau is not None:
        table["tau"] = _plain(tau)
    values, table_problems = validate_table(table, kind.parameters, "solver",
                                            lambda name: resolve_input(name))
    problems += [(_argument(key), message) for key, message in table_problems]
    if not table_problems:
        problems += [(_argument(key), message) for key, message in kind.check_parameters(values)]
    if problems:
        raise InputError(problems)
    values["kind"] = solver
    return kind, values


def _kind_key(name: str) -> str:
    """The kind's key for a keyword argument: ``lambda_`` stands for ``lambda``."""
    return name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name


def _plain(value):
    """numpy scalars as the Python numbers a job's values are."""
    return value.item() if isinstance(value, np.generic) else value


def _argument(key: str) -> str:
    """The argument of ``solve`` a solver key path stands for (``solver.kind``: ``solver``)."""
    name = key[len(_SOLVER_TABLE):] if key.startswith(_SOLVER_TABLE) else key
    return "solver" if name == "kind" else name


def _check_requirements(kind, values) -> None:
    """A solver kind that needs a capability (pnkr's block rows, a recycle space's reference
    operator) cannot run on a bare operator and data."""
    problems = [(key, missing_capability_message(needed, f"solver {values['kind']!r}",
                                                 "an operator given to hpcinv.solve"))
                for needed, key in kind.requirements(values).items()]
    if problems:
        raise InputError(problems)


@contextmanager
def _named_arguments():
    """Report bad input under the name of ``solve``'s argument: an ArgumentError of the
    adapters or an algorithm, and a kind's InputError under its ``solver.`` key path."""
    try:
        yield
    except ArgumentError as error:
        raise InputError((_argument(error.argument), error.message)) from None
    except InputError as error:
        raise InputError([(_argument(key), message) for key, message in error.problems]) \
            from None


def _run(method, truth, wall_time: float) -> SolveOutcome:
    # The operator's products start here: a matvec's bad result is named as A's.
    with _named_arguments():
        release_memory(method.operator.comm)   # what earlier solves left, first
        state = method.initial_state()
        control = IterationControl.for_method(method, truth=truth, wall_time=wall_time)
        reason = method.solve(state, control)
    control.check_finite(reason)
    x = method.solution(state)
    # A replicated result (a chosen lambda) may differ by a rounding between ranks.
    results = same_on_every_rank(method.operator.comm.tompi4py(),
                                 method.result_attributes(state))
    return SolveOutcome(x=x, local=x.getArray(readonly=True).copy(), stop_reason=reason,
                        iterations=state.iteration, history=state.history.arrays(),
                        solver_results=results)
