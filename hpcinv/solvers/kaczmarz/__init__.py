"""Kaczmarz-type row-action methods: projected Nesterov-Kaczmarz reconstruction (PNKR) on
problems whose equations are tensor block rows."""
from .block_rows import TensorBlockRows
from .pnkr import PNKR

__all__ = ["PNKR", "TensorBlockRows"]
