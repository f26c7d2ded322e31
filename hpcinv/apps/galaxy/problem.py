"""The galaxy problem kind: a 5-D population-kinematic distribution f(x, y, v, [M/H], age)
from an IFU datacube (paper: Hinterer et al., PNKR), with a seeded mock galaxy as data.

Coefficients U (N x L) live on tensor bases: sky (x, y) x Theta (v, [M/H], age), both of
order s (0: piecewise constants on cells, 1: hat functions at nodes).  The datacube holds
the values of y(x, lambda_r) at the sky basis points; the data metric is the sky L2 Gram
matrix N, the unknown's metric M = Psi (x) Phi with the H^s Gram matrices (weight beta).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .templates import TemplateLibrary, at_resolution
from ...core.jobspec import Field
from ...linalg.layout import Layout
from ...linalg.random import normal_slice
from ...solvers.kaczmarz.block_rows import TensorBlockRows
from ...core.errors import InputError
from ...core.mpi import agree
from ...core.paths import resolve_galaxy_mesh
from ...core.problem import Problem
from ..synthetic.problems import check_arguments
from .bases import Basis1D, sobolev_gram
from .datacube import ObservedCube, in_rest_frame, onto_problem_grid, read_cube_fits, spaxel_mask
from .derived import DerivedGrid, gathered_products, grid_products
from .kernel import Theta, build_kernel, library_for, observed_wavelengths, theta_for
from .mesh import GalaxyMesh, load_galaxy_mesh
from .mock import DEFAULT_MOCK, MOCK_MODELS, basis_coefficients, noise_deviation
from .operator import CubeOperator


# Quadrature points per Theta interval for the mock's basis averages: the narrowest features
# (25 km/s, 0.12 dex) span a few points of the coarsest grids at 8.
MOCK_POINTS_PER_INTERVAL = 8


@dataclass
class GalaxyCube(Problem):
    """A galaxy problem: the Problem (with its tensor block rows as a capability, for PNKR)
    plus what derived maps need."""
    theta: Theta = None
    wavelengths: np.ndarray = None      # the fitted observed wavelengths (K's rows)
    derived_grid: DerivedGrid = None
    fitted: np.ndarray = None           # over the mesh's observed wavelengths: fitted or not

    @property
    def block_rows(self) -> TensorBlockRows:
        return self.require(TensorBlockRows)

    def derived(self, solution) -> dict:
        # The fitted wavelengths name the columns of the result's /data.
        products = {**grid_products(self.derived_grid), "wavelengths": self.wavelengths}
        for prefix, vec in (("", solution), ("truth_", self.truth)):
            if vec is not None:
                rows = self.operator.rows(vec, self.theta.size)
                products.update(gathered_products(rows, self.derived_grid,
                                                  self.operator.spatial_layout, prefix))
        return products


def light_per_mass(library: TemplateLibrary, wavelength_range, theta: Theta) -> np.ndarray:
    """Mean template flux over the observed range at the (z, t) basis points (Lz, Lt): the
    light-to-mass ratio that turns f into the light-weighted distribution."""
    inside = (library.wavelength >= wavelength_range[0]) & \
             (library.wavelength <= wavelength_range[1])
    nodes = library.spectra[..., inside].mean(axis=-1)
    w_metal = theta.metallicity.overlap_with_hats(theta.metallicity.nodes)
    w_age = theta.age.overlap_with_hats(theta.age.nodes)
    light = w_metal @ nodes @ w_age.T
    return light / np.outer(w_metal.sum(axis=1), w_age.sum(axis=1))


def _block_norms(rows: np.ndarray, gram, layout: Layout) -> np.ndarray:
    """||column r||_N of an N x R array distributed by rows (``layout``), for every r
    (replicated)."""
    whole = layout.gather(rows)
    return np.sqrt(np.einsum("nr,nr->r", whole, gram @ whole))


def _axis_weights(basis: Basis1D) -> np.ndarray:
    return np.asarray(basis.mass().sum(axis=1)).ravel()


def _sky_bases(mesh: GalaxyMesh, order: int) -> list[Basis1D]:
    return [Basis1D(np.linspace(*mesh.omega_range, n), order) for n in mesh.omega_nodes]


_NEEDS_CUBE = {"variance": "the mock galaxy's noise is its own",
               "redshift": "the mock galaxy is made in the rest frame",
               "mask_extension": "it names an extension of the cube's file",
               "spaxel_mask": "it names an extension of the cube's file",
               "min_snr": "the mock galaxy has no spaxels to leave out"}


def _observed_cube(values: dict, mesh: GalaxyMesh) -> ObservedCube | None:
    """The job's datacube on the problem's grids, or None for the mock galaxy."""
    if not values["cube"]:
        for name, reason in _NEEDS_CUBE.items():
            if values[name]:
                raise InputError((f"problem.{name}", f"needs problem.cube ({reason})"))
        return None
    cube = in_rest_frame(read_cube_fits(values["cube"], values["variance"],
                                        mask_extension=values["mask_extension"]),
                         values["redshift"])
    sky_points = tuple(b.size for b in _sky_bases(mesh, values["order"]))
    bad_spaxels = None
    if values["spaxel_mask"]:
        bad_spaxels = spaxel_mask(values["cube"], values["spaxel_mask"], cube.flux.shape[1:])
    wavelengths = observed_wavelengths(mesh)
    return onto_problem_grid(cube, wavelengths, sky_points, values["order"], bad_spaxels,
                             wanted=fitted_pixels(wavelengths, values["good_wavelengths"]))


def _signal_to_noise(cube: ObservedCube) -> np.ndarray:
    """Each spaxel's median flux / sigma over the fitted pixels (pPXF users' S/N)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.median(cube.flux / np.sqrt(cube.variance), axis=1)


