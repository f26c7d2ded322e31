"""Seeded mock galaxies: the paper's three components ("three-component", Section 5) and a
second, independent one ("bulge-counter-disk", MOCK_MODELS).  The paper's:

* a thin, fast-rotating disk, 70% of the mass: young-weighted star formation, metal-rich
  young stars, and older stars in a thicker and hotter (age-dependent) configuration;
* a thicker, slower, counter-rotating disk, 29%: old stars (star formation peaked 10 Gyr
  ago), metal-poorer;
* a stream, 1%: a thin arc of old metal-poor stars with velocity changing along it.

Where the disks overlap the line-of-sight velocity distributions are bimodal.  Every
component has the form

    f(x, y, v, z, t) = surface(x, y, t) G(v; mean_v(x, y, t), sigma_v(t)) population(z, t)

with G a normal density.  The truth's coefficients on the problem's bases are the averages of
f over each Theta basis function (``basis_coefficients``), not point values: the young thin
disk's 25 km/s dispersion and the 0.12 dex enrichment spreads are narrower than the coarser
Theta grids, and point values there alias (a coefficient then depends on where the peak
falls between two nodes).  The sky is sampled at its basis points.  Each component is scaled
to its mass fraction of a total mass 1 by the caller.  The seed moves the stream and
perturbs the disks' parameters, so different seeds give different galaxies.

The second mock shares no component with the first: a hot, slowly rotating old bulge, a
main disk of intermediate ages, and a compact young, metal-rich disk counter-rotating inside
it (10% of the mass, 10-30% of the light: young stars are brighter per unit mass; the test
``test_the_second_mocks_counter_rotating_disk_has_its_share_of_light`` measures it), so the
inner LOSVDs are bimodal with the counter-rotating peak the smaller one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_SKY_CHUNK = 64   # sky points per block: keeps the (sky, t, v) work arrays near 20 MB


def _gauss(x, mean, sigma):
    return np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)


def _rotating_disk(x, y, flattening, scale, speed, core):
    radius = np.sqrt(x ** 2 + (y / flattening) ** 2)
    mean_v = speed * np.tanh(radius / core) * x / np.maximum(radius, 1e-9)
    return np.exp(-radius / scale), mean_v


def _three_component_kinematics(name: str, x, y, t, rng_values: dict):
    """(surface, mean_v, sigma_v) of a component on broadcastable x, y (sky) and t (Gyr)."""
    age = t / 13.0
    if name == "thin_disk":                      # older stars: thicker and hotter
        surface, mean_v = _rotating_disk(x, y, 0.12 + 0.18 * age, 0.30,
                                         rng_values["thin_speed"], 0.12)
        return surface, mean_v, 25.0 + 70.0 * age
    if name == "thick_disk":                     # counter-rotating
        surface, mean_v = _rotating_disk(x, y, 0.40 + 0.15 * age, 0.40,
                                         -rng_values["thick_speed"], 0.2)
        return surface, mean_v, 80.0 + 50.0 * age
    # stream: an arc of radius ~0.7; velocity follows the angle along it
    angle = np.arctan2(y, x)
    start, stop = rng_values["stream_start"], rng_values["stream_start"] + 2.2
    on_arc = np.clip((angle - start) * (stop - angle), 0, None) > 0
    surface = on_arc * np.exp(-0.5 * ((np.hypot(x, y) - 0.7) / 0.05) ** 2)
    return surface + 0 * t, 320.0 * np.cos(angle - start) + 0 * t, 25.0 + 0 * age


def _three_component_population(name: str, z, t):
    """Star-formation history times chemical enrichment, on broadcastable z ([M/H]) and t."""
    if name == "thin_disk":                      # formation declined; younger: richer
        return np.exp(-t / 5.0) * _gauss(z, 0.15 - 0.09 * t, 0.12)
    if name == "thick_disk":                     # formation peaked 10 Gyr ago
        return _gauss(t, 10.0, 2.0) * _gauss(z, -0.35 - 0.06 * (t - 8.0), 0.15)
    return _gauss(t, 11.5, 1.0) * _gauss(z, -1.3, 0.12)


def noise_deviation(noise_free, noise_level: float):
    """The mock's noise model: independent normal noise with standard deviation
    noise_level x |noise-free value| in every pixel."""
    return noise_level * np.abs(noise_free)


def _three_component_draw(seed: int) -> dict:
    rng = np.random.default_rng([20230401, seed])
    return {"thin_speed": 230.0 + 20.0 * rng.standard_normal(),
            "thick_speed": 110.0 + 15.0 * rng.standard_normal(),
            "stream_start": rng.uniform(-0.3, 0.9)}


def _bulge_counter_disk_kinematics(name: str, x, y, t, rng_values: dict):
    """(surface, mean_v, sigma_v): a Sersic n = 2 bulge (slow rotation, dispersion falling
    outwards), a main disk, and a compact counter-rotating disk tilted by a seeded angle."""
    if name == "bulge":
        radius = np.sqrt(x ** 2 + (y / 0.8) ** 2)
        mean_v = rng_values["bulge_speed"] * np.tanh(radius / 0.3) * x / np.maximum(radius, 1e-9)
        sigma_v = 140.0 - 40.0 * np.minimum(radius, 1.0) + 0 * t
        return np.exp(-4.0 * (radius / 0.35) ** 0.5), mean_v, sigma_v
    if name == "main_disk":                      # older stars: hotter
        surface, mean_v = _rotating_disk(x, y, 0.22, 0.45, rng_values["disk_speed"], 0.15)
        return surface, mean_v, 35.0 + 45.0 * t / 13.0
    angle = rng_values["counter_tilt"]           # counter-rotating young disk
    rotated_x = np.cos(angle) * x + np.sin(angle) * y
    rotated_y = -np.sin(angle) * x + np.cos(angle) * y
    surface, mean_v = _rotating_disk(rotated_x, rotated_y, 0.2, 0.25,
                                     -rng_values["counter_speed"], 0.08)
    return surface, mean_v, 30.0 + 0 * t


def _bulge_counter_disk_population(name: str, z, t):
    if name == "bulge":                          # old, metal-rich, formed fast
        return _gauss(t, 11.0, 1.5) * _gauss(z, 0.10, 0.12)
    if name == "main_disk":                      # steady formation, mild enrichment
        return np.exp(-t / 8.0) * _gauss(z, -0.05 - 0.03 * t, 0.15)
    return _gauss(t, 1.5, 0.6) * _gauss(z, 0.15, 0.10)   # young, from enriched gas


def _bulge_counter_disk_draw(seed: int) -> dict:
    rng = np.random.default_rng([20261204, seed])
    return {"bulge_speed": 60.0 + 10.0 * rng.standard_normal(),
            "disk_speed": 190.0 + 15.0 * rng.standard_normal(),
            "counter_speed": 150.0 + 15.0 * rng.standard_normal(),
            "counter_tilt": rng.uniform(-0.3, 0.3)}


@dataclass(frozen=True)
class MockModel:
    """A mock galaxy: its components' mass fractions and, by component name, their sky
    kinematics and stellar populations, with the seeded parameters ``draw`` makes."""
    mass_fractions: dict
    kinematics: Callable
    population: Callable
    draw: Callable

    @property
    def components(self) -> tuple:
        return tuple(self.mass_fractions)


MOCK_MODELS = {
    "three-component": MockModel({"thin_disk": 0.70, "thick_disk": 0.29, "stream": 0.01},
                                 _three_component_kinematics, _three_component_population,
                                 _three_component_draw),
    "bulge-counter-disk": MockModel({"bulge": 0.25, "main_disk": 0.65, "counter_disk": 0.10},
                                    _bulge_counter_disk_kinematics,
                                    _bulge_counter_disk_population, _bulge_counter_disk_draw),
}
DEFAULT_MOCK = "three-component"


def component_densities(sky_x, sky_y, v, z, t, seed: int = 0,
                        model: str = DEFAULT_MOCK) -> dict[str, np.ndarray]:
    """Unnormalised point densities of each component at the sky points (sky_x[i], sky_y[i])
    and the tensor grid of v, z, t: arrays of shape (len(sky_x), len(v), len(z), len(t))."""
    mock = MOCK_MODELS[model]
    rng_values = mock.draw(seed)
    x, y = np.asarray(sky_x)[:, None, None, None], np.asarray(sky_y)[:, None, None, None]
    v, z, t = np.meshgrid(v, z, t, indexing="ij", sparse=True)
    result = {}
    for name in mock.components:
        surface, mean_v, sigma_v = mock.kinematics(name, x, y, t[None], rng_values)
        result[name] = surface * _gauss(v[None], mean_v, sigma_v) * \
            mock.population(name, z, t)[None]
    return result


def basis_coefficients(sky_x, sky_y, averaging, seed: int = 0,
                       model: str = DEFAULT_MOCK) -> dict[str, np.ndarray]:
    """Unnormalised coefficients of each component, shape (len(sky_x), Lv, Lz, Lt): at each
    sky point, the average of f over every Theta basis function.

    ``averaging`` is ((points, weights) for velocity, [M/H], age): quadrature points in
    physical units and weights (L, points) whose rows sum to one.  The factored form makes
    this cheap: the velocity average is taken at the age points only, then the [M/H] and
    age averages are one contraction."""
    (v, w_v), (z, w_z), (t, w_t) = averaging
    mock = MOCK_MODELS[model]
    rng_values = mock.draw(seed)
    sky_x, sky_y = np.asarray(sky_x), np.asarray(sky_y)
    result = {}
    for name in mock.components:
        population = mock.population(name, z[None, :], t[:, None]) @ w_z.T     # (Ft, Lz)
        age_population = np.einsum("fb,cf->fbc", population, w_t)              # (Ft, Lz, Lt)
        blocks = []
        for first in range(0, sky_x.size, _SKY_CHUNK):
            chunk = slice(first, first + _SKY_CHUNK)
            # (n, Ft) each, whichever of them depend on the age
            surface, mean_v, sigma_v = np.broadcast_arrays(
                *mock.kinematics(name, sky_x[chunk, None], sky_y[chunk, None], t[None, :],
                                 rng_values), np.zeros((sky_x[chunk].size, t.size)))[:3]
            velocity = _gauss(v, mean_v[..., None], sigma_v[..., None]) @ w_v.T  # (n, Ft, Lv)
            blocks.append(np.einsum("nf,nfa,fbc->nabc", surface, velocity, age_population,
                                    optimize=True))
        result[name] = np.concatenate(blocks) if blocks else \
            np.zeros((0, w_v.shape[0], w_z.shape[0], w_t.shape[0]))
    return result
