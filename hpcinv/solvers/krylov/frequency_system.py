"""The capability of frequency-domain solvers (block Krylov per frequency): a problem whose
operator is a multidimensional convolution, so that its block-diagonal frequency systems
G_f Q_f = P_f can be solved one frequency at a time on the rank that owns it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.problem import Capability


@dataclass
class FrequencyBlockSystem(Capability):
    description = "frequency blocks of a multidimensional convolution"
    examples = "mdd"

    # operators.frequency_blocks.MultiDimensionalConvolution: its model blocks Q_f on the
    # owning rank and the transforms between time-domain Vecs and frequency blocks.
    operator: object
    # ||E_f||_F of the noise in each of this rank's frequency blocks of the data (for a
    # per-frequency discrepancy rule), or None when only the total noise norm is known.
    frequency_noise: np.ndarray | None = None
