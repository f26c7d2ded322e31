"""Classic test problems (gravity, cross-well, parallel-beam) and their operators (dense and
ray matrices) on 1 and 2 ranks, against rank-independent numpy references."""
import inspect

import numpy as np
import pytest

from hpcinv.core.jobspec import PROBLEMS
from hpcinv.core.jobspec.schema import validate_table
from hpcinv.linalg import dense, dot_test
from hpcinv.solvers.framework.capabilities import Regularization
from hpcinv.linalg.dense import dense_operator
from hpcinv.linalg.random import normal_slice
from hpcinv.operators.rays import ray_matrix_rows, ray_operator
from hpcinv.apps.classic import crosswell, gravity, parallel_beam
from hpcinv.apps.classic.gravity import gravity_rows
from hpcinv.apps.synthetic.noise import add_relative_noise
from hpcinv.apps.classic.phantoms import shepp_logan
from hpcinv.core.errors import InputError
from hpcinv.core.petsc_env import initialize
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _applied(operator, x_values):
    x, y = operator.create_vecs()
    start, stop = x.getOwnershipRange()
    x.getArray()[:] = x_values[start:stop]
    operator.mult(x, y)
    return gather(y)


# ---------------------------------------------------------------- dense operator

@pytest.mark.mpi
def test_dense_operator_holds_the_rows_it_was_given(monkeypatch):
    monkeypatch.setattr(dense, "_BLOCK_ENTRIES", 40)      # several row blocks per rank
    matrix = np.random.default_rng(1).standard_normal((23, 17))
    operator = dense_operator(COMM, matrix.shape, lambda start, stop: matrix[start:stop])
    assert operator.shape == (23, 17)
    x = normal_slice(2, 0, 17)
    np.testing.assert_allclose(_applied(operator, x), matrix @ x, rtol=1e-13)
    assert dot_test(operator, seed=4) < 1e-12


def test_dense_operator_refuses_rows_of_the_wrong_shape():
    with pytest.raises(ValueError, match="rows_fn"):
        dense_operator(COMM, (4, 3), lambda start, stop: np.zeros((stop - start, 2)))


# ---------------------------------------------------------------- ray matrices

LOWER, UPPER, SHAPE = np.array([-1.0, 0.5]), np.array([2.0, 3.0]), (7, 11)


def _clipped_length(p, q, lower=LOWER, upper=UPPER):
    """Length of segment pq inside the box [lower, upper] (Liang-Barsky clipping)."""
    d, t0, t1 = q - p, 0.0, 1.0
    for axis in (0, 1):
        if d[axis] == 0:
            if not lower[axis] <= p[axis] <= upper[axis]:
                return 0.0
            continue
        ta, tb = (lower[axis] - p[axis]) / d[axis], (upper[axis] - p[axis]) / d[axis]
        t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
    return max(0.0, t1 - t0) * np.hypot(*d)


def _random_segments(count, seed):
    """End points in the box grown by half its size each way, a quarter axis-parallel."""
    rng = np.random.default_rng(seed)
    middle, size = (LOWER + UPPER) / 2, UPPER - LOWER
    segments = middle + size * rng.uniform(-1, 1, (count, 2, 2))
    segments[::4, 1, 0] = segments[::4, 0, 0]          # along axis 1
    segments[1::8, 1, 1] = segments[1::8, 0, 1]        # along axis 0
    return segments


def test_ray_row_sums_are_the_lengths_inside_the_box():
    segments = _random_segments(300, 5)
    rows = ray_matrix_rows(segments, SHAPE, LOWER, UPPER, 0, len(segments))
    expected = [_clipped_length(p, q) for p, q in segments]
    assert 0 < np.count_nonzero(expected) < len(segments)        # some miss the box
    np.testing.assert_allclose(np.asarray(rows.sum(axis=1)).ravel(), expected,
                               rtol=1e-12, atol=1e-13)
    assert rows.min() >= 0
    # Pieces sit in the right cells: applied to the indicator of a block of cells, the matrix
    # gives the lengths inside that block.
    block = np.zeros(SHAPE)
    block[2:5, 3:9] = 1
    spacing = (UPPER - LOWER) / SHAPE
    corners = LOWER + spacing * [2, 3], LOWER + spacing * [5, 9]
    inside_block = [_clipped_length(p, q, *corners) for p, q in segments]
    np.testing.assert_allclose(rows @ block.ravel(), inside_block, rtol=1e-12, atol=1e-13)


