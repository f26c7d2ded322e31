"""The galaxy problem on 1 and 2 ranks: kernel quadrature, bases, mock galaxy, the
distributed datacube operator and its adjoint."""
import numpy as np
import pytest

from hpcinv.apps.galaxy.templates import SPEED_OF_LIGHT, log_rebin, log_grid
from hpcinv.linalg import dot_test
from hpcinv.apps.galaxy.bases import Basis1D, sobolev_gram
from hpcinv.apps.galaxy.kernel import build_kernel, library_for, theta_for
from hpcinv.apps.galaxy.mesh import load_galaxy_mesh
from hpcinv.apps.galaxy.mock import MOCK_MODELS, basis_coefficients, component_densities
from hpcinv.core.errors import InputError
from hpcinv.core.petsc_env import initialize
from helpers import build_job, gather

PETSc = initialize()


def _build(comm, order=1, mesh="tiny", noise=0.01, seed=0):
    return build_job(comm, f'[problem]\nkind = "galaxy"\nmesh = "meshes/galaxy/{mesh}.toml"\n'
                           f'order = {order}\nnoise_level = {noise}\nseed = {seed}\n'
                           '[solver]\nkind = "cgls"\n')[1]


@pytest.mark.mpi
@pytest.mark.parametrize("order", [0, 1])
def test_cube_operator_passes_the_adjoint_test(order):
    problem = _build(PETSc.COMM_WORLD, order)
    assert dot_test(problem.operator, seed=4) < 1e-13


@pytest.mark.mpi
@pytest.mark.parametrize("order", [0, 1])
def test_distributed_problem_equals_the_serial_one(order):
    distributed = _build(PETSc.COMM_WORLD, order)
    serial = _build(PETSc.COMM_SELF, order)
    np.testing.assert_allclose(gather(distributed.truth), serial.truth.getArray(), rtol=1e-12)
    np.testing.assert_allclose(gather(distributed.data), serial.data.getArray(), rtol=1e-12)
    np.testing.assert_allclose(distributed.block_rows.equation_noise,
                               serial.block_rows.equation_noise, rtol=1e-12)


def test_constant_density_gives_the_same_cube_for_both_orders_and_matches_quadrature():
    """f = 1 on Theta is exactly representable by cells and by hats; its spectrum is
    int S(lambda / (1 + v/c); z, t) / (1 + v/c) over the unit-scaled Theta box."""
    mesh = load_galaxy_mesh("meshes/galaxy/tiny.toml")
    library = library_for(mesh)
    rows = {}
    for order in (0, 1):
        theta = theta_for(mesh, library, order)
        kernel, wavelengths, scale = build_kernel(mesh, library, theta)
        rows[order] = kernel.sum(axis=1)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-12)
    # Brute force: fine trapezoid in v; trapezoid in z and t is exact for the bilinear
    # interpolant of the library.
    velocities = np.linspace(*mesh.velocity_range, 4001)
    fine = log_grid(4650.0, 5800.0, 10.0)
    spectra = log_rebin(library.wavelength, library.spectra, fine) / scale
    z = theta.metallicity.nodes
    t = theta.age.nodes
    trapezoid_z = np.diff(z) / 2
    trapezoid_t = np.diff(t) / 2
    wz = np.zeros(z.size); wz[:-1] += trapezoid_z; wz[1:] += trapezoid_z
    wt = np.zeros(t.size); wt[:-1] += trapezoid_t; wt[1:] += trapezoid_t
    collapsed = np.einsum("ijp,i,j->p", spectra, wz, wt)
    doppler = 1 + velocities / SPEED_OF_LIGHT
    shifted = np.interp(np.log(wavelengths[:, None] / doppler[None, :]), np.log(fine), collapsed)
    expected = np.trapz(shifted / doppler, velocities, axis=1) / np.ptp(velocities)
    np.testing.assert_allclose(rows[1], expected, rtol=5e-3)


def test_hat_gram_matrices_integrate_exactly():
    basis = Basis1D(np.array([0.0, 0.1, 0.4, 1.0]), 1)
    mass = basis.mass().toarray()
    assert mass.sum() == pytest.approx(1.0)                       # int 1 * 1
    x = basis.nodes
    assert x @ mass @ x == pytest.approx(1.0 / 3.0)               # int x^2
    stiffness = basis.stiffness().toarray()
    assert x @ stiffness @ x == pytest.approx(1.0)                # int (x')^2
    gram = sobolev_gram([basis, basis], beta=0.5).toarray()
    ones = np.ones(16)
    assert ones @ gram @ ones == pytest.approx(1.0)


def test_mock_galaxy_components_and_bimodal_losvds():
    x = np.array([0.3, -0.3, 0.0])
    y = np.zeros(3)
    v = np.linspace(-600, 600, 121)
    z = np.linspace(-1.7, 0.2, 6)
    t = np.linspace(0.1, 13.0, 12)
    densities = component_densities(x, y, v, z, t, seed=3)
    fractions = MOCK_MODELS["three-component"].mass_fractions
    assert set(densities) == set(fractions)
    for model in MOCK_MODELS.values():
        assert sum(model.mass_fractions.values()) == pytest.approx(1.0)
    losvd = sum(d for d in densities.values()).sum(axis=(2, 3))
    right = losvd[0]
    peaks = [i for i in range(1, v.size - 1) if right[i] > right[i - 1] and right[i] > right[i + 1]]
    assert len(peaks) == 2 and v[peaks[0]] < 0 < v[peaks[1]]       # counter-rotating disks
    mirrored = losvd[1][::-1]                                      # the other side rotates back
    np.testing.assert_allclose(mirrored / mirrored.max(), right / right.max(), atol=0.05)
    other = component_densities(x, y, v, z, t, seed=4)
    assert not np.allclose(other["thin_disk"], densities["thin_disk"])