def _cut_by_signal_to_noise(cube: ObservedCube, min_snr: float) -> ObservedCube:
    if not min_snr:
        return cube
    bad = cube.bad_spaxels | (_signal_to_noise(cube) < min_snr)
    if bad.all():
        best = np.max(np.where(cube.bad_spaxels, -np.inf, _signal_to_noise(cube)))
        raise InputError(("problem.min_snr", f"{min_snr} leaves no spaxel of {cube.source} to "
                                             f"fit (the best has S/N {best:.3g})"))
    return replace(cube, flux=np.where(bad[:, None], 0.0, cube.flux),
                   variance=np.where(bad[:, None], 1.0, cube.variance), bad_spaxels=bad)


def _check_wavelength_ranges(ranges: list) -> str | None:
    for index, pair in enumerate(ranges):
        if len(pair) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                     for x in pair) or not 0 < pair[0] < pair[1]:
            return (f"entry {index} is {pair!r}: each good range is [low, high] in Angstrom "
                    f"with 0 < low < high")
    return None


def fitted_pixels(wavelengths: np.ndarray, good_ranges: list) -> np.ndarray:
    """Which observed pixels have their centre inside a good range (all when there are
    none)."""
    if not good_ranges:
        return np.ones(wavelengths.size, dtype=bool)
    fitted = np.zeros(wavelengths.size, dtype=bool)
    for low, high in good_ranges:
        fitted |= (wavelengths >= low) & (wavelengths <= high)
    return fitted


def _fitted_or_refused(values: dict, mesh: GalaxyMesh, cube: ObservedCube | None
                       ) -> np.ndarray:
    wavelengths = observed_wavelengths(mesh)
    fitted = fitted_pixels(wavelengths, values["good_wavelengths"])
    wanted = int(fitted.sum())
    if cube is not None:
        fitted = ~cube.bad
    # Two equations are the least a mask can leave (a Theta basis of L functions needs
    # more to be determined well, which the regularisation then makes up for); fewer is a
    # mask that left (almost) nothing, a mistake worth stopping for.
    if fitted.sum() < 2:
        key = "problem.good_wavelengths" if wanted < 2 else "problem.mask_extension"
        raise InputError((key, f"leaves {int(fitted.sum())} of the mesh's {wavelengths.size} "
                               f"observed pixels ({wavelengths[0]:.1f}-{wavelengths[-1]:.1f} "
                               f"A, rest frame; {wanted} in good_wavelengths) to fit"))
    return fitted


