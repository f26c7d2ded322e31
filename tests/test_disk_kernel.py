"""The disk kernel a of F = a f (Pichon & Thiebaut 1997, Eqs. 2, 47-50 and Appendix C): the
(eta, h) grid, the closed-form eta integrals, the major-axis rows against direct quadrature
of Eq. 2, and the rows of slits at any angle against quadrature along their velocity
lines."""
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.interpolate import RegularGridInterpolator

from hpcinv.apps.disk.grid import DistributionGrid
from hpcinv.apps.disk.kernel import eta_integrals, major_axis_rows
from hpcinv.apps.disk.potential import KuzminPotential
from hpcinv.apps.disk.slits import slit_geometry, slit_rows

POTENTIAL = KuzminPotential()
INCLINATION = 60.0


def f_hat(eta, h):
    return np.exp(-eta / 0.2) * np.exp(-(h - 1.0) ** 2)


def nodal(grid, function):
    eta, h = np.meshgrid(grid.eta, grid.h, indexing="ij")
    return function(eta, h).ravel()


def bilinear(grid, values):
    """f_hat of nodal values: the bilinear interpolant, zero outside the h nodes."""
    table = RegularGridInterpolator((grid.eta, grid.h), values.reshape(grid.shape),
                                    bounds_error=False, fill_value=0.0)
    return lambda eta, h: table(np.column_stack(np.broadcast_arrays(eta, h)))


def eta_of(eps, h):
    return np.clip(1.0 - eps / POTENTIAL.minimum_energy(h), 0.0, 1.0)


def escape_speed(R):
    return math.sqrt(2.0 * POTENTIAL.psi(R))


def eq2(function, R, v, points=()):
    """F_phi(R, v) = int f(eps, R v) dv_R over the bound region (Eq. 2), by quad."""
    h, reach = R * v, math.sqrt(2.0 * POTENTIAL.psi(R) - v * v)
    eps_min = POTENTIAL.minimum_energy(h)

    def integrand(v_R):
        eps = 0.5 * (v_R ** 2 + v * v) - POTENTIAL.psi(R)
        return float(np.squeeze(function(np.clip(1 - eps / eps_min, 0, 1), h)))
    inner = [p for p in points if -reach < p < reach]
    return quad(integrand, -reach, reach, points=inner or None, limit=4 * len(inner) + 100,
                epsabs=0.0, epsrel=1e-12)[0]


# (R, v): prograde, counter-rotating, radial (v = 0), near the escape speed, the centre.
MAJOR_AXIS_POINTS = [(0.5, 0.4), (1.0, -0.3), (1.5, 0.0), (2.0, 0.5), (1.0, 1.18),
                     (3.0, 0.79), (0.0, 0.7)]


# --- the grid ---------------------------------------------------------------------------------

@pytest.mark.parametrize("L, zero", [(150, 60), (200, 80)])
def test_paper_grids_have_a_node_at_h_zero_and_cut_there(L, zero):
    grid = DistributionGrid(150, L)
    assert grid.shape == (150, L) and grid.size == 150 * L
    assert grid.spacing == pytest.approx((1 / 149, 5 / L))
    assert grid.eta[0] == 0.0 and grid.eta[-1] == 1.0
    assert grid.h[0] == -2.0 and grid.h[-1] == pytest.approx(3.0 - 5 / L)
    assert grid.zero_index == zero and grid.h[zero] == 0.0
    assert grid.cuts == ((1, zero),)


def test_grid_without_a_node_at_zero_cuts_where_h_turns_positive():
    grid = DistributionGrid(3, 7)            # h = -2, -1.29, -0.57, 0.14, ...
    assert grid.zero_index is None and grid.cuts == ((1, 3),)
    assert DistributionGrid(3, 4, 0.5, 2.0).cuts == ()         # h = 0 outside
    assert DistributionGrid(3, 4, -2.0, 0.1).cuts == ()        # 0 beyond the last node
    at_start = DistributionGrid(3, 4, 0.0, 2.0)                # nothing below 0 to decouple
    assert at_start.zero_index == 0 and at_start.cuts == ()


