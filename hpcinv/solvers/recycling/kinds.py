"""The job kinds ``augmented-sd``, ``augmented-landweber`` and ``augmented-cgls``: the augmented
methods of ``augmented.py`` with the recycle space and initial guess that ``sources.py``
makes of their keys (with ``recycle = "none"`` the plain methods).  The recycle space is
rebuilt from the job on resume, so the descent kinds repeat the uninterrupted iterates."""
from __future__ import annotations

from ...core.jobspec import SOLVERS, Field
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from ..memory import recycling_memory
from .augmented import KSP_TYPES, AugmentedCGLS, AugmentedLandweber, AugmentedSteepestDescent
from .sources import (CHECK_PARAMETER, RECYCLE_PARAMETERS, WARM_START_PARAMETER, check_recycle,
                      initial_guess, recycle_space, requirements)


class _RecyclingKind(MethodKind):
    parameters = {**COMMON_PARAMETERS, **RECYCLE_PARAMETERS, **WARM_START_PARAMETER}
    check_parameters = staticmethod(check_recycle)
    requirements = staticmethod(requirements)
    spectral = False        # whole Fourier modes applied in the spectrum (the descent kinds)

    @classmethod
    def memory_estimate(cls, values: dict, problem):
        return recycling_memory(values, problem, spectral=cls.spectral)


@SOLVERS.register("augmented-sd")
class AugmentedSteepestDescentKind(_RecyclingKind):
    parameters = {**_RecyclingKind.parameters, **CHECK_PARAMETER}
    spectral = True

    @classmethod
    def build(cls, problem, values: dict) -> AugmentedSteepestDescent:
        return AugmentedSteepestDescent(
            problem.operator, problem.data, recycle_space(problem, values, spectral=True),
            initial_guess(problem.operator, values),
            check_residual_every=values["check_residual_every"],
            **discrepancy_arguments(problem, values))


@SOLVERS.register("augmented-landweber")
class AugmentedLandweberKind(_RecyclingKind):
    parameters = {**_RecyclingKind.parameters, **CHECK_PARAMETER,
                  "step": Field(float, 0.0, "fixed step size (0: 1/||T||^2 from a power "
                                "iteration; must be below 2/||T||^2)", minimum=0)}
    spectral = True

    @classmethod
    def build(cls, problem, values: dict) -> AugmentedLandweber:
        return AugmentedLandweber(
            problem.operator, problem.data, recycle_space(problem, values, spectral=True),
            initial_guess(problem.operator, values), step=values["step"] or None,
            check_residual_every=values["check_residual_every"],
            **discrepancy_arguments(problem, values))


@SOLVERS.register("augmented-cgls")
class AugmentedCGLSKind(_RecyclingKind):
    parameters = {**_RecyclingKind.parameters,
                  "ksp_type": Field(str, "cgls", "PETSc least-squares Krylov method on the "
                                    "projected problem", choices=KSP_TYPES)}

    @classmethod
    def build(cls, problem, values: dict) -> AugmentedCGLS:
        return AugmentedCGLS(problem.operator, problem.data, recycle_space(problem, values),
                             initial_guess(problem.operator, values),
                             ksp_type=values["ksp_type"], **discrepancy_arguments(problem, values))