def _data_metric(gram, left_out: np.ndarray | None):
    """N, or D N D with D the diagonal of the fitted spaxels: ||D e||_N, the residual's norm
    over the spaxels whose data count.  It stays positive semi-definite, so PNKR's tests and
    TAO's misfit take it as they take N; a left-out spaxel's coefficients are then set by
    the H^s metric's coupling to its neighbours alone (TAO, PNKR's constant and reduced
    steps) or left as they start (PNKR's projection step, which is then the exact
    projection of the problem without those rows)."""
    if left_out is None:
        return gram
    import scipy.sparse as sp

    keep = sp.diags((~left_out).astype(float))
    return (keep @ gram @ keep).tocsr()


def _observed_data(cube: ObservedCube, operator: CubeOperator, blocks: TensorBlockRows):
    """The data Vec from a datacube, delta_r from its variance."""
    data = operator.create_vecs()[1]
    operator.rows(data, cube.flux.shape[1])[:] = operator.spatial_layout.local_part(cube.flux)
    blocks.equation_noise = cube.equation_noise(blocks.data_gram)
    return data


@dataclass
class _Prepared:
    mesh: GalaxyMesh
    library: object
    values: dict
    cube: ObservedCube | None = None
    fitted: np.ndarray | None = None     # the observed pixels fitted (K's rows kept)


PARAMETERS = {
    "mesh": Field(str, help="galaxy mesh (meshes/galaxy/*.toml)", file=True),
    "order": Field(int, 1, "s: 0 piecewise constants, 1 tensor hat functions",
                   choices=(0, 1)),
    "beta": Field(float, 1.0, "weight of the first derivatives in the H^s inner product",
                  minimum=0),
    "noise_level": Field(float, 0.01, "Gaussian noise with standard deviation "
                         "noise_level x |noise-free value| in every pixel (0: none)",
                         minimum=0, maximum=1),
    "seed": Field(int, 0, "seed of the mock galaxy and of its noise", minimum=0),
    "mock": Field(str, DEFAULT_MOCK, "the mock galaxy: three-component (the paper's thin "
                  "disk, counter-rotating thick disk and stream) or bulge-counter-disk (bulge, "
                  "disk and a young counter-rotating inner disk)", choices=tuple(MOCK_MODELS)),
    "cube": Field(str, "", "IFU datacube (FITS: primary 3-D image or DATA extension, "
                  "wavelength WCS on axis 3) instead of the mock galaxy; its spaxels are "
                  "the sky basis points", file=True),
    "variance": Field(str, "", "variance cube (FITS) of problem.cube (empty: the cube "
                      "file's STAT, VARIANCE or VAR extension)", file=True),
    "redshift": Field(float, 0.0, "redshift z of problem.cube: its wavelengths are divided "
                      "by 1 + z into the rest frame of the templates and the mesh",
                      minimum=-0.5),
    "instrumental_fwhm": Field(float, 0.0, "FWHM of the data's line-spread function in "
                               "Angstrom, observed frame (0: the templates' own, 2.51 A for "
                               "MILES); the templates are convolved to it", minimum=0),
    "good_wavelengths": Field(list, [], "rest-frame [low, high] Angstrom ranges of the "
                              "observed pixels to fit (empty: all of the mesh's)", items=list,
                              check=_check_wavelength_ranges),
    "mask_extension": Field(str, "", "extension of problem.cube's file flagging bad pixels "
                            "(non-zero), one per wavelength or shaped as the cube; a "
                            "wavelength bad in any spaxel is not fitted"),
    "spaxel_mask": Field(str, "", "2-D image extension of problem.cube's file flagging "
                         "spaxels (non-zero) whose data are left out; spaxels without finite "
                         "flux are left out without one"),
    "min_snr": Field(float, 0.0, "leave out the spaxels whose median flux / sigma over the "
                     "fitted pixels is below this (0: none)", minimum=0),
}


