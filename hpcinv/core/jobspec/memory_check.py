"""The memory check of a job: its problem and solver kinds' estimates (``core.memory``)
against the limit per rank, before anything is read or allocated."""
from __future__ import annotations

from ..errors import InputError
from ..memory import RUNTIME_BYTES, MemoryEstimate, advice, describe, limit_per_rank
from .registry import PROBLEMS, SOLVERS


def estimate(spec) -> MemoryEstimate | None:
    """The job's estimate on one rank (problem, solver and the runtime), or None when its
    problem kind cannot tell."""
    problem_kind = PROBLEMS.get(spec.problem["kind"], "problem.kind")
    solver_kind = SOLVERS.get(spec.solver["kind"], "solver.kind")
    try:
        problem = problem_kind.memory_estimate(spec.problem)
        if problem is None:
            return None
        solver = solver_kind.memory_estimate(spec.solver, problem) \
            if problem.rows is not None and problem.columns is not None else None
    except (ArithmeticError, ValueError):
        # Values too extreme for a formula's floats (an infinite kernel width): no estimate
        # rather than a traceback; validation and the build judge such values.
        return None
    return problem + solver + MemoryEstimate(replicated_bytes=RUNTIME_BYTES)


def check_memory(spec, count: int = 1, local_ranks: int | None = None) -> MemoryEstimate | None:
    """The job's estimate (None when unknown); InputError, under the job key that drives it,
    when its share per rank on ``count`` ranks exceeds ``limit_per_rank(local_ranks)``."""
    job = estimate(spec)
    if job is None:
        return None
    limit = limit_per_rank(local_ranks)
    if job.per_rank(count) > limit.bytes:
        key = job.keys[0] if job.keys else "problem"
        raise InputError((key, f"the job needs {describe(job, count, limit)}; "
                               f"{advice(job, limit)}"))
    return job
