"""Galaxy archaeology: population-kinematic distribution functions from IFU datacubes (PNKR,
Hinterer et al.), with the mock galaxy, MILES templates, derived maps, figures, the ``mock``
and ``templates`` commands and the reproductions of the paper and of pPXF; the problem kind
``galaxy`` and, for driver scripts, ``galaxy_problem``."""
from .problem import galaxy_problem

__all__ = ["galaxy_problem"]
