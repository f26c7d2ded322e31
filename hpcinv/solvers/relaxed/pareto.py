"""Points of the Pareto curve phi(tau) = min ||F y - g|| s.t. ||y||_1 <= tau with van den
Berg and Friedlander's bounds (SPGL1; Luiken's thesis, ch. 6): for any feasible y with
residual r = g - F y,

    (g^T r - tau ||F^T r||_inf) / ||r||  <=  phi(tau)  <=  ||r||,

(the thesis prints the lower bound without the division by ||r||, which a dual point needs)
and at the solution both meet and phi'(tau) = -||F^T r||_inf / ||r||.

Two problems: the original one with L = I (F = A, g = b), and SR3's relaxed one, where
F_kappa and g_kappa (Eq. 6.3) are never formed: for y and the x = x(y) minimising
||A x - b||^2 + kappa ||L x - y||^2 (an exact SR3 step, or SR3's converged pair),
||F y - g||^2 = ||A x - b||^2 + kappa ||L x - y||^2 and F^T (g - F y) = kappa (L x - y).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.errors import check_number


@dataclass
class ParetoPoint:
    """phi's upper bound ||r|| (phi itself at the solution), its lower bound, and the slope
    -||F^T r||_inf / ||r|| at radius ``radius``."""
    radius: float
    upper: float
    lower: float
    slope: float

    @property
    def gap(self) -> float:
        """upper - lower >= 0; 0 exactly at the solution."""
        return self.upper - self.lower


def _point(radius, residual_norm: float, g_dot_r: float, dual_inf: float) -> ParetoPoint:
    if residual_norm == 0:   # an exact fit: phi = 0, flat
        return ParetoPoint(radius, 0.0, 0.0, 0.0)
    return ParetoPoint(radius, residual_norm, (g_dot_r - radius * dual_inf) / residual_norm,
                       -dual_inf / residual_norm)


def original_point(operator, data, x, radius: float) -> ParetoPoint:
    """The bounds of min ||A x - b|| s.t. ||x||_1 <= ``radius`` at a feasible x (collective)."""
    from petsc4py import PETSc

    radius = check_number("radius", radius)
    domain, residual = operator.create_vecs()
    operator.mult(x, residual)
    residual.aypx(-1.0, data)                      # r = b - A x
    operator.mult_transpose(residual, domain)      # A^T r
    point = _point(radius, residual.norm(), data.dot(residual),
                   domain.norm(PETSc.NormType.NORM_INFINITY))
    domain.destroy()
    residual.destroy()
    return point


def relaxed_point(operator, data, regularization, x, y, kappa: float,
                  radius: float) -> ParetoPoint:
    """The bounds of SR3's min ||F_kappa y - g_kappa|| s.t. ||y||_1 <= ``radius`` at y,
    given x = x(y) (collective)."""
    from petsc4py import PETSc

    kappa, radius = check_number("kappa", kappa, positive=True), check_number("radius", radius)
    data_residual = operator.create_vecs()[1]
    operator.mult(x, data_residual)
    data_residual.axpy(-1.0, data)                 # A x - b
    gap = regularization.create_vecs()[1]
    regularization.mult(x, gap)
    gap.axpy(-1.0, y)                              # L x - y
    phi = math.sqrt(data_residual.norm() ** 2 + kappa * gap.norm() ** 2)
    # g^T r = ||r||^2 + y^T F^T r with F^T r = kappa (L x - y).
    g_dot_r = phi ** 2 + kappa * y.dot(gap)
    point = _point(radius, phi, g_dot_r, kappa * gap.norm(PETSc.NormType.NORM_INFINITY))
    data_residual.destroy()
    gap.destroy()
    return point