@pytest.mark.parametrize("arguments, name", [((1, 5), "eta_nodes"), ((5, 1), "h_nodes"),
                                             ((5, 5, 1.0, 1.0), "h_min"),
                                             ((5.0, 5), "eta_nodes")])
def test_grid_rejects_bad_arguments(arguments, name):
    with pytest.raises(ValueError, match=name):
        DistributionGrid(*arguments)


# --- the eta integrals ------------------------------------------------------------------------

@pytest.mark.parametrize("eta_c", [0.0, 0.3, 0.123, 1 - 1e-6, 1.0])
def test_eta_integrals_match_quadrature(eta_c):
    K = 11
    nodes = np.linspace(0, 1, K)
    computed = eta_integrals(np.array([eta_c]), K)[0]
    # eta = eta_c + s^2 removes the inverse square root; the hats kink at s = sqrt(eta_k - c).
    top = math.sqrt(1 - eta_c)
    kinks = [math.sqrt(x - eta_c) for x in nodes if eta_c < x < 1]
    for k in range(K):
        def integrand(s):
            return 2 * max(0.0, 1 - abs(eta_c + s * s - nodes[k]) * (K - 1))
        expected = quad(integrand, 0, top, points=kinks or None, epsabs=1e-15)[0] if top else 0
        assert computed[k] == pytest.approx(expected, abs=1e-14)
    assert computed.sum() == pytest.approx(2 * top, abs=1e-14)    # the hats sum to 1


def test_eta_integrals_reject_eta_c_outside_the_unit_interval():
    with pytest.raises(ValueError, match="eta_c"):
        eta_integrals(np.array([0.5, 1.2]), 5)


# --- the major-axis rows ----------------------------------------------------------------------

def test_major_axis_rows_reproduce_eq2_for_an_analytic_distribution_function():
    grid = DistributionGrid(401, 400)
    R, v = np.array(MAJOR_AXIS_POINTS).T
    model = major_axis_rows(POTENTIAL, grid, R, v) @ nodal(grid, f_hat)
    expected = np.array([eq2(f_hat, *point) for point in MAJOR_AXIS_POINTS])
    # Bilinear interpolation error: ~1.3e-5; 1.2e-4 at h = 2.37, where f_hh / f = 5.5.
    np.testing.assert_allclose(model, expected, rtol=2e-4)
    assert np.max(np.abs(model / expected - 1)[:-2]) < 3e-5


def test_major_axis_rows_are_exact_for_the_bilinear_interpolant():
    grid = DistributionGrid(21, 20)
    values = np.random.default_rng(3).random(grid.size)
    R, v = np.array(MAJOR_AXIS_POINTS).T
    model = major_axis_rows(POTENTIAL, grid, R, v) @ values
    for (R_i, v_i), F in zip(MAJOR_AXIS_POINTS, model):
        # v_R where eta crosses a node: eps = (1 - eta_k) eps_min.
        span = 2 * ((1 - grid.eta) * POTENTIAL.minimum_energy(R_i * v_i)
                    + POTENTIAL.psi(R_i)) - v_i ** 2
        kinks = np.sqrt(span[span > 0])
        expected = eq2(bilinear(grid, values), R_i, v_i, np.concatenate([kinks, -kinks]))
        assert F == pytest.approx(expected, rel=1e-10)


def test_rows_without_bound_orbits_or_off_the_h_grid_are_empty():
    grid = DistributionGrid(21, 20)
    v_esc = escape_speed(1.0)
    R = np.array([1.0, 1.0, 1.0, 7.0, 2.0])
    v = np.array([v_esc, -1.01 * v_esc, 1.5, 0.5, -1.1])   # Y <= 0 (3), h = 3.5, h = -2.2
    rows = major_axis_rows(POTENTIAL, grid, R, v)
    assert rows.shape == (5, grid.size) and rows.nnz == 0


def test_each_row_touches_at_most_two_h_nodes():
    grid = DistributionGrid(31, 30)
    R, v = (axis.ravel() for axis in np.meshgrid(np.linspace(0, 7, 15),
                                                 np.linspace(-1.4, 1.4, 15)))
    rows = major_axis_rows(POTENTIAL, grid, R, v)
    for i in range(rows.shape[0]):
        h_nodes = np.unique(rows.indices[rows.indptr[i]:rows.indptr[i + 1]] % grid.shape[1])
        assert h_nodes.size <= 2 and np.all(np.diff(h_nodes) == 1)
    assert np.all(rows.data > 0)