def test_a_ray_along_a_grid_row_crosses_exactly_that_row():
    spacing = (UPPER - LOWER) / SHAPE
    row, column = 4, 6
    y = LOWER[0] + (row + 0.5) * spacing[0]
    x = LOWER[1] + (column + 0.5) * spacing[1]
    segments = [[[y, LOWER[1] - 1], [y, UPPER[1] + 1]],       # along grid row 4
                [[UPPER[0] + 2, x], [LOWER[0] - 2, x]]]       # along grid column 6, reversed
    rows = ray_matrix_rows(segments, SHAPE, LOWER, UPPER, 0, 2).toarray()
    along_row, along_column = np.zeros(SHAPE), np.zeros(SHAPE)
    along_row[row, :] = spacing[1]
    along_column[:, column] = spacing[0]
    np.testing.assert_allclose(rows[0], along_row.ravel(), rtol=1e-13)
    np.testing.assert_allclose(rows[1], along_column.ravel(), rtol=1e-13)


def test_a_diagonal_through_cell_corners_crosses_only_the_diagonal_cells():
    n = 9
    rows = ray_matrix_rows([[[0.0, 0.0], [1.0, 1.0]]], (n, n), (0, 0), (1, 1), 0, 1)
    np.testing.assert_allclose(rows.toarray()[0], np.eye(n).ravel() * np.sqrt(2) / n,
                               rtol=1e-13)


@pytest.mark.mpi
def test_ray_operator_is_rank_independent_and_passes_the_adjoint_test():
    segments = _random_segments(57, 6)
    operator = ray_operator(COMM, segments, SHAPE, LOWER, UPPER)
    whole = ray_matrix_rows(segments, SHAPE, LOWER, UPPER, 0, len(segments))
    x = normal_slice(9, 0, 77)
    np.testing.assert_allclose(_applied(operator, x), whole @ x, rtol=1e-13, atol=1e-14)
    assert dot_test(operator, seed=1) < 1e-12


@pytest.mark.parametrize("segments,shape,lower,upper,message", [
    (np.zeros((3, 4)), (2, 2), (0, 0), (1, 1), "segments"),
    (np.zeros((3, 2, 2)), (2, 2, 2), (0, 0), (1, 1), "grid_shape"),
    (np.zeros((3, 2, 2)), (2, 2), (0, 1), (1, 1), "lower, upper"),
])
def test_ray_matrix_rows_checks_its_input(segments, shape, lower, upper, message):
    with pytest.raises(ValueError, match=message):
        ray_matrix_rows(segments, shape, lower, upper, 0, 1)


# ---------------------------------------------------------------- gravity

def _gravity_matrix(n, depth):
    """Regularization Tools' gravity.m, example 1, transcribed."""
    t = (np.arange(1, n + 1) - 0.5) / n
    T, S = np.meshgrid(t, t)
    matrix = depth / n / (depth ** 2 + (S - T) ** 2) ** 1.5
    return matrix, np.sin(np.pi * t) + 0.5 * np.sin(2 * np.pi * t)


@pytest.mark.mpi
def test_gravity_equals_the_dense_formula():
    problem = gravity(COMM, n=37, depth=0.3, noise_level=0.0)
    matrix, truth = _gravity_matrix(37, 0.3)
    x = normal_slice(3, 0, 37)
    np.testing.assert_allclose(_applied(problem.operator, x), matrix @ x, rtol=1e-13)
    np.testing.assert_allclose(gather(problem.truth), truth, rtol=1e-15)
    np.testing.assert_allclose(gather(problem.noise_free_data), matrix @ truth, rtol=1e-13)
    assert problem.noise_norm == 0 and problem.data.equal(problem.noise_free_data)
    assert dot_test(problem.operator, seed=2) < 1e-12
    assert problem.grid_shape == (37,) and problem.require(Regularization).operator.name == "identity"


