"""The imaging app's problem kinds: ``gaussian-blur`` (deblurring, with auxiliary blurs) and
``ao-deconvolution`` (adaptive-optics star field, with the reference PSF_0 operator)."""
from __future__ import annotations

from ...core.jobspec import PROBLEMS
from ...solvers.recycling.capabilities import AuxiliaryOperators, ReferenceOperator
from ..synthetic.problems import FunctionKind
from .adaptive_optics import PARAMETERS as AO_PARAMETERS
from .adaptive_optics import ao_problem, check_sizes
from .blur import PARAMETERS as BLUR_PARAMETERS
from .blur import gaussian_blur_problem
from .memory import ao_memory, blur_memory

GaussianBlurKind = PROBLEMS.register("gaussian-blur")(
    FunctionKind.of(gaussian_blur_problem, BLUR_PARAMETERS, provides=(AuxiliaryOperators,),
                    memory=blur_memory))
AdaptiveOpticsKind = PROBLEMS.register("ao-deconvolution")(
    FunctionKind.of(ao_problem, AO_PARAMETERS, provides=(ReferenceOperator,),
                    check_parameters=check_sizes, memory=ao_memory))
