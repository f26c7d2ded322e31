"""Derived products of a 5-D distribution f(x, y, v, [M/H], age) (paper, Section 5.1):
maps of mean age and metallicity (mass-weighted), of the light-weighted LOSVD's mean mu_v,
dispersion sigma_v and Gauss-Hermite moments h3-h5, and the LOSVD of every sky basis point
(``losvd_cube``, (nx, ny, Lv)), nine of them picked out for figures (``losvd``).

Coefficients are read as values of f at the basis points (nodes for s = 1, cell centres for
s = 0) and integrated with the bases' integrals, so the same formulas serve the truth, a
PNKR result and any other coefficient array on the mesh.

Gauss-Hermite moments use the LOSVD's own mean and dispersion as the reference Gaussian
(v0 = mu_v, s = sigma_v) and h_m = <L, alpha H_m> / <L, alpha H_0> (van der Marel & Franx
1993, with alpha(w) = exp(-w^2/2) / sqrt(2 pi), H_m the normalised Hermite polynomials).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy.special import eval_hermite

MAP_NAMES = ("mass", "mean_age", "mean_metallicity", "mu_v", "sigma_v", "h3", "h4", "h5")
LOSVD_FRACTIONS = ((0.2, 0.4), (0.5, 0.4), (0.8, 0.4), (0.2, 0.5), (0.5, 0.5), (0.8, 0.5),
                   (0.2, 0.6), (0.5, 0.6), (0.8, 0.6))   # of the sky extent, x then y


@dataclass
class DerivedGrid:
    """What maps need to know about the mesh; everything is in physical units."""
    sky_x: np.ndarray            # (nx,) basis points
    sky_y: np.ndarray            # (ny,)
    velocity: np.ndarray         # (Lv,) km/s
    metallicity: np.ndarray      # (Lz,) [M/H]
    age: np.ndarray              # (Lt,) Gyr
    theta_weights: tuple         # integrals of the v, z, t basis functions, (Lv,), (Lz,), (Lt,)
    light: np.ndarray            # (Lz, Lt) mean template flux: light per unit mass
    left_out: np.ndarray | None = None   # (nx * ny,) sky points without data: NaN maps

    @property
    def theta_shape(self) -> tuple:
        return (self.velocity.size, self.metallicity.size, self.age.size)

    def losvd_indices(self) -> np.ndarray:
        """Flat sky indices (C order over x, y) of the nine LOSVD positions."""
        ix = [int(round(fx * (self.sky_x.size - 1))) for fx, _ in LOSVD_FRACTIONS]
        iy = [int(round(fy * (self.sky_y.size - 1))) for _, fy in LOSVD_FRACTIONS]
        return np.array(ix) * self.sky_y.size + np.array(iy)


def hermite(order: int, w: np.ndarray) -> np.ndarray:
    """The normalised Hermite polynomial H_m of van der Marel & Franx (1993)."""
    return eval_hermite(order, w) / np.sqrt(2.0 ** order * factorial(order))


def _safe_divide(numerator, denominator):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.nan)


def light_weighted_losvd(rows: np.ndarray, grid: DerivedGrid) -> np.ndarray:
    """p_LW(v | x) for each row (sky point), normalised to unit integral over v (km/s)."""
    w_v, w_z, w_t = grid.theta_weights
    f = rows.reshape(rows.shape[0], *grid.theta_shape)
    losvd = np.einsum("nvzt,zt,z,t->nv", f, grid.light, w_z, w_t, optimize=True)
    dv = w_v * (grid.velocity[-1] - grid.velocity[0]) / w_v.sum()     # km/s per basis
    return _safe_divide(losvd, (losvd @ dv)[:, None])


def maps(rows: np.ndarray, grid: DerivedGrid) -> dict[str, np.ndarray]:
    """Every map of MAP_NAMES for the given rows of coefficients (one value per row), and
    "losvd": each row's light-weighted LOSVD (rows x Lv).  Negative coefficients count as
    zero density in all of them."""
    w_v, w_z, w_t = grid.theta_weights
    f = np.clip(rows.reshape(rows.shape[0], *grid.theta_shape), 0, None)
    mass = np.einsum("nvzt,v,z,t->n", f, w_v, w_z, w_t, optimize=True)
    by_age = np.einsum("nvzt,v,z,t->nt", f, w_v, w_z, w_t, optimize=True)
    by_metal = np.einsum("nvzt,v,z,t->nz", f, w_v, w_z, w_t, optimize=True)
    density = light_weighted_losvd(f.reshape(rows.shape), grid)
    losvd = density * w_v                                                # probability per node
    total = losvd.sum(axis=1)
    mu = _safe_divide(losvd @ grid.velocity, total)
    sigma = np.sqrt(_safe_divide(np.einsum("nv,nv->n", losvd,
                                           (grid.velocity[None] - mu[:, None]) ** 2), total))
    w = _safe_divide(grid.velocity[None] - mu[:, None], sigma[:, None])
    gauss = np.exp(-0.5 * w ** 2) / np.sqrt(2 * np.pi)
    h0 = np.einsum("nv,nv->n", losvd, gauss)
    result = {"mass": mass,
              "mean_age": _safe_divide(by_age @ grid.age, by_age.sum(axis=1)),
              "mean_metallicity": _safe_divide(by_metal @ grid.metallicity, by_metal.sum(axis=1)),
              "mu_v": mu, "sigma_v": sigma, "losvd": density}
    for order in (3, 4, 5):
        result[f"h{order}"] = _safe_divide(np.einsum("nv,nv->n", losvd, gauss * hermite(order, w)),
                                           h0)
    return result


def gathered_products(rows: np.ndarray, grid: DerivedGrid, layout, prefix: str = "") -> dict:
    """Maps (nx, ny), every sky point's LOSVD (nx, ny, Lv) and the nine figure LOSVDs
    (9, Lv) of rows distributed by ``layout`` (a Layout of the sky basis), replicated on
    every rank."""
    local = maps(rows, grid)
    losvds = layout.gather(local.pop("losvd"))
    shape = (grid.sky_x.size, grid.sky_y.size)
    products = {prefix + name: layout.gather(values).reshape(shape)
                for name, values in local.items()}
    if grid.left_out is not None:   # no data there: what f holds is no measurement
        for name in local:
            products[prefix + name][grid.left_out.reshape(shape)] = np.nan
        losvds[grid.left_out] = np.nan
    products[prefix + "losvd_cube"] = losvds.reshape(*shape, -1)
    products[prefix + "losvd"] = losvds[grid.losvd_indices()]
    return products


def grid_products(grid: DerivedGrid) -> dict:
    """The coordinates stored beside the maps."""
    indices = grid.losvd_indices()
    return {"sky_x": grid.sky_x, "sky_y": grid.sky_y, "velocity": grid.velocity,
            "losvd_positions": np.column_stack([grid.sky_x[indices // grid.sky_y.size],
                                                grid.sky_y[indices % grid.sky_y.size]])}