def prepare(values: dict) -> _Prepared:
    """The mesh, the template library and any datacube, read and checked on this rank."""
    mesh = load_galaxy_mesh(values["mesh"])
    cube = _observed_cube(values, mesh)
    library = library_for(mesh)
    if values["instrumental_fwhm"]:
        library = at_resolution(library, values["instrumental_fwhm"] / (1 + values["redshift"]))
    fitted = _fitted_or_refused(values, mesh, cube)
    if cube is not None:
        cube = _cut_by_signal_to_noise(
            replace(cube, flux=cube.flux[:, fitted], variance=cube.variance[:, fitted]),
            values["min_snr"])
    return _Prepared(mesh, library, values, cube, fitted)


def build(prepared: _Prepared, comm) -> GalaxyCube:
    """The distributed galaxy problem (collective)."""
    mesh, values, order = prepared.mesh, prepared.values, prepared.values["order"]
    theta = theta_for(mesh, prepared.library, order)
    kernel, wavelengths, flux_scale = build_kernel(mesh, prepared.library, theta)
    kernel, wavelengths = kernel[prepared.fitted], wavelengths[prepared.fitted]
    sky = _sky_bases(mesh, order)
    sky_shape = tuple(b.size for b in sky)
    data_gram = sobolev_gram(sky, 0.0)
    spatial_layout = Layout.default(comm, data_gram.shape[0])
    left_out = None if prepared.cube is None or not prepared.cube.bad_spaxels.any() \
        else prepared.cube.bad_spaxels
    operator = CubeOperator(kernel, spatial_layout, None if left_out is None else ~left_out)
    blocks = TensorBlockRows(kernel=kernel, data_gram=_data_metric(data_gram, left_out),
                             fitted_spaxels=None if left_out is None else ~left_out,
                             spatial_metric=sobolev_gram(sky, values["beta"]),
                             theta_metric=sobolev_gram(theta.bases, values["beta"]),
                             equation_noise=np.zeros(kernel.shape[0]),
                             spatial_layout=spatial_layout, order=order,
                             spatial_shape=sky_shape,
                             theta_shape=theta.shape)
    # The integral of a tensor basis function is the product of its factors' integrals.
    theta_weights = tuple(_axis_weights(b) for b in theta.bases)
    if prepared.cube is None:
        truth, data, noise_free = _mock_data(prepared, theta, sky, theta_weights, operator,
                                             blocks)
    else:
        truth, data, noise_free = None, _observed_data(prepared.cube, operator, blocks), None
    grid = DerivedGrid(sky[0].points, sky[1].points, *theta.physical_points(),
                       theta_weights=theta_weights,
                       light=light_per_mass(prepared.library, mesh.wavelength_range, theta),
                       left_out=left_out)
    cube_source = {}
    if prepared.cube is not None:
        # hpcinv plot gives the maps the cube's sky WCS from the result's attributes.
        cube_source = {"cube": prepared.cube.source, "cube_wcs": prepared.cube.sky_wcs,
                       "redshift": values["redshift"]}
    return GalaxyCube(operator=operator, data=data,
                      noise_norm=float(np.linalg.norm(blocks.equation_noise)),
                      truth=truth, grid_shape=(*sky_shape, *theta.shape),
                      attributes={"mesh": mesh.source, "order": order,
                                  "beta": values["beta"],
                                  "templates": prepared.library.source,
                                  "flux_scale": flux_scale,
                                  "instrumental_fwhm": values["instrumental_fwhm"],
                                  "fitted_pixels": int(prepared.fitted.sum()),
                                  "left_out_spaxels": 0 if left_out is None
                                  else int(left_out.sum()), **cube_source},
                      noise_free_data=noise_free, capabilities=[blocks], theta=theta,
                      wavelengths=wavelengths, derived_grid=grid, fitted=prepared.fitted)


