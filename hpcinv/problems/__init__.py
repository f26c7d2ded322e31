"""Problem kinds; importing this package registers the built-in ones."""
from . import deconvolution  # noqa: F401 - registers "deconvolution"
from .base import Problem

__all__ = ["Problem"]
