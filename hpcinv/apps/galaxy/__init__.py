"""Galaxy archaeology: population-kinematic distribution functions from IFU datacubes (PNKR,
Hinterer et al.), with the mock galaxy, MILES templates, derived maps, figures, the ``mock``
and ``templates`` commands and the reproductions of the paper and of pPXF; the problem kind
``galaxy`` and, for driver scripts, ``galaxy_problem``."""
from ...core.lazy import lazy_exports

_EXPORTS = {"galaxy_problem": ".problem"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
