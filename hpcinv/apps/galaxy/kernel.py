"""The discretised kernel k~_r(l) = int_Theta k(theta, lambda_r) phi_l(theta) dtheta with
k(v, z, t, lambda) = S(lambda / (1 + v/c); z, t) / (1 + v/c)  (paper, eqs. 3.1 and 4.25).

Theta = velocity x [M/H] x age, each axis scaled to [0, 1] for integrals and Sobolev inner
products (the physical units differ).  S(lambda; z, t) is the bilinear interpolant of the
library on its (z, t) nodes, so the (z, t) integrals are exact overlaps of bases; the
velocity integral uses Gauss-Legendre points in every velocity cell on templates
log-rebinned at half the data's velocity scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core import sandbox
from ...core.errors import InputError

from .templates import (SPEED_OF_LIGHT, TemplateLibrary, installed_miles, load_library,
                            log_grid, log_rebin, synthetic_library)
from .bases import Basis1D
from .mesh import GalaxyMesh


@dataclass
class Theta:
    """The Theta bases (unit coordinates) and the physical values of their nodes."""
    velocity: Basis1D
    metallicity: Basis1D
    age: Basis1D
    velocity_nodes: np.ndarray      # km/s
    metallicity_nodes: np.ndarray   # [M/H]
    age_nodes: np.ndarray           # Gyr

    @property
    def bases(self) -> list[Basis1D]:
        return [self.velocity, self.metallicity, self.age]

    @property
    def shape(self) -> tuple:
        return tuple(b.size for b in self.bases)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def physical_points(self) -> list[np.ndarray]:
        """Where the basis functions sit, in km/s, [M/H] and Gyr."""
        nodes = (self.velocity_nodes, self.metallicity_nodes, self.age_nodes)
        return [b.points * (n[-1] - n[0]) + n[0] for b, n in zip(self.bases, nodes)]

    def averaging(self, points_per_interval: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per axis, quadrature points (physical units) and the weights that average a
        function over each basis function (``Basis1D.averaging``)."""
        nodes = (self.velocity_nodes, self.metallicity_nodes, self.age_nodes)
        result = []
        for basis, physical in zip(self.bases, nodes):
            points, weights = basis.averaging(points_per_interval)
            result.append((points * (physical[-1] - physical[0]) + physical[0], weights))
        return result


def _unit(nodes: np.ndarray) -> np.ndarray:
    return (nodes - nodes[0]) / (nodes[-1] - nodes[0])


def _strided(count: int, stride: int) -> np.ndarray:
    """Every ``stride``-th index, always keeping the last so the range stays whole."""
    indices = list(range(0, count, stride))
    if indices[-1] != count - 1:
        indices.append(count - 1)
    return np.array(indices)


def library_for(mesh: GalaxyMesh, key: str = "problem.mesh") -> TemplateLibrary:
    if mesh.library == "synthetic":
        library = synthetic_library()
    elif mesh.library == "miles":
        library = load_library(installed_miles(key), key)
    else:
        refusal = sandbox.input_refusal(mesh.library)
        if refusal:
            raise InputError((key, f"[populations] library: {refusal}"))
        library = load_library(mesh.library, key)
    metal = _strided(library.metallicities.size, mesh.metallicity_stride)
    age = _strided(library.ages.size, mesh.age_stride)
    return TemplateLibrary(library.wavelength, library.spectra[np.ix_(metal, age)],
                           library.metallicities[metal], library.ages[age], library.fwhm,
                           library.source)


def theta_for(mesh: GalaxyMesh, library: TemplateLibrary, order: int) -> Theta:
    velocity = np.linspace(*mesh.velocity_range, mesh.velocity_nodes)
    return Theta(Basis1D(_unit(velocity), order), Basis1D(_unit(library.metallicities), order),
                 Basis1D(_unit(library.ages), order), velocity, library.metallicities,
                 library.ages)


def observed_wavelengths(mesh: GalaxyMesh) -> np.ndarray:
    return log_grid(*mesh.wavelength_range, mesh.velscale)


def template_margin(velscale: float) -> float:
    """The factor by which the template grid reaches beyond the Doppler-shifted observed
    range: four observed pixels, for the interpolation at the ends."""
    return float(np.exp(4 * velscale / SPEED_OF_LIGHT))


def build_kernel(mesh: GalaxyMesh, library: TemplateLibrary, theta: Theta):
    """Return (K~ with shape (R, L), observed wavelengths (R,), template flux scale).

    Columns are ordered (velocity, [M/H], age) with age fastest.  Spectra are divided by
    one scale (their median over the observed range), so K~ is of order one.
    """
    wavelengths = observed_wavelengths(mesh)
    v_low, v_high = mesh.velocity_range
    margin = template_margin(mesh.velscale)
    template_grid = log_grid(wavelengths[0] / (1 + v_high / SPEED_OF_LIGHT) / margin,
                             wavelengths[-1] / (1 + v_low / SPEED_OF_LIGHT) * margin,
                             mesh.velscale / 2)
    spectra = log_rebin(library.wavelength, library.spectra, template_grid)
    inside = (template_grid >= wavelengths[0]) & (template_grid <= wavelengths[-1])
    scale = float(np.median(spectra[..., inside]))
    spectra = spectra / scale

    # Gauss-Legendre points in every velocity cell; weights in unit coordinates.
    unit_velocity, weight = theta.velocity.quadrature(mesh.velocity_points)
    nodes = theta.velocity_nodes
    velocity = nodes[0] + unit_velocity * (nodes[-1] - nodes[0])
    basis_values = theta.velocity.evaluate(unit_velocity)
    doppler = 1 + velocity / SPEED_OF_LIGHT
    shifted = np.log(wavelengths)[:, None] - np.log(doppler)[None, :]       # (R, Q)
    log_template = np.log(template_grid)
    quadrature = (basis_values * weight / doppler).T                        # (Q, Lv)
    n_metal, n_age = spectra.shape[:2]
    per_template = np.empty((n_metal, n_age, wavelengths.size, theta.velocity.size))
    for i in range(n_metal):
        for j in range(n_age):
            values = np.interp(shifted, log_template, spectra[i, j])        # (R, Q)
            per_template[i, j] = values @ quadrature
    w_metal = theta.metallicity.overlap_with_hats(theta.metallicity.nodes)  # (Lz, n_metal)
    w_age = theta.age.overlap_with_hats(theta.age.nodes)                    # (Lt, n_age)
    kernel = np.einsum("ijra,bi,cj->rabc", per_template, w_metal, w_age, optimize=True)
    return kernel.reshape(wavelengths.size, -1), wavelengths, scale