def test_the_centre_weighs_the_node_at_h_zero_only():
    grid = DistributionGrid(21, 150)
    rows = major_axis_rows(POTENTIAL, grid, np.zeros(3), np.array([-0.9, 0.0, 0.5]))
    assert np.all(rows.indices % grid.shape[1] == grid.zero_index)
    assert rows.getnnz(axis=1).min() > 0


@pytest.mark.parametrize("radii, velocities, name", [([1.0, 2.0], [0.1], "velocities"),
                                                     ([[1.0]], [[0.1]], "velocities"),
                                                     ([-1.0], [0.1], "radii"),
                                                     ([1.0], [np.nan], "velocities")])
def test_major_axis_rows_reject_bad_points(radii, velocities, name):
    with pytest.raises(ValueError, match=name):
        major_axis_rows(POTENTIAL, DistributionGrid(3, 3), radii, velocities)


# --- slits at any angle -----------------------------------------------------------------------

def line_integral(function, R, v_par, alpha):
    """F_alpha(R, v_par) = int f(eps, h) dv_perp along the bound part of the line, by quad."""
    beta, stretch = slit_geometry(alpha, INCLINATION)
    r = R * stretch
    reach = math.sqrt(2 * POTENTIAL.psi(r) - v_par ** 2)

    def h_of(t):
        return r * (v_par * math.cos(beta) - t * math.sin(beta))

    def integrand(t):
        eps = 0.5 * (v_par ** 2 + t * t) - POTENTIAL.psi(r)
        return float(np.squeeze(function(eta_of(eps, h_of(t)), h_of(t))))
    # The kink of eps_min(h) at h = 0; the whole line stays on the h grid [-2, 2.9875].
    assert -2 <= min(h_of(reach), h_of(-reach)) and max(h_of(reach), h_of(-reach)) <= 2.98
    zero = v_par / math.tan(beta)
    return quad(integrand, -reach, reach, points=[zero] if abs(zero) < reach else None,
                epsabs=1e-12, epsrel=1e-10)[0]


def slit_points(alpha):
    """(R, v_par) as in MAJOR_AXIS_POINTS, the last one at 0.97 of the escape speed."""
    r_edge = slit_geometry(alpha, INCLINATION)[1] * 1.0
    return [(0.5, 0.4), (1.0, -0.3), (1.0, 0.0), (0.3, 0.8), (1.0, 0.97 * escape_speed(r_edge))]


def test_slit_at_alpha_zero_is_the_major_axis():
    grid = DistributionGrid(41, 40)
    R, v = np.array(MAJOR_AXIS_POINTS).T
    major = major_axis_rows(POTENTIAL, grid, R, v)
    assert (slit_rows(POTENTIAL, grid, R, v, 0.0, INCLINATION) != major).nnz == 0
    # The line quadrature as beta -> 0 (beta ~ 3e-11 here): the closed forms, entry by entry.
    nearly = slit_rows(POTENTIAL, grid, R, v, 1e-9, INCLINATION)
    assert abs(nearly - major).max() < 1e-9 * abs(major).max()


@pytest.mark.parametrize("alpha", [30.0, 60.0])
def test_slit_rows_reproduce_the_line_integral_of_an_analytic_distribution_function(alpha):
    grid = DistributionGrid(401, 400)
    points = slit_points(alpha)
    R, v = np.array(points).T
    model = slit_rows(POTENTIAL, grid, R, v, alpha, INCLINATION) @ nodal(grid, f_hat)
    expected = np.array([line_integral(f_hat, *point, alpha) for point in points])
    # The bilinear interpolation error, O(d^2): up to 6.3e-5 here, a quarter of it at
    # K = 801, L = 800.
    np.testing.assert_allclose(model, expected, rtol=1e-4)


