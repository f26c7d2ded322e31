"""The job kind ``redatuming``: seismic redatuming by multidimensional deconvolution with
causality and reciprocity (Luiken's thesis, ch. 5), in one of three formulations that agree
in exact arithmetic (``formulations``), each with optional Tikhonov."""
from __future__ import annotations

import numpy as np

from ...core.errors import InputError, job_keys
from ...core.mpi import agree
from ...core.jobspec import SOLVERS, Field
from ...operators.wavefield_constraints import (ConstraintProjection, direct_arrival_onsets,
                                                onsets_from_seconds)
from ..framework.kind import COMMON_PARAMETERS, MethodKind, discrepancy_arguments
from ..framework.stopping import Discrepancy
from ..krylov.kinds import own_method_petsc_problems
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
    if _uses_causality(values) and onsets_given == 0:
        problems.append(("solver.velocity", "causality needs its onsets: velocity (> 0, m/s "
                                            "at the datum) or onsets (a file)"))
    if _uses_causality(values) and onsets_given == 2:
        problems.append(("solver.onsets", "give velocity or onsets, not both"))
    if not _uses_causality(values):
        problems += [(f"solver.{key}", 'only with constraints = "both" or "causality"')
                     for key in ("velocity", "onsets", "onset_margin", "onset_taper")
                     if values[key] != PARAMETERS[key].default]
    if values["formulation"] != "penalty" and values["rho"] != PARAMETERS["rho"].default:
        problems.append(("solver.rho", 'only with formulation = "penalty"'))
    if values["formulation"] == "kkt" and values["onset_taper"] > 0:
        # L g = 0 with L = I - W S forces every tapered sample (0 < w < 1) to zero: the KKT
        # solution keeps the sharp cut and the taper would only look applied.
        problems.append(("solver.onset_taper", 'not with formulation = "kkt", whose '
                                               'constraint L g = 0 zeroes the ramp'))
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


def _onsets_of_job(values: dict, system: ImpulseResponseSystem):
    """The causality onsets in samples, or None without causality (no collectives)."""
    from ...core.io.inputs import read_hdf5_array

    if not _uses_causality(values):
        return None
    n_r = system.transform.n_a
    if values["velocity"] > 0:
        return direct_arrival_onsets(n_r, system.dr, system.dt, values["velocity"],
                                     margin=values["onset_margin"])
    seconds = read_hdf5_array(values["onsets"], values["onsets_dataset"], "solver.onsets")
    with job_keys("solver"):
        onsets_from_seconds(seconds, system.dt, n_r)        # checks the file's own times
        return onsets_from_seconds(np.maximum(seconds - values["onset_margin"], 0.0),
                                   system.dt, n_r)


def constraint_projection(values: dict, system: ImpulseResponseSystem) -> ConstraintProjection:
    """P of the job's constraints on the problem's g (collective)."""
    transform = system.transform
    if transform.n_a != transform.n_b:
        raise InputError(("solver.kind", f"redatuming needs the virtual sources at the "
                                         f"receivers (g is n_t x n_r x n_r); this problem has "
                                         f"{transform.n_a} receivers and {transform.n_b} "
                                         f"virtual sources"))
    # Onsets |x_r - x_v| and the pairing g(t, r, v) = g(t, v, r) both assume the same points.
    if abs(system.receiver_origin - system.virtual_source_origin) > 1e-6 * system.dr:
        raise InputError(("solver.kind", f"redatuming needs the virtual sources at the "
                                         f"receivers; the first receiver is at "
                                         f"{system.receiver_origin:g} m, the first virtual "
                                         f"source at {system.virtual_source_origin:g} m"))
    # Read on every rank, failures agreed: a file one node cannot read must not leave the
    # other ranks in the projection's collectives.
    onsets = agree(transform.trace_layout.mpi, _onsets_of_job, values, system)
    with job_keys("solver"):
        return ConstraintProjection(
            transform, onsets=onsets,
            reciprocity=values["constraints"] in ("both", "reciprocity"),
            taper=int(round(values["onset_taper"] / system.dt)))


def _petsc_problems(options: dict) -> list:
    """The LSQR forms are hpcinv's LSQR (only ``ksp_monitor`` of the ksp_* options); the
    KKT form's MINRES (prefix ``kkt_``) must stay MINRES without a preconditioner: another
    type or a preconditioner would solve a different (or the indefinite system wrongly)."""
    problems = own_method_petsc_problems(options)
    for key in options:
        name = str(key).lstrip("-").lower()
        if name == "kkt_ksp_type" or name.startswith("kkt_pc_"):
            problems.append((key, "the kkt formulation is MINRES without a preconditioner "
                                  "on the saddle-point system; it takes kkt_ksp_monitor and "
                                  "the like, not another type or a preconditioner"))
    return problems


@SOLVERS.register("redatuming")
class RedatumingKind(MethodKind):
    """MDD of g under causality and/or reciprocity: right preconditioning, a quadratic
    penalty or the KKT system, optionally with Tikhonov."""

    parameters = PARAMETERS
    check_parameters = staticmethod(check_redatuming)
    memory_estimate = staticmethod(redatuming_memory)
    check_petsc_options = staticmethod(_petsc_problems)

    @staticmethod
    def requirements(values: dict) -> dict:
        return {ImpulseResponseSystem: "solver.kind"}

    @classmethod
    def build(cls, problem, values: dict):
        projection = constraint_projection(values, problem.require(ImpulseResponseSystem))
        arguments = discrepancy_arguments(problem, values)
        if values["stop"] == "iterations":
            # The target stays in the history and figures; it only stops nothing.
            arguments["stopping"] = Discrepancy(values["tau"], problem.noise_norm, stop=False)
        arguments["lam"] = values["lam"]
        if values["formulation"] == "penalty":
            arguments["rho"] = values["rho"]
        with job_keys("solver"):
            return FORMULATIONS[values["formulation"]](problem.operator, problem.data,
                                                       projection, **arguments)
