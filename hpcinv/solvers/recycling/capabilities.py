"""What a problem may offer the recycle sources of the augmented kinds."""
from __future__ import annotations

from dataclasses import dataclass

from ...core.problem import Capability


@dataclass
class ReferenceOperator(Capability):
    """A square operator whose leading eigenvectors make a recycle space (e.g. the
    aberration-free telescope's blur of an AO problem)."""
    description = "a reference operator"
    examples = "ao-deconvolution"

    operator: object


@dataclass
class AuxiliaryOperators(Capability):
    """Cheaper operators related to the problem's, whose steepest-descent iterates on the
    data make a recycle space (e.g. narrower blurs)."""
    description = "auxiliary operators"
    examples = "gaussian-blur"

    operators: list