@pytest.mark.parametrize("alpha", [30.0, 60.0])
def test_slit_rows_are_exact_for_the_bilinear_interpolant(alpha):
    """Random nodal values, so that every entry counts: against the trapezoid rule on
    200001 points of the line (its kinks leave ~1e-9)."""
    grid = DistributionGrid(21, 20)
    values = np.random.default_rng(5).random(grid.size)
    points = slit_points(alpha)[:3]
    R, v = np.array(points).T
    model = slit_rows(POTENTIAL, grid, R, v, alpha, INCLINATION) @ values
    beta, stretch = slit_geometry(alpha, INCLINATION)
    for (R_i, v_i), F in zip(points, model):
        r = R_i * stretch
        reach = math.sqrt(2 * POTENTIAL.psi(r) - v_i ** 2)
        t = np.linspace(-reach, reach, 200001)
        h = r * (v_i * math.cos(beta) - t * math.sin(beta))
        eta = eta_of(0.5 * (v_i ** 2 + t * t) - POTENTIAL.psi(r), h)
        expected = np.trapz(bilinear(grid, values)(eta, h), t)
        assert F == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("alpha", [30.0, 60.0, 90.0])
def test_slit_rows_integrate_linear_functions_exactly(alpha):
    """The hats sum to 1 and reproduce eta and h, so a @ 1 is the length of the bound line
    and a @ eta, a @ h are its integrals of eta(eps, h) and h."""
    grid = DistributionGrid(21, 20)
    points = slit_points(alpha)
    R, v = np.array(points).T
    rows = slit_rows(POTENTIAL, grid, R, v, alpha, INCLINATION)
    ones = rows @ np.ones(grid.size)
    eta = rows @ nodal(grid, lambda eta, h: eta)
    h = rows @ nodal(grid, lambda eta, h: h)
    for i, (R_i, v_i) in enumerate(points):
        assert ones[i] == pytest.approx(line_integral(lambda e, h_: 1.0, R_i, v_i, alpha),
                                        rel=1e-12)
        assert eta[i] == pytest.approx(line_integral(lambda e, h_: e, R_i, v_i, alpha),
                                       rel=1e-9)
        assert h[i] == pytest.approx(line_integral(lambda e, h_: h_, R_i, v_i, alpha),
                                     rel=1e-9, abs=1e-12)


def test_slit_rows_without_bound_orbits_are_empty():
    grid = DistributionGrid(21, 20)
    beta, stretch = slit_geometry(45.0, INCLINATION)
    v_esc = escape_speed(stretch * 1.0)
    rows = slit_rows(POTENTIAL, grid, [1.0, 1.0], [v_esc, -1.2 * v_esc], 45.0, INCLINATION)
    assert rows.nnz == 0


def test_slit_geometry():
    beta, stretch = slit_geometry(30.0, 60.0)
    assert math.tan(beta) == pytest.approx(math.tan(math.radians(30)) / 0.5)
    # The sky point R (cos alpha, sin alpha) is the disk point (x, y cos i).
    assert stretch == pytest.approx(math.hypot(math.cos(math.radians(30)), 0.5 / 0.5))
    assert slit_geometry(90.0, 60.0)[0] == pytest.approx(math.pi / 2)
    assert slit_geometry(0.0, 90.0) == (0.0, 1.0)


def test_a_slit_off_the_major_axis_of_an_edge_on_disk_sees_only_the_centre():
    grid = DistributionGrid(21, 20)
    rows = slit_rows(POTENTIAL, grid, [0.0, 1.0], [0.3, 0.3], 30.0, 90.0)
    centre = major_axis_rows(POTENTIAL, grid, [0.0], [0.3])
    assert rows.getnnz(axis=1)[1] == 0
    assert (rows[0] != centre).nnz == 0


@pytest.mark.parametrize("alpha, inclination, name", [(-1.0, 60.0, "alpha"),
                                                      (91.0, 60.0, "alpha"),
                                                      (np.nan, 60.0, "alpha"),
                                                      (30.0, 0.0, "inclination"),
                                                      (30.0, 90.5, "inclination"),
                                                      (30.0, True, "inclination")])
def test_slit_rows_reject_bad_angles(alpha, inclination, name):
    with pytest.raises(ValueError, match=name):
        slit_rows(POTENTIAL, DistributionGrid(3, 3), [1.0], [0.1], alpha, inclination)
