"""The iso-Q Kuzmin disk's Gaussian azimuthal profiles (Pichon & Thiebaut 1997, Eqs. 39-45):
the reference table of the notes, the normalisation, the noise and the default data grid."""
import numpy as np
import pytest
from scipy.integrate import trapezoid

from hpcinv.apps.disk.potential import KuzminPotential
from hpcinv.apps.disk.simulator import IsoQDisk, data_grid, noise_sigma, noisy_profiles
from hpcinv.core.errors import ArgumentError
from hpcinv.linalg.random import normal_slice

# Section 3.1 of shared/reference/disk-df-pichon-thiebaut.md (G = M = a = 1, Q = 1.25), as
# printed: R, psi, Sigma, v_c, kappa, sigma_R, sigma_phi, <v_phi>, v_esc, h_circ.
TABLE = """
0.5    0.894 0.114  0.424 1.558 0.306 0.282 0.327 1.337 0.21
1.0    0.707 0.0562 0.595 0.939 0.251 0.198 0.476 1.189 0.60
1.732  0.500 0.0199 0.612 0.468 0.179 0.118 0.520 1.000 1.06
3      0.316 0.0050 0.533 0.203 0.104 0.059 0.488 0.795 1.60
7      0.141 5e-4   0.372 0.055 0.034 0.018 0.364 0.532 2.61
10     0.100 2e-4   0.314 0.032 0.021 0.010 0.310 0.446 3.14
"""
COLUMNS = ("psi", "surface_density", "circular_velocity", "epicyclic_frequency", "sigma_r",
           "sigma_phi", "mean_v_phi", "escape_speed", "h_circ")