@pytest.mark.mpi
@pytest.mark.parametrize("level", [0.05, 0.0])
def test_noise_has_the_requested_norm_on_any_number_of_ranks(level):
    problem = gravity(COMM, n=37, noise_level=level, seed=3, regularization="laplacian")
    matrix, truth = _gravity_matrix(37, 0.25)
    clean = matrix @ truth
    noise = normal_slice(3, 0, 37)
    expected = clean + level * np.linalg.norm(clean) / np.linalg.norm(noise) * noise
    data, noise_free = gather(problem.data), gather(problem.noise_free_data)
    np.testing.assert_allclose(data, expected, rtol=1e-12)           # a serial recomputation
    assert np.linalg.norm(data - noise_free) == pytest.approx(level * np.linalg.norm(noise_free),
                                                              rel=1e-12, abs=1e-15)
    assert problem.noise_norm == pytest.approx(level * np.linalg.norm(clean), rel=1e-12)
    assert problem.require(Regularization).operator.shape == (35, 37)


def test_add_relative_noise_refuses_a_negative_level():
    vec = PETSc.Vec().createMPI(5, comm=COMM)
    with pytest.raises(ValueError, match="level"):
        add_relative_noise(vec, -0.1, 0)


def test_gravity_singular_values_decay_fast_and_do_not_depend_on_n():
    values = {n: np.linalg.svd(gravity_rows(n, 0.25, 0, n), compute_uv=False) for n in (100, 200)}
    ratios = values[200] / values[200][0]
    # measured at n = 200: sigma_20 / sigma_1 = 5.5e-6, sigma_{k+1}/sigma_k about 0.52, 48
    # values above 1e-14 sigma_1, whatever n
    assert 1e-7 < ratios[19] < 1e-4
    assert 0.45 < np.exp(np.mean(np.log(ratios[1:30] / ratios[:29]))) < 0.6
    np.testing.assert_allclose(values[100][:10], values[200][:10], rtol=1e-2)
    assert abs(np.sum(ratios > 1e-14) - np.sum(values[100] / values[100][0] > 1e-14)) <= 2
    deeper = np.linalg.svd(gravity_rows(200, 0.5, 0, 200), compute_uv=False)
    assert deeper[9] / deeper[0] < ratios[9] / 10               # deeper mass, faster decay


# ---------------------------------------------------------------- tomography

def test_shepp_logan_values():
    points = {(0.0, 0.0): 0.2,          # brain (1 - 0.8)
              (0.0, 0.9): 1.0,          # skull only
              (0.0, 0.35): 0.3,         # the upper ellipse
              (0.22, 0.0): 0.0,         # inside the right dark ellipse
              (0.2973, 0.2378): 0.0,    # its tip, tilted by -18 degrees (0.2 if mirrored)
              (0.95, 0.95): 0.0}        # outside the head
    x, y = np.array(list(points)).T
    np.testing.assert_allclose(shepp_logan(x, y), list(points.values()), atol=1e-15)


@pytest.mark.mpi
def test_crosswell_rays_join_every_source_to_every_receiver():
    problem = crosswell(COMM, noise_level=0.0, regularization="laplacian2d")
    assert problem.grid_shape == (50, 50)
    depths = (np.arange(20) + 0.5) / 20
    lengths = np.hypot(1.0, depths[:, None] - depths[None, :]).ravel()   # all inside the box
    np.testing.assert_allclose(_applied(problem.operator, np.ones(2500)), lengths, rtol=1e-12)
    assert dot_test(problem.operator, seed=5) < 1e-12
    truth = gather(problem.truth).reshape(50, 50)
    assert truth.max() == pytest.approx(1.0, abs=0.02) and truth[0].max() < 0.02
    assert problem.require(Regularization).operator.shape == (2500, 2500)


