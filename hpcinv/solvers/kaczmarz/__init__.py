"""Kaczmarz-type row-action methods: projected Nesterov-Kaczmarz reconstruction (PNKR) on
problems whose equations are tensor block rows."""
from ...core.lazy import lazy_exports

_EXPORTS = {"PNKR": ".pnkr", "TensorBlockRows": ".block_rows"}   # PNKR compiles with numba
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
