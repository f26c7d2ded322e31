"""What PETSc's options database may change of a KSP that hpcinv drives (``drive_ksp``).

The options (a job's ``[petsc]`` table, the command line, ``PETSC_OPTIONS``, options files)
configure everything around the solve: monitors, views, the least-squares type, and an
iteration cap ``-ksp_max_it`` that may lower the solver's ``max_iterations``, never raise it.
What decides convergence stays hpcinv's, installed after the options are read: the stopping
test, ``rtol``/``atol``/``divtol``, the norm type and the initial guess, so ``-ksp_rtol``,
``-ksp_norm_type``, ``-ksp_convergence_test`` and the like have no effect.
"""
from __future__ import annotations

from ...core.errors import InputError
from ...core.petsc_options import least_squares_ksp_type_problem, petsc_input_errors


def configure_from_options(ksp, max_it: int) -> int:
    """Apply the options database to ``ksp`` and return its iteration cap: ``max_it`` or a
    smaller ``-ksp_max_it`` (at least 1: PETSc takes one step even at 0).  InputError under
    ``petsc.ksp_type`` when the options chose a type that does not minimise ||A x - b||
    (the ``[petsc]`` table is checked at validation; this catches the command line,
    ``PETSC_OPTIONS`` and options files)."""
    # Only an explicit -ksp_max_it changes the limit set here, so a smaller one is the user's.
    ksp.setTolerances(max_it=max_it)
    with petsc_input_errors():   # a bad option value is bad input
        ksp.setFromOptions()
    problem = least_squares_ksp_type_problem(ksp.getType())
    if problem:
        raise InputError(("petsc.ksp_type", f"-ksp_type from PETSc's options (command line, "
                                            f"PETSC_OPTIONS or an options file): {problem}"))
    return max(min(ksp.getTolerances()[3], max_it), 1)
