"""The Problem every solver consumes, the capabilities a problem may declare, and the two-phase
contract of problem kinds.

A Problem is the forward operator, the data, the noise level and what is known besides
(truth, noise-free data).  What only some solvers need (tensor block rows for Kaczmarz
sweeps, a regularization operator for general-form Tikhonov, a reference operator whose
eigenvectors make a recycle space, ...) is a *capability*: a small typed object the problem
declares, defined next to the solvers that use it (``Capability`` subclasses).  A solver
asks ``problem.require(TensorBlockRows)`` instead of probing attributes, and job kinds
declare both sides, so a job whose solver needs what its problem kind cannot offer is
refused at validation, before anything is built:

* a problem kind's ``capabilities(values)`` names the Capability classes it will provide;
* a solver kind's ``requirements(values)`` maps each Capability class it needs to the key
  that asks for it (e.g. ``{ReferenceOperator: "solver.recycle"}``).

A problem kind has ``parameters`` (its schema) and two steps:

* ``prepare(values)`` reads and checks inputs on each rank without any collective
  operation, raising InputError with key paths; the pipeline runs it through ``agree`` so
  one rank's bad slice fails all ranks cleanly;
* ``build(prepared, comm)`` creates the distributed operator and vectors (collective).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import InputError, RuntimeFailure


class Capability:
    """Something a problem offers beyond operator and data.  ``description`` completes
    "needs a problem with ..." in error messages; ``examples`` names problem kinds that
    have it."""

    description = "a capability"
    examples = ""


@dataclass
class Problem:
    operator: object            # hpcinv.linalg.Operator
    data: object                # PETSc Vec, range layout
    noise_norm: float           # delta = ||e||, the discrepancy principle's noise level
    truth: object = None        # PETSc Vec, domain layout, when known
    grid_shape: tuple = ()      # shape of the unknown on its mesh
    attributes: dict = field(default_factory=dict)
    noise_free_data: object = None   # PETSc Vec, range layout: a synthetic problem's data
                                     # before noise, when known
    capabilities: tuple = ()    # Capability instances, at most one of each class

    def __post_init__(self):
        self.capabilities = tuple(self.capabilities)
        classes = [type(capability) for capability in self.capabilities]
        for capability, kind in zip(self.capabilities, classes):
            if not isinstance(capability, Capability):
                raise TypeError(f"capabilities: {capability!r} is not a Capability")
            if classes.count(kind) > 1:
                raise ValueError(f"capabilities: {kind.__name__} given more than once")
        # Norms are global reductions, so every rank fails alike (``agreed``).
        norms = (("data", self.data.norm() if self.data is not None else 0.0),
                 ("noise", self.noise_norm))
        for name, value in norms:
            if not math.isfinite(value):
                failure = RuntimeFailure(
                    f"the {name} norm is {value}: the data (or its noise) overflow double "
                    f"precision; rescale the data or check them for huge values")
                failure.agreed = True
                raise failure

    def capability(self, kind: type):
        """The problem's capability of class ``kind``, or None."""
        for capability in self.capabilities:
            if isinstance(capability, kind):
                return capability
        return None

    def require(self, kind: type, key: str = "solver.kind", who: str = "this solver"):
        """The capability of class ``kind``; InputError under ``key`` when the problem has
        none (the pipeline refuses such jobs at validation; this guards Python drivers)."""
        capability = self.capability(kind)
        if capability is None:
            raise InputError((key, missing_capability_message(kind, who)))
        return capability

    def derived(self, solution) -> dict:
        """Application products of a solution (maps, moments); none for plain problems."""
        return {}


def missing_capability_message(kind: type, who: str, problem_kind: str | None = None) -> str:
    examples = f" (such as {kind.examples})" if kind.examples else ""
    given = f", not {problem_kind}" if problem_kind else ""
    return f"{who} needs a problem with {kind.description}{examples}{given}"
