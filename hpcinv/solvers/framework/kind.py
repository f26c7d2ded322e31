"""Solver job kinds: the thin adapter between a ``[solver]`` table and an algorithm class.

A kind (``core.jobspec.kinds.SolverKind``) states its schema (``parameters``), cross-key
checks (``check_parameters``), the problem capabilities it needs (``requirements``, checked
at validation against the problem kind's ``capabilities``) and ``build(problem, values)``,
which maps checked values to the algorithm's keyword arguments; ``check_petsc_options``
refuses [petsc] options it would ignore.  Checkpointing is the
algorithm's ``SolverState``; the kind adds nothing to it.  Kinds register with
``SOLVERS.register(name)``; ``MethodKind`` adds the keys every iterative method shares.
"""
from __future__ import annotations

from ...core.jobspec import Field
from ...core.jobspec.kinds import SolverKind

COMMON_PARAMETERS = {
    "max_iterations": Field(int, 500, "iteration limit", minimum=1),
    "tau": Field(float, 1.02, "discrepancy principle: stop once ||A x - b|| <= tau * delta "
                 "(delta = the problem's noise norm)", minimum=1.0),
    "wall_time": Field(float, 0.0, "stop with a checkpoint after this many seconds of solving "
                       "in one run (0: no limit)", minimum=0),
}


class MethodKind(SolverKind):
    """A solver kind with the common keys (iteration limit, tau, wall time)."""

    parameters = COMMON_PARAMETERS

    @staticmethod
    def check_petsc_options(options: dict) -> list:
        """[(option key, message)] for options of the job's [petsc] table that this kind
        cannot honour and would silently ignore (validation calls it)."""
        return []


def no_solver_options(options: dict) -> list:
    """``check_petsc_options`` of kinds that run hpcinv's own iterations (their inner PETSc
    solves, if any, are set by the kind's keys): any ksp_* or tao_* option of the job's
    [petsc] table would be silently ignored."""
    return [(key, "this solver kind runs hpcinv's own iterations, not a PETSc KSP or TAO, "
                  "and takes no ksp_* or tao_* option; its progress is the history and the "
                  "progress lines")
            for key in options if str(key).lstrip("-").lower().startswith(("ksp_", "tao_"))]


def discrepancy_arguments(problem, values: dict) -> dict:
    """The keyword arguments every discrepancy-stopped method takes from a job."""
    return {"tau": values["tau"], "noise_norm": problem.noise_norm,
            "max_iterations": values["max_iterations"]}
