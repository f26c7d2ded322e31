"""The capability of the redatuming solvers: a problem whose unknown is an impulse response
g(t, r, v) on a regular receiver line, so that causality onsets (from the distance between
receivers) and reciprocity (g(t, r, v) = g(t, v, r)) can be imposed on it."""
from __future__ import annotations

from dataclasses import dataclass

from ...core.problem import Capability


@dataclass
class ImpulseResponseSystem(Capability):
    description = "an impulse response g(t, r, v) sampled on a regular receiver line"
    examples = "mdd"

    # operators.frequency_blocks.TimeFrequencyTransform of g: n_a receivers r, n_b virtual
    # sources v, n_t samples; the solvers need n_a = n_b (the virtual sources at the
    # receivers).
    transform: object
    dt: float       # s
    dr: float       # m, between neighbouring receivers
    receiver_origin: float = 0.0            # m, the first receiver's position
    virtual_source_origin: float = 0.0      # m, the first virtual source's