def _half_last_digit(text: str) -> float:
    """Half a unit of the last digit printed in ``text`` ('0.0562' -> 5e-5, '5e-4' -> 5e-5)."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _table_rows():
    for line in TABLE.strip().splitlines():
        radius, *cells = line.split()
        yield float(radius), dict(zip(COLUMNS, cells))


@pytest.mark.parametrize("radius, printed", list(_table_rows()))
def test_moments_reproduce_the_reference_table(radius, printed):
    potential = KuzminPotential()
    moments = IsoQDisk(potential, 1.25).moments(np.array([radius]))
    computed = {name: value[0] for name, value in moments.items()}
    computed["psi"] = potential.psi(radius)
    computed["h_circ"] = radius * computed["circular_velocity"]
    for name, text in printed.items():
        tolerance = max(0.01 * abs(float(text)), _half_last_digit(text))
        assert abs(computed[name] - float(text)) <= tolerance * (1 + 1e-9), (name, radius)


def test_moments_agree_with_the_potential_and_a_numerical_jeans_derivative():
    potential = KuzminPotential(mass=2.0, scale=1.5, gravity=0.7)
    disk = IsoQDisk(potential, 1.1)
    R = np.linspace(0.2, 9.0, 23)
    moments = disk.moments(R)
    np.testing.assert_allclose(moments["circular_velocity"], potential.circular_velocity(R),
                               rtol=1e-13)
    np.testing.assert_allclose(moments["epicyclic_frequency"],
                               potential.epicyclic_frequency(R), rtol=1e-13)
    np.testing.assert_allclose(moments["surface_density"], potential.surface_density(R))
    # Toomre's Q = sigma_R kappa / (3.36 G Sigma), with the paper's 0.298 for 1/3.36.
    np.testing.assert_allclose(0.298 * moments["sigma_r"] * moments["epicyclic_frequency"]
                               / (potential.gravity * moments["surface_density"]), 1.1)
    omega = moments["circular_velocity"] / R
    np.testing.assert_allclose(moments["sigma_phi"], moments["sigma_r"]
                               * moments["epicyclic_frequency"] / (2 * omega))

    def pressure_term(radius):   # R Sigma sigma_R^2
        values = disk.moments(radius)
        return radius * values["surface_density"] * values["sigma_r"] ** 2

    step = 1e-5 * R      # central differences: error ~ step^2, far below the rtol
    derivative = (pressure_term(R + step) - pressure_term(R - step)) / (2 * step)
    jeans = (moments["circular_velocity"] ** 2 + derivative / moments["surface_density"]
             - moments["sigma_phi"] ** 2)
    np.testing.assert_allclose(moments["mean_v_phi"] ** 2, jeans, rtol=1e-8)


def test_moments_at_the_centre_are_finite_and_at_rest():
    moments = IsoQDisk(KuzminPotential(), 1.25).moments(0.0)
    assert moments["mean_v_phi"] == 0.0
    assert moments["sigma_phi"] == pytest.approx(moments["sigma_r"])
    assert all(np.isfinite(value) for value in moments.values())


def test_profiles_integrate_to_the_surface_density_and_are_finite_and_positive():
    disk = IsoQDisk(KuzminPotential(), 1.25)
    R = np.array([0.05, 0.5, 1.0, 3.0, 7.0, 10.0])
    v = np.linspace(-3.0, 3.0, 60001)     # > 8 sigma_phi either side of every <v_phi>
    F = disk.profiles(R, v)
    assert F.shape == (R.size, v.size)
    assert np.all(np.isfinite(F)) and np.all(F >= 0)
    np.testing.assert_allclose(trapezoid(F, v, axis=1),
                               disk.moments(R)["surface_density"], rtol=1e-6)


def test_profiles_peak_at_the_mean_rotation():
    disk = IsoQDisk(KuzminPotential(), 1.25)
    R = np.array([1.0, 3.0])
    moments = disk.moments(R)
    peaks = disk.profiles(R, moments["mean_v_phi"]).diagonal()
    np.testing.assert_allclose(peaks, moments["surface_density"]
                               / (np.sqrt(2 * np.pi) * moments["sigma_phi"]))


def test_a_too_hot_disk_is_refused_naming_toomre_q_and_the_radius():
    disk = IsoQDisk(KuzminPotential(), 3.0)
    with pytest.raises(ValueError, match=r"toomre_q = 3 .*R in \[0\.1, 1\] \(2 of 3 radii\)"):
        disk.profiles(np.array([0.1, 1.0, 5.0]), np.linspace(-1, 1, 5))
    disk.moments(np.array([5.0]))       # cold enough far out


def test_bad_arguments_are_refused():
    with pytest.raises(ArgumentError, match="toomre_q"):
        IsoQDisk(KuzminPotential(), 0.0)
    with pytest.raises(TypeError, match="KuzminPotential"):
        IsoQDisk(object())
    with pytest.raises(ValueError, match="R"):
        IsoQDisk(KuzminPotential()).moments(np.array([-1.0]))


def test_noise_sigma_is_equation_45():
    F = np.array([[0.0, 1.0], [4.0, 2.0]])
    np.testing.assert_allclose(noise_sigma(F, 5.0, 1e-3), F / 5.0 + 4.0 * 1e-3)
    np.testing.assert_allclose(noise_sigma(F, 30.0), F / 30.0 + 4.0 * 1e-4)
    for snr in (0.0, -1.0, np.inf):
        with pytest.raises(ArgumentError, match="snr"):
            noise_sigma(F, snr)
    with pytest.raises(ArgumentError, match="sigma_background"):
        noise_sigma(F, 5.0, -1e-4)
    with pytest.raises(ValueError, match="F"):
        noise_sigma(-F, 5.0)


def test_noisy_profiles_depend_only_on_the_seed():
    F = IsoQDisk(KuzminPotential()).profiles(*data_grid(8, 6))
    sigma = noise_sigma(F, 5.0)
    first = noisy_profiles(F, sigma, seed=3)
    np.testing.assert_array_equal(first, noisy_profiles(F, sigma, seed=3))
    assert not np.allclose(first, noisy_profiles(F, sigma, seed=4))
    np.testing.assert_allclose(first, F + sigma * normal_slice(3, 0, F.size).reshape(F.shape),
                               rtol=0, atol=0)


def test_default_data_grid():
    radii, velocities = data_grid()
    np.testing.assert_allclose(radii, 7.0 * np.arange(1, 51) / 50)
    v_esc = np.sqrt(2 / np.sqrt(1 + 0.14 ** 2))
    step = 2 * v_esc / 50
    np.testing.assert_allclose(velocities, -v_esc + step * (np.arange(50) + 0.5))
    # Every profile's counter-rotating tail to 4 sigma_phi lies inside the grid.
    moments = IsoQDisk(KuzminPotential()).moments(radii)
    assert np.all(moments["mean_v_phi"] - 4 * moments["sigma_phi"] > velocities[0])
    radii, velocities = data_grid(4, 3, r_max=2.0, v_min=-0.5, v_max=1.0)
    np.testing.assert_allclose(radii, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(velocities, [-0.25, 0.25, 0.75])
    with pytest.raises(ValueError, match="v_min"):
        data_grid(v_min=1.0, v_max=0.0)
    with pytest.raises(ArgumentError, match="n_radii"):
        data_grid(0)
