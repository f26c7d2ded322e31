"""Problem kinds; importing this package registers the built-in ones."""
from . import deconvolution, galaxy  # noqa: F401 - register "deconvolution", "galaxy"
from .base import Problem

__all__ = ["Problem"]