def galaxy_problem(comm, mesh: str = "demo", order: int = 1, beta: float = 1.0,
                   noise_level: float = 0.01, seed: int = 0, mock: str = DEFAULT_MOCK,
                   cube: str = "",
                   variance: str = "", redshift: float = 0.0, instrumental_fwhm: float = 0.0,
                   good_wavelengths=(), mask_extension: str = "", spaxel_mask: str = "",
                   min_snr: float = 0.0) -> GalaxyCube:
    """The galaxy problem on ``comm`` for a driver script: ``mesh`` a mesh name (tiny, demo,
    paper, large) or file, the other arguments as the ``galaxy`` kind's keys."""
    arguments = dict(mesh=resolve_galaxy_mesh(mesh, "mesh"), order=order, beta=beta,
                     noise_level=noise_level, seed=seed, mock=mock, cube=cube,
                     variance=variance,
                     redshift=redshift, instrumental_fwhm=instrumental_fwhm,
                     good_wavelengths=[list(pair) for pair in good_wavelengths],
                     mask_extension=mask_extension, spaxel_mask=spaxel_mask, min_snr=min_snr)
    check_arguments("galaxy_problem", PARAMETERS, arguments)
    return build(agree(comm.tompi4py(), prepare, arguments), comm)


def _mock_data(prepared: _Prepared, theta: Theta, sky: list, theta_weights: tuple,
               operator: CubeOperator, blocks: TensorBlockRows):
    """(truth, data, noise-free data) of the seeded mock galaxy; delta_r is its realised
    noise norm."""
    values, mpi = prepared.values, operator.comm.tompi4py()
    layout, kernel = operator.spatial_layout, operator.kernel
    start, rows, local = layout.start, layout.local_size, layout.local_slice
    # The mock galaxy averaged over the Theta basis functions at the sky basis points,
    # scaled to mass fractions of a total of 1.
    sky_x, sky_y = np.meshgrid(sky[0].points, sky[1].points, indexing="ij")
    densities = basis_coefficients(sky_x.ravel()[local], sky_y.ravel()[local],
                                   theta.averaging(MOCK_POINTS_PER_INTERVAL),
                                   seed=values["seed"], model=values["mock"])
    sky_weights = blocks.local_data_weights()
    truth_rows = np.zeros((rows, theta.size))
    for name, fraction in MOCK_MODELS[values["mock"]].mass_fractions.items():
        density = densities[name]
        mass = mpi.allreduce(float(np.einsum("n,nabc,a,b,c->", sky_weights, density,
                                             *theta_weights)))
        truth_rows += (density * (fraction / mass)).reshape(rows, -1)

    truth, data = operator.create_vecs()
    operator.rows(truth, theta.size)[:] = truth_rows
    operator.mult(truth, data)
    noise_free = data.copy()
    cube = operator.rows(data, kernel.shape[0])
    noise = np.zeros_like(cube)
    if values["noise_level"] > 0:
        # Drawn for every observed pixel and then selected, so a wavelength mask leaves the
        # fitted pixels' noise as it is without one.
        fitted = prepared.fitted
        first = start * fitted.size
        noise = normal_slice(values["seed"] + 1, first,
                             first + rows * fitted.size).reshape(rows, -1)[:, fitted]
        noise *= noise_deviation(cube, values["noise_level"])
        cube += noise
    # The paper's delta_r bounds the noise, ||y_r^delta - y_r|| <= delta_r.  For a mock
    # the realised noise is known, so delta_r = ||e_r||_N exactly; an expected norm would
    # not do, as ||e_r||_N spreads widely about it when a few bright pixels dominate.
    blocks.equation_noise = _block_norms(noise, blocks.data_gram, layout)
    return truth, data, noise_free
