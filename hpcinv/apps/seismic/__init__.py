"""Seismic multidimensional deconvolution (MDD): wavefield readers (HDF5, NPZ, SEG-Y),
synthetic surveys with a known impulse response, figures and the ``hpcinv seismic-mock``
command (docs/seismic.md); the problem kind ``mdd`` and, for driver scripts,
``mdd_problem``."""
from ...core.lazy import lazy_exports

_EXPORTS = {"mdd_problem": ".problem"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
