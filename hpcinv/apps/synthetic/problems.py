"""What synthetic test problems share: a known truth, data A x_true with relative noise, the
regularization operator L, the checks of their common parameters, their memory, and problem
kinds whose values are the keyword arguments of a driver-script function."""
from __future__ import annotations

from typing import Callable

from ...core.errors import InputError
from ...core.jobspec import Field, ProblemKind
from ...core.memory import MemoryEstimate, assembled_sparse, vectors
from ...core.jobspec.schema import validate_table
from ...core.problem import Problem
from ...operators.regularization import NAMES, grid_problem, regularization_operator
from ...solvers.framework.capabilities import Regularization
from .noise import add_relative_noise

SYNTHETIC_PARAMETERS = {
    "noise_level": Field(float, 0.01, "relative noise ||e||/||A x_true|| of the data",
                         minimum=0, maximum=1),
    "seed": Field(int, 0, "seed of the noise", minimum=0),
    "regularization": Field(str, "identity", "L of min ||Ax-b||^2 + lambda ||Lx||^2: "
                            + ", ".join(NAMES), choices=NAMES),
}


def regularization_problems(values: dict, grid_shape: tuple, key: str) -> list:
    """[(key, message)] when the regularization named in ``values`` does not fit the grid."""
    message = grid_problem(values["regularization"], grid_shape)
    return [(key, message)] if message else []


def check_arguments(function: str, parameters: dict, arguments: dict,
                    grid_shape=None) -> None:
    """Check a driver script's call ``function(**arguments)`` by the kind's schema; raise
    ValueError naming every bad argument.  ``grid_shape`` maps checked values to the grid
    that a ``regularization`` argument must fit (for kinds that have one)."""
    given = {key: value for key, value in arguments.items() if value is not None}
    values, problems = validate_table(given, parameters, function)
    if not problems and grid_shape is not None:
        problems = regularization_problems(values, grid_shape(values),
                                           f"{function}.regularization")
    if problems:
        raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))


def synthetic_problem(comm, operator, truth_fn, grid_shape: tuple, *, noise_level: float,
                      seed: int, regularization: str, attributes: dict) -> Problem:
    """The Problem of data A x_true + e, x_true[start:stop] = truth_fn(start, stop)."""
    truth, data = operator.create_vecs()
    truth.getArray()[:] = truth_fn(*truth.getOwnershipRange())
    operator.mult(truth, data)
    noise_free = data.copy()
    noise_norm = add_relative_noise(data, noise_level, seed)
    return Problem(operator=operator, data=data, noise_norm=noise_norm, truth=truth,
                   grid_shape=tuple(grid_shape),
                   attributes={**attributes, "noise_level": noise_level, "seed": seed,
                               "regularization": regularization},
                   noise_free_data=noise_free,
                   capabilities=[Regularization(regularization_operator(comm, regularization,
                                                                        grid_shape))])


def regularization_memory(name: str, grid_shape) -> MemoryEstimate:
    """What ``regularization_operator(comm, name, grid_shape)`` assembles (distributed)."""
    shape = [int(n) for n in grid_shape]
    size = 1
    for n in shape:
        size *= n
    if name == "derivative":
        rows, per_row = size - 1, 2
    elif name == "laplacian":
        rows, per_row = size - 2, 3
    elif name == "laplacian2d":
        rows, per_row = size, 5
    elif name == "gradient2d":
        rows, per_row = 2 * size, 2
    else:
        rows, per_row = size, 1
    return MemoryEstimate(assembled_sparse(rows, per_row * rows))


def synthetic_memory(operator: MemoryEstimate, regularization: str,
                     grid_shape) -> MemoryEstimate:
    """``operator``'s estimate plus what ``synthetic_problem`` adds: the truth, the data,
    the noise-free data and the noise, and L (the capability every synthetic problem has)."""
    vecs = MemoryEstimate(vectors(1, operator.columns) + vectors(3, operator.rows),
                          facts={"regularization": regularization,
                                 "grid_shape": tuple(grid_shape)})
    return operator + vecs + regularization_memory(regularization, grid_shape)


class FunctionKind(ProblemKind):
    """A problem kind whose checked values are the keyword arguments of its driver-script
    function ``make(comm, **values)``; its problems have the capabilities ``provides``.
    ``memory(values)``, when given, estimates the problem's memory (``core.memory``)."""

    parameters: dict
    make: Callable[..., Problem]
    provides: tuple = ()
    memory: Callable[[dict], MemoryEstimate | None] | None = None

    @classmethod
    def of(cls, make: Callable[..., Problem], parameters: dict, **attributes) -> type:
        """A subclass for the function ``make`` with schema ``parameters`` (and class
        attributes such as ``provides``, ``grid_shape``, ``check_parameters``)."""
        for name, value in attributes.items():
            if callable(value):
                attributes[name] = staticmethod(value)
        return type(f"{make.__name__}_kind", (cls,),
                    {"parameters": parameters, "make": staticmethod(make), **attributes})

    @classmethod
    def capabilities(cls, values: dict) -> tuple:
        return cls.provides

    @classmethod
    def prepare(cls, values: dict) -> dict:
        problems = cls.check_parameters(values)
        if problems:
            raise InputError(problems)
        return {key: values[key] for key in cls.parameters}

    @classmethod
    def build(cls, prepared: dict, comm) -> Problem:
        return cls.make(comm, **prepared)

    @classmethod
    def memory_estimate(cls, values: dict) -> MemoryEstimate | None:
        return cls.memory(values) if cls.memory is not None else None


class RegularizedKind(FunctionKind):
    """A synthetic problem kind with a ``regularization`` key that must fit the grid
    ``grid_shape(values)`` of the unknown."""

    grid_shape: Callable[[dict], tuple]
    provides = (Regularization,)

    @classmethod
    def check_parameters(cls, values: dict) -> list:
        return regularization_problems(values, cls.grid_shape(values), "problem.regularization")

    @classmethod
    def memory_estimate(cls, values: dict) -> MemoryEstimate | None:
        """``memory(values)`` (the operator, with its shape) and ``synthetic_problem``'s
        vectors and L."""
        operator = super().memory_estimate(values)
        if operator is None:
            return None
        return synthetic_memory(operator, values["regularization"], cls.grid_shape(values))
