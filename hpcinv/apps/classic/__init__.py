"""Classic test problems of regularization, as problem kinds and as functions for driver
scripts: gravity surveying (``gravity``), cross-well tomography (``crosswell``) and
parallel-beam tomography of the Shepp-Logan phantom (``parallel-beam``)."""
# Eager: these functions share their modules' names, which a lazy export would lose to the
# submodules once those are imported.
from .crosswell import crosswell
from .gravity import gravity
from .parallel_beam import parallel_beam

__all__ = ["crosswell", "gravity", "parallel_beam"]
