"""The job kind ``redatuming``: seismic redatuming by multidimensional deconvolution with
causality and reciprocity (Luiken's thesis, ch. 5), in one of three formulations that agree
in exact arithmetic (``formulations``), each with optional Tikhonov."""
from __future__ import annotations

import numpy as np

from ...core.errors import InputError, job_keys
from ...core.jobspec import SOLVERS, Field
from ...operators.wavefield_constraints import (ConstraintProjection, direct_arrival_onsets,
                                                onsets_from_seconds)
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from ..memory import redatuming_memory
from .formulations import FORMULATIONS
from .impulse_response import ImpulseResponseSystem

CONSTRAINTS = ("both", "causality", "reciprocity")
STOPS = ("discrepancy", "iterations")


def _uses_causality(values: dict) -> bool:
    return values["constraints"] in ("both", "causality")


def check_redatuming(values: dict) -> list:
    """[(key, message)] for keys that are wrong together."""
    problems = []
    onsets_given = bool(values["onsets"]) + (values["velocity"] > 0)
    if _uses_causality(values) and onsets_given != 1:
        problems.append(("solver.velocity", "causality needs its onsets from exactly one of "
                                            "velocity (> 0, m/s at the datum) and onsets (a "
                                            f"file); got {onsets_given}"))
    if not _uses_causality(values):
        problems += [(f"solver.{key}", 'only with constraints = "both" or "causality"')
                     for key in ("velocity", "onsets", "onset_margin", "onset_taper")
                     if values[key] != PARAMETERS[key].default]
    if values["formulation"] != "penalty" and values["rho"] != PARAMETERS["rho"].default:
        problems.append(("solver.rho", 'only with formulation = "penalty"'))
    return problems


PARAMETERS = {
    **COMMON_PARAMETERS,
    "formulation": Field(str, "preconditioned", "preconditioned: LSQR on Q P, g = P g~ "
                         "(thesis 5.12); penalty: LSQR on [Q; sqrt(rho) L] (5.13); kkt: "
                         "MINRES on the KKT system (5.10)", choices=tuple(FORMULATIONS)),
    "constraints": Field(str, "both", "causality (g = 0 before each onset), reciprocity "
                         "(g(t, r, v) = g(t, v, r)) or both", choices=CONSTRAINTS),
    "velocity": Field(float, 0.0, "m/s at the datum: onsets |x_r - x_v| / velocity, the "
                      "direct arrival between the two receivers (0: from onsets)", minimum=0),
    "onsets": Field(str, "", "HDF5 file of an (n_r, n_r) array of onset times (s), "
                    "symmetric, instead of velocity", file=True),
    "onsets_dataset": Field(str, "onsets", "dataset of the onset times in that file"),
    "onset_margin": Field(float, 0.0, "s taken off every onset, so that an event arriving "
                          "early (a zero-phase wavelet's first half) is not cut", minimum=0),
    "onset_taper": Field(float, 0.0, "s of sin^2 ramp before each onset (0: a sharp cut and "
                         "an exact projector; with a ramp the formulations differ)",
                         minimum=0),
    "rho": Field(float, 1.0, "penalty weight of ||L g||^2 (formulation = penalty); the "
                 "constraints hold only as rho grows", minimum=0, exclusive_minimum=True),
    "lam": Field(float, 0.0, "Tikhonov weight of ||g||^2 (thesis 5.16-5.18)", minimum=0),
    "stop": Field(str, "discrepancy", "discrepancy: stop once ||Q g - p|| <= tau * delta; "
                  "iterations: run max_iterations", choices=STOPS),
}


def _onsets(values: dict, system: ImpulseResponseSystem):
    """The causality onsets in samples, or None without causality."""
    from ...core.io.inputs import read_hdf5_array

    if not _uses_causality(values):
        return None
    n_r = system.transform.n_a
    if values["velocity"] > 0:
        return direct_arrival_onsets(n_r, system.dr, system.dt, values["velocity"],
                                     margin=values["onset_margin"])
    seconds = read_hdf5_array(values["onsets"], values["onsets_dataset"], "solver.onsets")
    onsets_from_seconds(seconds, system.dt, n_r)            # checks the file's own times
    return onsets_from_seconds(np.maximum(seconds - values["onset_margin"], 0.0), system.dt,
                               n_r)


def constraint_projection(values: dict, system: ImpulseResponseSystem) -> ConstraintProjection:
    """P of the job's constraints on the problem's g (collective)."""
    transform = system.transform
    if transform.n_a != transform.n_b:
        raise InputError(("solver.kind", f"redatuming needs the virtual sources at the "
                                         f"receivers (g is n_t x n_r x n_r); this problem has "
                                         f"{transform.n_a} receivers and {transform.n_b} "
                                         f"virtual sources"))
    with job_keys("solver"):
        return ConstraintProjection(
            transform, onsets=_onsets(values, system),
            reciprocity=values["constraints"] in ("both", "reciprocity"),
            taper=int(round(values["onset_taper"] / system.dt)))


@SOLVERS.register("redatuming")
class RedatumingKind(MethodKind):
    """MDD of g under causality and/or reciprocity: right preconditioning, a quadratic
    penalty or the KKT system, optionally with Tikhonov."""

    parameters = PARAMETERS
    check_parameters = staticmethod(check_redatuming)
    memory_estimate = staticmethod(redatuming_memory)

    @staticmethod
    def requirements(values: dict) -> dict:
        return {ImpulseResponseSystem: "solver.kind"}

    @classmethod
    def build(cls, problem, values: dict):
        projection = constraint_projection(values, problem.require(ImpulseResponseSystem))
        arguments = discrepancy_arguments(problem, values)
        if values["stop"] == "iterations":
            arguments["noise_norm"] = 0.0
        arguments["lam"] = values["lam"]
        if values["formulation"] == "penalty":
            arguments["rho"] = values["rho"]
        with job_keys("solver"):
            return FORMULATIONS[values["formulation"]](problem.operator, problem.data,
                                                       projection, **arguments)
