"""What a problem kind and a solver kind are: the classes ``PROBLEMS.register`` and
``SOLVERS.register`` accept (subclasses of these two).

A problem kind states its schema and turns checked values into a ``Problem`` in two steps
(``core.problem``); a solver kind states its schema and maps checked values to an algorithm
object with ``initial_state``, ``solve``, ``solution``, ``result_attributes``,
``residual_scale``, ``target``, ``max_iterations`` and ``exact_resume``
(``solvers.framework.method.IterativeMethod``).  Both declare the problem capabilities they
offer or need, which ``parse_spec`` matches before anything is built.
"""
from __future__ import annotations


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
    def figures(derived: dict, directory, stem: str) -> list:
        """Files ``hpcinv plot`` writes for this kind's derived products (serial)."""
        return []


class SolverKind(_Kind):
    @staticmethod
    def requirements(values: dict) -> dict:
        """{Capability class: the key that needs it} for the problem."""
        return {}

    @classmethod
    def build(cls, problem, values: dict):
        """The algorithm object for ``problem``."""
        raise NotImplementedError
