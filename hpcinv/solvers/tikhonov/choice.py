"""A chosen lambda with the reason when there is none.

``choose_lambda`` (a spectral model) and ``lanczos_choice`` (Lanczos bounds) return None when
the rule finds no lambda inside the searched range: the discrepancy principle's target
residual is not reached there, or the functional (the L-curve's curvature) has no interior
minimum (maximum), since an end of the range would only reflect the range.  The functions
here call them and, in that case, say why in ``LambdaChoice.reason``: which end the rule
pulls towards, the residuals at the ends against the target, and for Lanczos why the steps
ended.  The ``Tikhonov`` solver records the reason as ``no_lambda_reason`` in its results
(a job's stop reason is then ``no_minimiser``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.mpi import same_on_every_rank
from .paramchoice import SpectralModel, choose_lambda
from .paramchoice.functionals import GRID_POINTS
from .paramchoice.lanczos import FunctionalBounds, LanczosChoice, lanczos_choice
from .paramchoice.lcurve import lcurve_corner, lcurve_curvature


@dataclass
class LambdaChoice:
    """``lam``: the chosen lambda, or None; ``reason``: why there is none ("" when ``lam``
    is chosen); ``rule``; ``x``: the Tikhonov solution for ``lam`` where the route gives
    one (Lanczos: the hybrid solution, a Vec), else None; ``lanczos``: the Lanczos route's
    own result (steps ``k``, ``matvecs``, ``converged``, ``history``), else None."""
    lam: float | None
    rule: str
    reason: str = ""
    x: object = None
    lanczos: LanczosChoice | None = None


def choose_lambda_explained(model: SpectralModel, rule: str, *, noise_norm: float = 0.0,
                            tau: float = 1.0,
                            bounds: tuple[float, float] | None = None) -> LambdaChoice:
    """``choose_lambda(model, rule, ...)`` (``rule`` may also be "lcurve":
    ``lcurve_corner``) as a ``LambdaChoice`` whose ``reason`` says why lam is None."""
    if rule == "lcurve":
        lam = lcurve_corner(model, bounds)
    else:
        lam = choose_lambda(model, rule, noise_norm=noise_norm, tau=tau, bounds=bounds)
    if lam is not None:
        return LambdaChoice(lam, rule)
    lo, hi = bounds or model.default_bounds()
    if rule == "dp":
        reason = _discrepancy_reason(model.residual_norm2, tau * noise_norm, lo, hi,
                                     model.data_norm2)
    elif rule == "lcurve":
        reason = (f"the L-curve's curvature has no interior maximum for lambda in "
                  f"[{lo:.3g}, {hi:.3g}]: "
                  + _pull(lambda lam: lcurve_curvature(model, lam), lo, hi, largest=True))
    else:
        reason = (f"the {rule} functional has no interior minimum for lambda in "
                  f"[{lo:.3g}, {hi:.3g}]: " + _pull(lambda lam: model.value(rule, lam), lo, hi))
    return LambdaChoice(None, rule, reason + _range_note(bounds, model_range=True))


def lanczos_choice_explained(operator, data, rule: str, *, epsilon: float,
                             on_step=None, **options) -> LambdaChoice:
    """``lanczos_choice(operator, data, rule, epsilon=..., **options)`` (the same keywords)
    as a ``LambdaChoice``: ``x`` its hybrid solution, ``lanczos`` its result, and
    ``reason`` why lam is None (the same on every rank).  Collective."""
    last = {}

    def watch(gk, row, step_bounds):
        last.update(gk=gk, stopped=False)
        stop = bool(on_step(gk, row, step_bounds)) if on_step is not None else False
        last["stopped"] = stop
        return stop

    choice = lanczos_choice(operator, data, rule, epsilon=epsilon, on_step=watch, **options)
    reason = ""
    if choice.lam is None:
        reason = same_on_every_rank(operator.comm.tompi4py(),
                                    _lanczos_reason(rule, choice, last, operator.shape[0],
                                                    options))
    last.clear()   # the bidiagonalisation's bases go with the choice
    return LambdaChoice(choice.lam, rule, reason, choice.solution, choice)


def _lanczos_reason(rule: str, choice: LanczosChoice, last: dict, rows: int,
                    options: dict) -> str:
    gk = last["gk"]
    k = choice.k
    if last["stopped"]:
        ended = f"the caller stopped the bidiagonalisation after {k} steps"
    elif gk.invariant:
        ended = f"the Krylov space became invariant after {k} steps (the bounds are exact)"
    else:
        ended = f"max_steps = {k} Golub-Kahan steps were taken"
    # The last step's bounds as the choice saw them (without Hutchinson probes: their
    # trace bounds stay inside the choice).
    current = FunctionalBounds(rule, gk, [], "ritz", rows, 0.0, 1.0,
                               options.get("unfiltered", 0))
    bounds = options.get("bounds")
    lo, hi = bounds or current.default_range()
    if rule == "dp":
        target = options.get("tau", 1.0) * options.get("noise_norm", 0.0)
        reason = _discrepancy_reason(lambda lam: current.data.residual_norm2(lam)[1], target,
                                     lo, hi, gk.start_norm ** 2, bound=True)
    else:
        reason = (f"the upper bound of the {rule} functional has no interior minimum for "
                  f"lambda in [{lo:.3g}, {hi:.3g}]")
        if not (rule == "gcv" and options.get("trace", "ritz") == "hutchinson"):
            reason += ": " + _pull(current.upper, lo, hi)
    note = (" (more steps may resolve it)" if not gk.invariant and not last["stopped"]
            else "")
    return f"{reason}; {ended}{note}" + _range_note(bounds, model_range=False)


def _discrepancy_reason(residual_norm2, target: float, lo: float, hi: float,
                        data_norm2: float, bound: bool = False) -> str:
    """Why ||A x_lambda - b|| = target has no root in (lo, hi): the residual grows with
    lambda, so the target lies below its value at lo or above its value at hi."""
    low, high = math.sqrt(residual_norm2(lo)), math.sqrt(residual_norm2(hi))
    what = "the residual's upper bound" if bound else "the residual ||A x - b||"
    if target <= low:
        return (f"the discrepancy target tau ||e|| = {target:.4g} lies below {what} at the "
                f"smallest lambda searched ({low:.4g} at lambda = {lo:.3g}): the model cannot "
                f"fit the data that closely (noise_norm too small, or a model too coarse: "
                f"a smaller epsilon, more steps)")
    if target >= high:
        return (f"the discrepancy target tau ||e|| = {target:.4g} lies above {what} at the "
                f"largest lambda searched ({high:.4g} at lambda = {hi:.3g}; ||b|| = "
                f"{math.sqrt(data_norm2):.4g}): every lambda fits the data more closely than "
                f"the target (noise_norm or tau too large)")
    return (f"the discrepancy target tau ||e|| = {target:.4g} is reached only at an end of "
            f"lambda in [{lo:.3g}, {hi:.3g}] ({what} runs from {low:.4g} to {high:.4g})")


def _pull(function, lo: float, hi: float, largest: bool = False) -> str:
    """Where ``function`` is smallest (``largest``: largest) on the log grid of lambda the
    minimisers sample, and what that means."""
    grid = np.exp(np.linspace(math.log(lo), math.log(hi), GRID_POINTS))
    values = np.array([function(lam) for lam in grid]) * (-1.0 if largest else 1.0)
    if not np.isfinite(values).any():
        return "it is not finite anywhere in that range"
    best = int(np.argmin(np.where(np.isfinite(values), values, np.inf)))
    extreme = "largest" if largest else "smallest"
    if best == 0:
        return (f"it is {extreme} at the smallest lambda searched, {lo:.3g}: the rule asks "
                f"for less regularization than the range allows")
    if best == len(grid) - 1:
        return (f"it is {extreme} at the largest lambda searched, {hi:.3g}: the rule asks "
                f"for more regularization than the range allows")
    return (f"it is flat at its {extreme} values (around lambda = {grid[best]:.3g}), with no "
            f"strict local {'maximum' if largest else 'minimum'}")


def _range_note(bounds, model_range: bool) -> str:
    if bounds is not None:
        return "; the range searched is the bounds given"
    if model_range:
        return ("; the range searched is the model's squared singular values (pass bounds "
                "to widen it)")
    return ""


__all__ = ["LambdaChoice", "choose_lambda_explained", "lanczos_choice_explained"]
