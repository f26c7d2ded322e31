"""The Problem object every solver consumes, and the two-phase contract of problem kinds.

A problem kind has ``parameters`` (its schema) and two steps:

* ``prepare(values)`` reads and checks inputs on each rank without any collective
  operation, raising InputError with key paths; the pipeline runs it through ``agree`` so
  one rank's bad slice fails all ranks cleanly;
* ``build(prepared, comm)`` creates the distributed operator and vectors (collective).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    operator: object            # hpcinv.operators.Operator
    data: object                # PETSc Vec, range layout
    noise_norm: float           # delta = ||e||, the discrepancy principle's noise level
    truth: object = None        # PETSc Vec, domain layout, when known
    grid_shape: tuple = ()      # shape of the unknown on its mesh
    attributes: dict = field(default_factory=dict)
    noise_free_data: object = None   # PETSc Vec, range layout: a synthetic problem's data
                                     # before noise, when known
    regularization: object = None    # Operator L of general-form Tikhonov min ||Ax-b||^2 +
                                     # lambda ||Lx||^2, when the problem names one
    reference_operator: object = None    # Operator whose leading eigenvectors make a recycle
                                         # space (e.g. the aberration-free telescope's blur)
    auxiliary_operators: list = field(default_factory=list)  # cheaper operators related to
                                         # this one, whose iterates on the data make a
                                         # recycle space (e.g. narrower blurs)

    def derived(self, solution) -> dict:
        """Application products of a solution (maps, moments); none for plain problems."""
        return {}
