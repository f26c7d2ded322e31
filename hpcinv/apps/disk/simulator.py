"""The test data of Pichon & Thiebaut (1997, section 4.1.1): Gaussian azimuthal velocity
profiles F_phi(R, v_phi) of the self-gravitating iso-Q Kuzmin disk (Eqs. 39-43, with the sign
of the radial Jeans equation corrected), the noise of Eq. 45 and the default data grid."""
from __future__ import annotations

import numpy as np

from ...core.errors import check_count, check_number
from ...linalg.random import normal_slice
from .potential import KuzminPotential, Potential

# Eq. 42's constant, 1/0.298 = 3.356 ~ Toomre's 3.36: the paper's value, kept so that sigma_R
# is the paper's (3.36 would raise sigma_R by 0.13%).
_TOOMRE_FACTOR = 0.298


class IsoQDisk:
    """The Kuzmin disk of ``potential`` (its own surface density: self-gravitating) with a
    radial velocity dispersion that keeps Toomre's Q = ``toomre_q`` at every radius."""

    def __init__(self, potential: KuzminPotential, toomre_q: float = 1.25):
        if not isinstance(potential, KuzminPotential):
            raise TypeError(f"IsoQDisk needs a KuzminPotential (its moments are the Kuzmin "
                            f"disk's closed forms), got {type(potential).__name__}")
        self.potential = potential
        self.toomre_q = check_number("toomre_q", toomre_q, positive=True)

    def moments(self, R) -> dict:
        """At radii ``R`` >= 0 (any shape): surface_density, circular_velocity,
        epicyclic_frequency, sigma_r, sigma_phi, mean_v_phi and escape_speed.

        sigma_R = Q G Sigma / (0.298 kappa) (Eq. 42), sigma_phi^2 = sigma_R^2 kappa^2 /
        (4 Omega^2) (Eq. 43) and, from the sign-corrected radial Jeans equation (Eq. 41),
        <v_phi>^2 = v_c^2 + (1/Sigma) d(R Sigma sigma_R^2)/dR - sigma_phi^2 (Eq. 40).  The
        derivative is analytic.  Raises ValueError where <v_phi>^2 < 0 (a disk too hot to
        rotate near its centre: Q >~ 1.93 at G = M = a = 1)."""
        R = np.asarray(R, dtype=float)
        if not np.all(np.isfinite(R) & (R >= 0)):
            raise ValueError("R: radii must be finite and >= 0")
        gravity, mass, a2 = self.potential.gravity, self.potential.mass, self.potential.scale ** 2
        s2, w2 = R * R + a2, R * R + 4 * a2
        omega2 = gravity * mass / s2 ** 1.5
        kappa2 = omega2 * w2 / s2      # closed form: Potential's is 0/0 at R = 0
        sigma = self.potential.surface_density(R)
        sigma_r2 = (self.toomre_q * gravity * sigma / _TOOMRE_FACTOR) ** 2 / kappa2
        # d ln(R Sigma sigma_R^2)/d ln R = 1 + 3 dln Sigma - 2 dln kappa = 1 - 4R^2/s2 - 2R^2/w2
        # and sigma_phi^2 / sigma_R^2 = w2 / (4 s2): their R^0 terms cancel by hand, so that
        # <v_phi>^2 = R^2 (...) keeps its sign (and is exactly 0) down to R = 0.
        mean_v2 = R * R * (omega2 - sigma_r2 * (13 / (4 * s2) + 2 / w2))
        if np.any(mean_v2 < 0):
            hot = R[mean_v2 < 0]
            raise ValueError(f"toomre_q = {self.toomre_q:g} is too hot a disk: <v_phi>^2 < 0 "
                             f"for R in [{hot.min():.6g}, {hot.max():.6g}] ({hot.size} of "
                             f"{R.size} radii); lower toomre_q")
        return {"surface_density": sigma,
                "circular_velocity": np.sqrt(omega2) * R,
                "epicyclic_frequency": np.sqrt(kappa2),
                "sigma_r": np.sqrt(sigma_r2),
                "sigma_phi": np.sqrt(sigma_r2 * w2 / (4 * s2)),
                "mean_v_phi": np.sqrt(mean_v2),
                "escape_speed": np.sqrt(2 * self.potential.psi(R))}

    def profiles(self, R, v) -> np.ndarray:
        """F_phi(R_i, v_j) of Eq. 39 on the grid of 1-D arrays ``R`` (n_R) and ``v`` (n_v),
        shape (n_R, n_v): mass-weighted, a Gaussian in v_phi with integral Sigma(R_i) over
        all v_phi (its tail beyond the escape speed included)."""
        R, v = np.asarray(R, dtype=float), np.asarray(v, dtype=float)
        if R.ndim != 1 or v.ndim != 1:
            raise ValueError(f"R and v: need 1-D arrays, got shapes {R.shape} and {v.shape}")
        moments = self.moments(R)
        sigma_phi = moments["sigma_phi"][:, None]
        offset = (v[None, :] - moments["mean_v_phi"][:, None]) / sigma_phi
        return (moments["surface_density"][:, None] / (np.sqrt(2 * np.pi) * sigma_phi)
                * np.exp(-0.5 * offset ** 2))