@pytest.mark.parametrize("order", [0, 1])
def test_basis_averages_are_weighted_means(order):
    basis = Basis1D(np.array([0.0, 0.2, 0.5, 1.0]), order)
    points, weights = basis.averaging(4)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    # a hat's weighted mean of x is its triangle's centroid; a cell's is its midpoint
    expected = [0.2 / 3, 0.7 / 3, 1.7 / 3, 2.5 / 3] if order else [0.1, 0.35, 0.75]
    np.testing.assert_allclose(weights @ points, expected, rtol=1e-12)


def test_mock_coefficients_are_basis_averages_of_the_density(monkeypatch):
    """The factored fast path equals averaging the point density on the full quadrature grid
    (sky points in blocks of 2, so that blocks join)."""
    monkeypatch.setattr("hpcinv.apps.galaxy.mock._SKY_CHUNK", 2)
    x, y = np.array([0.3, -0.5, 0.05]), np.array([0.0, 0.2, 0.6])
    axes = [Basis1D(np.linspace(0, 1, n), 1) for n in (7, 4, 5)]
    physical = [(-800.0, 800.0), (-1.7, 0.2), (0.1, 13.0)]
    averaging = []
    for basis, (low, high) in zip(axes, physical):
        points, weights = basis.averaging(6)
        averaging.append((low + points * (high - low), weights))
    for model in MOCK_MODELS:
        fast = basis_coefficients(x, y, averaging, seed=2, model=model)
        dense = component_densities(x, y, *(points for points, _ in averaging), seed=2,
                                    model=model)
        assert set(fast) == set(MOCK_MODELS[model].mass_fractions)
        for name, values in dense.items():
            direct = np.einsum("nijk,ai,bj,ck->nabc", values, *(w for _, w in averaging))
            np.testing.assert_allclose(fast[name], direct, rtol=1e-10,
                                       atol=1e-14 * direct.max())
            assert fast[name].shape == (3, 7, 4, 5)


@pytest.mark.mpi
def test_mock_masses_and_noise_levels():
    problem = _build(PETSc.COMM_WORLD, order=1, mesh="tiny", noise=0.02)
    blocks = problem.block_rows
    noise_free = _build(PETSc.COMM_WORLD, order=1, mesh="tiny", noise=0.0)
    assert np.all(noise_free.block_rows.equation_noise == 0)
    difference = problem.data.copy()
    difference.axpy(-1.0, noise_free.data)
    relative = difference.norm() / noise_free.data.norm()
    assert 0.01 < relative < 0.03
    assert problem.noise_free_data.equal(noise_free.data)     # the same galaxy, kept apart
    truth = gather(problem.truth)
    assert np.all(truth >= 0) and truth.max() > 0
    assert blocks.equation_noise.shape == (blocks.equations,)


def test_galaxy_mesh_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[omega]\nnodes = [1, 3]\n[velocity]\nnodes = 5\nrange = [100.0, -100.0]\n"
                   "[colour]\nx = 1\n")
    with pytest.raises(InputError) as caught:
        load_galaxy_mesh(str(bad))
    text = str(caught.value)
    for key in ("omega.nodes[0]", "velocity.range", "colour"):
        assert key in text


def test_missing_miles_templates_are_bad_input_naming_the_mesh(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCINV_DATA", str(tmp_path))
    mesh = load_galaxy_mesh("meshes/galaxy/demo.toml")
    with pytest.raises(InputError, match="problem.mesh.*hpcinv templates fetch"):
        library_for(mesh)


def test_the_second_mocks_counter_rotating_disk_has_its_share_of_light():
    """bulge-counter-disk: the counter-rotating disk holds 10-30% of the light (MILES
    light per mass at the demo mesh's populations), and its LOSVDs are bimodal inside."""
    from hpcinv.apps.galaxy.comparison_metrics import losvd_peaks

    text = ('[problem]\nkind = "galaxy"\nmesh = "meshes/galaxy/demo.toml"\n'
            'mock = "bulge-counter-disk"\n[solver]\nkind = "pnkr"\n')
    problem = build_job(PETSc.COMM_SELF, text)[1]
    grid = problem.derived_grid
    sky_x, sky_y = np.meshgrid(grid.sky_x, grid.sky_y, indexing="ij")
    model = MOCK_MODELS["bulge-counter-disk"]
    densities = basis_coefficients(sky_x.ravel(), sky_y.ravel(), problem.theta.averaging(8),
                                   model="bulge-counter-disk")
    w_v, w_z, w_t = grid.theta_weights
    light, scale = {}, {}
    for name, density in densities.items():
        scale[name] = model.mass_fractions[name] / np.einsum("nabc,a,b,c->", density, w_v,
                                                             w_z, w_t)
        light[name] = scale[name] * np.einsum("nabc,a,b,c,bc->", density, w_v, w_z, w_t,
                                              grid.light)
    share = light["counter_disk"] / sum(light.values())
    assert 0.10 <= share <= 0.30
    assert model.mass_fractions["counter_disk"] < share      # young: bright per mass
    # On a 62.5 km/s velocity grid the inner LOSVDs (mass-weighted, each component at its
    # mass fraction) show both disks.
    velocity = np.linspace(-750, 750, 25)
    x = np.array([0.1, 0.2, -0.15])
    densities = component_densities(x, np.zeros(3), velocity, grid.metallicity, grid.age,
                                    model="bulge-counter-disk")
    losvd = sum(scale[name] * density for name, density in densities.items()).sum(axis=(2, 3))
    for row in losvd:
        assert losvd_peaks(row, velocity).size == 2