@pytest.mark.mpi
def test_parallel_beam_chords_and_phantom_orientation():
    n = 20
    problem = parallel_beam(COMM, n=n, angles=[0, 45, 90, 135], noise_level=0.0)
    detectors = round(np.sqrt(2) * n)
    assert problem.operator.shape == (4 * detectors, n * n)
    offsets = (np.arange(detectors) - (detectors - 1) / 2) * 2 / n
    square = np.where(np.abs(offsets) <= 1, 2.0, 0.0)
    diagonal = np.maximum(0.0, 2 * np.sqrt(2) - 2 * np.abs(offsets))
    chords = np.concatenate([square, diagonal, square, diagonal])
    np.testing.assert_allclose(_applied(problem.operator, np.ones(n * n)), chords,
                               rtol=1e-12, atol=1e-13)
    assert dot_test(problem.operator, seed=6) < 1e-12
    truth = gather(problem.truth).reshape(n, n)        # cell centres -0.95 + 0.1 k
    assert truth[13, 10] == pytest.approx(0.3)         # y = +0.35: the upper ellipse
    assert truth[6, 10] == pytest.approx(0.2)          # y = -0.35: plain brain


@pytest.mark.mpi
def test_the_defaults_are_the_thesis_tomography_sizes():
    assert parallel_beam(COMM).operator.shape == (3258, 16384)     # 18 angles, 128 x 128
    assert crosswell(COMM).operator.shape == (400, 2500)          # 20 x 20 rays, 50 x 50


# ---------------------------------------------------------------- problem kinds

@pytest.mark.parametrize("kind,function", [("gravity", gravity), ("crosswell", crosswell),
                                           ("parallel-beam", parallel_beam)])
def test_kinds_and_driver_functions_share_their_defaults(kind, function):
    parameters = PROBLEMS.get(kind, "problem.kind").parameters
    defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                if name != "comm"}
    assert set(defaults) == set(parameters)
    for name, default in defaults.items():
        expected = parameters[name].default
        assert (list(default) if isinstance(default, tuple) else default) == expected, name


@pytest.mark.parametrize("kind,table", [
    ("gravity", {"n": 40, "regularization": "gradient2d"}),
    ("crosswell", {"n": 10, "regularization": "derivative"}),
    ("parallel-beam", {"n": 1, "regularization": "gradient2d"}),
])
def test_prepare_refuses_a_regularization_that_does_not_fit_the_grid(kind, table):
    problem_kind = PROBLEMS.get(kind, "problem.kind")
    values, problems = validate_table(table, problem_kind.parameters, "problem")
    assert not problems
    with pytest.raises(InputError) as error:
        problem_kind.prepare(values)
    assert [key for key, _ in error.value.problems] == ["problem.regularization"]


def test_schema_refuses_bad_values():
    parameters = PROBLEMS.get("parallel-beam", "problem.kind").parameters
    _, problems = validate_table({"angles": [], "detectors": 0, "regularization": "tv"},
                                 parameters, "problem")
    assert {key for key, _ in problems} == {"problem.angles", "problem.detectors",
                                            "problem.regularization"}


@pytest.mark.mpi
def test_a_kind_builds_the_problem_its_function_builds():
    kind = PROBLEMS.get("parallel-beam", "problem.kind")
    values, problems = validate_table({"n": 12, "angles": [0, 30], "noise_level": 0.1,
                                       "regularization": "gradient2d"}, kind.parameters, "problem")
    problem = kind.build(kind.prepare(values), COMM)
    direct = parallel_beam(COMM, n=12, angles=[0.0, 30.0], noise_level=0.1,
                           regularization="gradient2d")
    assert problem.data.equal(direct.data) and problem.noise_norm == direct.noise_norm
    assert problem.require(Regularization).operator.name == "gradient2d"
    assert problem.attributes == {"n": 12, "angles": [0.0, 30.0], "detectors": 17,
                                  "noise_level": 0.1, "seed": 0, "regularization": "gradient2d"}


@pytest.mark.parametrize("call,message", [
    (lambda: gravity(COMM, n=1), "gravity.n: must be >= 2"),
    (lambda: gravity(COMM, depth=-1.0), "gravity.depth"),
    (lambda: crosswell(COMM, n=8, regularization="laplacian"), "crosswell.regularization"),
    (lambda: parallel_beam(COMM, angles=[]), "parallel_beam.angles"),
])
def test_driver_functions_name_the_bad_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