def noise_sigma(F, snr: float, sigma_background: float = 1e-4) -> np.ndarray:
    """Eq. 45's standard deviations F_ij / snr + max(F) sigma_background: a constant
    signal-to-noise part plus a uniform floor."""
    snr = check_number("snr", snr, positive=True)
    sigma_background = check_number("sigma_background", sigma_background)
    F = np.asarray(F, dtype=float)
    if not np.all(np.isfinite(F) & (F >= 0)):
        raise ValueError("F: noise-free profiles must be finite and >= 0")
    return F / snr + F.max() * sigma_background


def noisy_profiles(F, sigma, seed: int) -> np.ndarray:
    """F + sigma N(0, 1), the draws of ``normal_slice(seed, ...)`` in F's C order, so that a
    seed gives the same data whatever the number of ranks."""
    F = np.asarray(F, dtype=float)
    return F + np.asarray(sigma, dtype=float) * normal_slice(seed, 0, F.size).reshape(F.shape)


def data_grid(n_radii: int = 50, n_velocities: int = 50, r_max: float = 7.0,
              v_min: float | None = None, v_max: float | None = None,
              potential: Potential | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(radii, velocities) of the default data, which the paper does not give (50 x 50 with
    R_max = 7 in its Fig. 8).

    Radii are r_max (i + 1) / n_radii: the outermost at r_max, the outer data radius of the
    paper's truncation study, and none at R = 0, where every v_phi has h = R v_phi = 0 and a
    profile says nothing about the h-dependence.  Velocities are the centres of n_velocities
    equal cells of [v_min, v_max], by default [-v_esc, v_esc] at the innermost radius (of
    ``potential``, the Kuzmin G = M = a = 1 one by default; v_esc = 1.40 for the default radii):
    bound stars reach no further at any data radius (v_esc falls outward), so only the
    Gaussians' unbound tails, which no distribution function can fit, are left out.  The
    counter-rotating tail is inside: at Q = 1.25, <v_phi> - 4 sigma_phi is -0.80 at R = 0.5
    and -0.32 at R = 1.  Cell centres keep samples off +-v_esc, where every model profile
    vanishes."""
    n_radii, n_velocities = check_count("n_radii", n_radii, 1), check_count("n_velocities",
                                                                            n_velocities, 1)
    r_max = check_number("r_max", r_max, positive=True)
    radii = r_max * np.arange(1, n_radii + 1) / n_radii
    v_esc = np.sqrt(2 * (potential or KuzminPotential()).psi(radii[0]))
    v_min = -v_esc if v_min is None else float(v_min)
    v_max = v_esc if v_max is None else float(v_max)
    if not (np.isfinite(v_min) and np.isfinite(v_max) and v_min < v_max):
        raise ValueError(f"v_min, v_max: need finite v_min < v_max, got {v_min:g}, {v_max:g}")
    edges = np.linspace(v_min, v_max, n_velocities + 1)
    return radii, 0.5 * (edges[:-1] + edges[1:])
