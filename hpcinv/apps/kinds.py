"""Importing this registers every built-in problem kind (``core.jobspec.PROBLEMS``)."""
from .classic import kinds as _classic  # noqa: F401
from .disk import kinds as _disk  # noqa: F401
from .galaxy import kinds as _galaxy  # noqa: F401
from .imaging import kinds as _imaging  # noqa: F401
from .seismic import kinds as _seismic  # noqa: F401
