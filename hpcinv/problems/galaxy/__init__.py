"""Galaxy archaeology: population-kinematic distribution functions from IFU datacubes."""
from . import problem  # noqa: F401 - registers the "galaxy" problem kind
