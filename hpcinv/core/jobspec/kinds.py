"""What a problem kind and a solver kind are: the classes ``PROBLEMS.register`` and
``SOLVERS.register`` accept (subclasses of these two).

A problem kind states its schema and turns checked values into a ``Problem`` in two steps
(``core.problem``); a solver kind states its schema and maps checked values to an algorithm
object with ``initial_state``, ``solve``, ``solution``, ``result_attributes``,
``residual_scale``, ``target``, ``max_iterations`` and ``exact_resume``
(``solvers.framework.method.IterativeMethod``).  Both declare the problem capabilities they
offer or need, which ``parse_spec`` matches before anything is built.  Both estimate the
memory a job needs from its values alone (``core.memory``), so a job too large for its
ranks is refused at validation.
"""
from __future__ import annotations

from ..memory import MemoryEstimate, vectors


class _Kind:
    parameters: dict = {}   # key -> schema.Field

    @staticmethod
    def check_parameters(values: dict) -> list:
        """[(key, message)] for values that are wrong together."""
        return []


class ProblemKind(_Kind):
    @staticmethod
    def capabilities(values: dict) -> tuple:
        """The Capability classes the problem these values build will have."""
        return ()

    @staticmethod
    def prepare(values: dict):
        """Read and check inputs on each rank, no collective operation (see core.problem)."""
        return values

    @staticmethod
    def build(prepared, comm):
        """The distributed Problem (collective)."""
        raise NotImplementedError

    @staticmethod
    def memory_estimate(values: dict):
        """A ``core.memory.MemoryEstimate`` of what the problem these values build stores,
        with the operator's shape (``rows``, ``columns``), from the values alone (reading a
        small mesh file is fine; nothing large is allocated); None when unknown (then no
        memory check)."""
        return None

    @staticmethod
    def figures(result, directory, stem: str) -> list:
        """Files ``hpcinv plot`` writes for this kind's results (serial): ``result`` is a
        ``hpcinv.core.io.results.ResultProducts`` (``derived``, ``history``, ``attributes``,
        ``grid_shape``; ``result.vector(name)`` reads /solution, /truth, ...)."""
        return []


class SolverKind(_Kind):
    @staticmethod
    def requirements(values: dict) -> dict:
        """{Capability class: the key that needs it} for the problem."""
        return {}

    @staticmethod
    def memory_estimate(values: dict, problem):
        """A ``core.memory.MemoryEstimate`` of what the solver adds to the problem's
        estimate ``problem`` (its ``rows`` x ``columns`` operator and ``facts``).  By default
        a Krylov method's handful of vectors: 6 of the unknown's length and 4 of the
        data's, split over the ranks."""
        return MemoryEstimate(vectors(6, problem.columns) + vectors(4, problem.rows))

    @classmethod
    def build(cls, problem, values: dict):
        """The algorithm object for ``problem``."""
        raise NotImplementedError
