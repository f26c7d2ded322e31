"""Importing this registers every built-in solver kind (``core.jobspec.SOLVERS``)."""
from .constrained import kinds as _constrained  # noqa: F401
from .kaczmarz import kinds as _kaczmarz  # noqa: F401
from .krylov import kinds as _krylov  # noqa: F401
from .penalized import kinds as _penalized  # noqa: F401
from .recycling import kinds as _recycling  # noqa: F401
from .relaxed import kinds as _relaxed  # noqa: F401
from .tikhonov import kinds as _tikhonov  # noqa: F401
