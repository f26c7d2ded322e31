"""Capabilities that solvers of several families use."""
from __future__ import annotations

from dataclasses import dataclass

from ...core.problem import Capability


@dataclass
class Regularization(Capability):
    """The operator L of a general-form penalty ||L x|| (Tikhonov's lambda ||L x||^2, a
    relaxed ||L x||_1) that a problem names; without it methods use L = I."""
    description = "a regularization operator"
    examples = "gravity, crosswell, parallel-beam"

    operator: object
