"""Axisymmetric potentials of thin disks, with the positive sign convention of Pichon &
Thiebaut (psi > 0, psi -> 0 at infinity, bound orbits have energy < 0): the Kuzmin disk and
any tabulated psi(R) (a cubic spline), with the circular-orbit quantities the distribution
function's kernel and the iso-Q simulator need."""
from __future__ import annotations

import numpy as np

# Bisection halves the bracket: 80 halvings take any bracket below double precision.
_BISECTIONS = 80


class Potential:
    """psi(R) > 0 on ``radius_range`` = (0, r_max); subclasses give ``psi`` and ``dpsi``."""

    radius_range = (0.0, np.inf)

    def psi(self, R):
        raise NotImplementedError

    def dpsi(self, R):
        """d psi / dR (negative: the force -dPhi/dR = dpsi/dR points inward)."""
        raise NotImplementedError

    def circular_velocity(self, R):
        R = np.asarray(R, dtype=float)
        return np.sqrt(np.maximum(-R * self.dpsi(R), 0.0))

    def angular_momentum_range(self) -> float:
        """The largest |h| whose circular orbit lies inside ``radius_range``."""
        r_max = self.radius_range[1]
        return np.inf if not np.isfinite(r_max) else float(r_max * self.circular_velocity(r_max))

    def circular_radius(self, h):
        """R_c(h), the radius of the circular orbit of angular momentum |h|: the root of
        R^2 v_c(R)^2 = h^2 (bisection on arrays: v_c R grows with R in any disk whose
        circular orbits are stable)."""
        target = np.abs(np.asarray(h, dtype=float))
        if np.any(target > self.angular_momentum_range()):
            raise ValueError(f"|h| up to {target.max():.6g} has no circular orbit inside the "
                             f"potential's range R <= {self.radius_range[1]:.6g} (largest |h| "
                             f"{self.angular_momentum_range():.6g})")
        low = np.zeros_like(target)
        r_max = self.radius_range[1]
        high = np.full_like(target, 1.0 if np.isinf(r_max) else r_max)
        if np.isinf(r_max):
            while True:   # grow the bracket until every h fits (v_c R increases with R)
                short = high * self.circular_velocity(high) < target
                if not short.any():
                    break
                high[short] *= 2.0
        for _ in range(_BISECTIONS):
            middle = 0.5 * (low + high)
            below = middle * self.circular_velocity(middle) < target
            low = np.where(below, middle, low)
            high = np.where(below, high, middle)
        return 0.5 * (low + high)

    def minimum_energy(self, h):
        """eps_min(h) = min_R h^2 / (2 R^2) - psi(R), the energy of the circular orbit
        (Eq. 5): v_c(R_c)^2 / 2 - psi(R_c)."""
        R = self.circular_radius(h)
        return 0.5 * self.circular_velocity(R) ** 2 - self.psi(R)

    def epicyclic_frequency(self, R):
        """kappa(R), from kappa^2 = R d(Omega^2)/dR + 4 Omega^2 = 3 v_c^2/R^2 - d2psi/dR2."""
        R = np.asarray(R, dtype=float)
        return np.sqrt(np.maximum(-3.0 * self.dpsi(R) / R - self.d2psi(R), 0.0))

    def d2psi(self, R):
        raise NotImplementedError


class KuzminPotential(Potential):
    """psi = G M / sqrt(R^2 + a^2), with surface density a M / (2 pi (R^2 + a^2)^(3/2))."""

    def __init__(self, mass: float = 1.0, scale: float = 1.0, gravity: float = 1.0):
        self.mass, self.scale, self.gravity = float(mass), float(scale), float(gravity)

    def psi(self, R):
        R = np.asarray(R, dtype=float)
        return self.gravity * self.mass / np.sqrt(R * R + self.scale ** 2)

    def dpsi(self, R):
        R = np.asarray(R, dtype=float)
        return -self.gravity * self.mass * R / (R * R + self.scale ** 2) ** 1.5

    def d2psi(self, R):
        R = np.asarray(R, dtype=float)
        s2 = R * R + self.scale ** 2
        return self.gravity * self.mass * (2 * R * R - self.scale ** 2) / s2 ** 2.5

    def surface_density(self, R):
        R = np.asarray(R, dtype=float)
        return self.scale * self.mass / (2 * np.pi * (R * R + self.scale ** 2) ** 1.5)


class TabulatedPotential(Potential):
    """psi(R) from a table (radii from 0, increasing; psi > 0), as a cubic spline whose
    derivative at R = 0 is zero (a smooth centre)."""

    def __init__(self, radii, psi):
        from scipy.interpolate import CubicSpline

        radii, psi = np.asarray(radii, dtype=float), np.asarray(psi, dtype=float)
        if radii.ndim != 1 or radii.shape != psi.shape or radii.size < 4:
            raise ValueError(f"radii and psi: need two 1-D arrays of the same length >= 4, got "
                             f"shapes {radii.shape} and {psi.shape}")
        if not (np.all(np.isfinite(radii)) and np.all(np.isfinite(psi))):
            raise ValueError("radii and psi: must be finite")
        if radii[0] != 0.0 or np.any(np.diff(radii) <= 0):
            raise ValueError("radii: must start at 0 and increase strictly")
        if np.any(psi <= 0):
            raise ValueError("psi: must be > 0 (psi is the positive potential, -> 0 at "
                             "infinity)")
        if np.any(np.diff(psi) >= 0):
            raise ValueError("psi: must decrease outward (gravity pulls inward); it rises "
                             f"after R = {radii[np.argmax(np.diff(psi) >= 0)]:.6g}")
        self._spline = CubicSpline(radii, psi, bc_type=((1, 0.0), "not-a-knot"))
        self.radius_range = (0.0, float(radii[-1]))

    def _inside(self, R) -> np.ndarray:
        R = np.asarray(R, dtype=float)
        if np.any(R < 0) or np.any(R > self.radius_range[1]):
            raise ValueError(f"radius outside the potential's table [0, "
                             f"{self.radius_range[1]:.6g}]")
        return R

    def psi(self, R):
        return self._spline(self._inside(R))

    def dpsi(self, R):
        return self._spline(self._inside(R), 1)

    def d2psi(self, R):
        return self._spline(self._inside(R), 2)
