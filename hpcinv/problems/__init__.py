"""Problem kinds; importing this package registers the built-in ones."""
from . import classic, deconvolution, galaxy, imaging  # noqa: F401 - register the kinds
from .base import Problem

__all__ = ["Problem"]
