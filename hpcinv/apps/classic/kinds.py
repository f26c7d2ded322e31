"""The classic app's problem kinds: ``deconvolution`` (Gaussian blur on 1-D/2-D meshes, data
synthesised or from HDF5), ``gravity``, ``crosswell``, ``parallel-beam`` and the small
sparse examples of Luiken's ch. 6 (``spiky-deconvolution``, ``compressed-sensing``,
``tv-deblurring``), each also a function for driver scripts, with a ``regularization``
operator L; their memory estimates are in ``memory.py``."""
from __future__ import annotations

from ...core.jobspec import PROBLEMS, ProblemKind
from ..synthetic.problems import RegularizedKind
from . import deconvolution as _deconvolution
from .crosswell import PARAMETERS as CROSSWELL_PARAMETERS
from .crosswell import crosswell, grid_shape as crosswell_grid
from .gravity import PARAMETERS as GRAVITY_PARAMETERS
from .memory import (crosswell_memory, deconvolution_memory, gravity_memory,
                     parallel_beam_memory, sparse_example_memory)
from .gravity import gravity, grid_shape as gravity_grid
from .parallel_beam import PARAMETERS as PARALLEL_BEAM_PARAMETERS
from .parallel_beam import grid_shape as parallel_beam_grid, parallel_beam
from . import sparse_examples as _sparse


@PROBLEMS.register("deconvolution")
class DeconvolutionKind(ProblemKind):
    parameters = _deconvolution.PARAMETERS
    prepare = staticmethod(_deconvolution.prepare)
    build = staticmethod(_deconvolution.build)
    memory_estimate = staticmethod(deconvolution_memory)


GravityKind = PROBLEMS.register("gravity")(
    RegularizedKind.of(gravity, GRAVITY_PARAMETERS, grid_shape=gravity_grid,
                       memory=gravity_memory))
CrosswellKind = PROBLEMS.register("crosswell")(
    RegularizedKind.of(crosswell, CROSSWELL_PARAMETERS, grid_shape=crosswell_grid,
                       memory=crosswell_memory))
ParallelBeamKind = PROBLEMS.register("parallel-beam")(
    RegularizedKind.of(parallel_beam, PARALLEL_BEAM_PARAMETERS, grid_shape=parallel_beam_grid,
                       memory=parallel_beam_memory))

# Luiken's ch. 6.1.1 examples (``sparse_examples.py``).
for _name, _make, _parameters in (
        ("spiky-deconvolution", _sparse.spiky_deconvolution, _sparse.SPIKY_PARAMETERS),
        ("compressed-sensing", _sparse.compressed_sensing, _sparse.SENSING_PARAMETERS),
        ("tv-deblurring", _sparse.tv_deblurring, _sparse.TV_PARAMETERS)):
    PROBLEMS.register(_name)(RegularizedKind.of(
        _make, _parameters, grid_shape=_sparse.grid_shape,
        check_parameters=_sparse.check_counts, memory=sparse_example_memory))
