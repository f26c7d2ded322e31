"""A seeded mock galaxy with the paper's three components (Section 5):

* a thin, fast-rotating disk, 70% of the mass: young-weighted star formation, metal-rich
  young stars, and older stars in a thicker and hotter (age-dependent) configuration;
* a thicker, slower, counter-rotating disk, 29%: old stars (star formation peaked 10 Gyr
  ago), metal-poorer;
* a stream, 1%: a thin arc of old metal-poor stars with velocity changing along it.

Where the disks overlap the line-of-sight velocity distributions are bimodal.  The
distribution f(x, y, v, z, t) is evaluated at the basis points (nodes for s = 1, cell
midpoints for s = 0) of the problem's grids; each component is scaled to its mass fraction
of a total mass 1 under the discrete integral.  The seed moves the stream and perturbs the
disks' parameters, so different seeds give different galaxies.
"""
from __future__ import annotations

import numpy as np

COMPONENTS = ("thin_disk", "thick_disk", "stream")
MASS_FRACTIONS = {"thin_disk": 0.70, "thick_disk": 0.29, "stream": 0.01}


def _gauss(x, mean, sigma):
    return np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)


def component_density(name: str, x, y, v, z, t, rng_values: dict) -> np.ndarray:
    """Unnormalised density on broadcastable arrays (x, y in [-1, 1], v km/s, z [M/H], t Gyr)."""
    age = t / 13.0
    if name == "thin_disk":
        flattening = 0.12 + 0.18 * age                        # older stars: thicker
        radius = np.sqrt(x ** 2 + (y / flattening) ** 2)
        surface = np.exp(-radius / 0.30)
        speed = rng_values["thin_speed"] * np.tanh(radius / 0.12)
        mean_v = speed * x / np.maximum(radius, 1e-9)
        sigma_v = 25.0 + 70.0 * age                           # older stars: hotter
        history = np.exp(-t / 5.0)                            # star formation declined
        enrichment = _gauss(z, 0.15 - 0.09 * t, 0.12)          # younger: richer
        return surface * _gauss(v, mean_v, sigma_v) * history * enrichment
    if name == "thick_disk":
        flattening = 0.40 + 0.15 * age
        radius = np.sqrt(x ** 2 + (y / flattening) ** 2)
        surface = np.exp(-radius / 0.40)
        speed = -rng_values["thick_speed"] * np.tanh(radius / 0.2)    # counter-rotating
        mean_v = speed * x / np.maximum(radius, 1e-9)
        sigma_v = 80.0 + 50.0 * age
        history = _gauss(t, 10.0, 2.0)
        enrichment = _gauss(z, -0.35 - 0.06 * (t - 8.0), 0.15)
        return surface * _gauss(v, mean_v, sigma_v) * history * enrichment
    # stream: an arc of radius ~0.7; velocity follows the angle along it
    angle = np.arctan2(y, x)
    start, stop = rng_values["stream_start"], rng_values["stream_start"] + 2.2
    on_arc = np.clip((angle - start) * (stop - angle), 0, None) > 0
    distance = np.hypot(x, y)
    surface = on_arc * np.exp(-0.5 * ((distance - 0.7) / 0.05) ** 2)
    mean_v = 320.0 * np.cos(angle - start)
    return surface * _gauss(v, mean_v, 25.0) * _gauss(t, 11.5, 1.0) * _gauss(z, -1.3, 0.12)


def component_densities(sky_x, sky_y, v, z, t, seed: int = 0,
                        components: tuple = COMPONENTS) -> dict[str, np.ndarray]:
    """Unnormalised densities of each component at the sky points (sky_x[i], sky_y[i]) and
    the tensor grid of v, z, t: arrays of shape (len(sky_x), len(v), len(z), len(t)).
    Scale each by MASS_FRACTIONS[name] / (its integral) to get f."""
    rng = np.random.default_rng([20230401, seed])
    rng_values = {"thin_speed": 230.0 + 20.0 * rng.standard_normal(),
                  "thick_speed": 110.0 + 15.0 * rng.standard_normal(),
                  "stream_start": rng.uniform(-0.3, 0.9)}
    sky = (slice(None), None, None, None)
    grid = np.meshgrid(v, z, t, indexing="ij", sparse=True)
    return {name: component_density(name, np.asarray(sky_x)[sky], np.asarray(sky_y)[sky],
                                     grid[0][None], grid[1][None], grid[2][None], rng_values)
            for name in components}
