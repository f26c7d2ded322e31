"""Block Krylov MDD: the per-frequency block CG against least squares, the column baseline,
the initial deflation, rank-deficient systems; the distributed method on noise-free
synthetic data on 1 and 2 ranks, its Parseval residual, its stopping rules and kind."""
import numpy as np
import pytest

from hpcinv.core.errors import ArgumentError
from hpcinv.core.jobspec import SOLVERS
from hpcinv.core.memory import MemoryEstimate
from hpcinv.core.petsc_env import initialize
from hpcinv.core.problem import Problem
from hpcinv.operators import MultiDimensionalConvolution
from hpcinv.solvers.krylov import (BlockKrylovMDD, ColumnwiseCG, Deflation, FrequencyBlockCG,
                                   FrequencyBlockSystem)
from hpcinv.solvers.krylov.block_mdd import parseval_weights

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _complex(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _run_to_the_end(solver):
    while solver.step():
        pass
    return solver


# One frequency -----------------------------------------------------------------------------

def test_block_cg_reaches_the_least_squares_solution():
    rng = np.random.default_rng(0)
    matrix, data = _complex(rng, 14, 9), _complex(rng, 14, 4)
    solver = _run_to_the_end(FrequencyBlockCG(matrix, data, tolerance=1e-12))
    expected = np.linalg.lstsq(matrix, data, rcond=None)[0]
    # Blocks of 4 fill C^9 in 3 steps.
    assert solver.exhausted and solver.iterations == 3
    np.testing.assert_allclose(solver.solution, expected, rtol=0, atol=1e-12)
    assert solver.residual_norm == pytest.approx(np.linalg.norm(matrix @ expected - data),
                                                 rel=1e-12)


def test_one_block_step_solves_a_square_system_with_as_many_independent_columns():
    # The thesis' high frequencies: a full-rank block spans the whole space at once.
    rng = np.random.default_rng(1)
    matrix, data = _complex(rng, 7, 7), _complex(rng, 7, 7)
    solver = FrequencyBlockCG(matrix, data)
    assert solver.step() and solver.exhausted
    np.testing.assert_allclose(solver.solution, np.linalg.solve(matrix, data), rtol=0,
                               atol=1e-10)


def test_a_single_right_hand_side_block_equals_the_column_method():
    rng = np.random.default_rng(2)
    matrix, data = _complex(rng, 12, 8), _complex(rng, 12, 1)
    block = FrequencyBlockCG(matrix, data)
    column = ColumnwiseCG(matrix, data)
    for _ in range(5):
        assert block.step() == column.step()
        np.testing.assert_array_equal(block.solution, column.solution)
        assert block.residual_norm == column.residual_norm


def test_a_single_column_follows_cgls():
    # The column method is CG on the normal equations: its iterates are CGLS's.
    rng = np.random.default_rng(3)
    matrix, data = rng.standard_normal((15, 10)), rng.standard_normal(15)
    solver = FrequencyBlockCG(matrix, data[:, None])
    x, r = np.zeros(10), data.copy()
    p = s = matrix.T @ r
    gamma = s @ s
    for _ in range(4):
        q = matrix @ p
        alpha = gamma / (q @ q)
        x, r = x + alpha * p, r - alpha * q
        s = matrix.T @ r
        gamma, previous = s @ s, gamma
        p = s + gamma / previous * p
        solver.step()
        np.testing.assert_allclose(solver.solution[:, 0], x, rtol=1e-9, atol=1e-12)


def test_block_and_column_methods_agree_once_converged():
    rng = np.random.default_rng(4)
    matrix, data = _complex(rng, 20, 12), _complex(rng, 20, 6)
    block = _run_to_the_end(FrequencyBlockCG(matrix, data, tolerance=1e-12))
    column = _run_to_the_end(ColumnwiseCG(matrix, data, tolerance=1e-12))
    assert block.iterations < column.iterations
    np.testing.assert_allclose(block.solution, column.solution, rtol=0, atol=1e-10)


def test_block_iterates_fit_the_data_at_least_as_well_as_the_columns():
    # Each column of a block iterate minimises its residual over a space containing the
    # column method's Krylov space of that column.
    rng = np.random.default_rng(5)
    matrix, data = _complex(rng, 30, 25), _complex(rng, 30, 3)
    block, column = FrequencyBlockCG(matrix, data), ColumnwiseCG(matrix, data)
    for _ in range(3):
        block.step()
        column.step()
        for j, single in enumerate(column.columns):
            assert np.linalg.norm(matrix @ block.solution[:, j] - data[:, j]) <= \
                single.residual_norm * (1 + 1e-12)


def test_deflation_reconstructs_the_data_within_the_tolerance():
    rng = np.random.default_rng(6)
    data = _complex(rng, 10, 3) @ _complex(rng, 3, 8) + 1e-9 * _complex(rng, 10, 8)
    tolerance = 1e-6
    deflation = Deflation.of(data, tolerance)
    assert deflation.rank == 3
    r00 = np.linalg.norm(data[:, deflation.order[0]])
    error = np.linalg.norm(deflation.reconstruction() - data, 2)
    assert error <= tolerance * r00 * np.sqrt(data.shape[1])
    assert np.linalg.norm(Deflation.of(data, 1e-12).reconstruction() - data) <= 1e-12 * r00


def test_the_deflated_solution_solves_every_right_hand_side():
    # D of rank 2 with 6 columns: X = [X1, X1 R11^-1 R12] solves the full system.
    rng = np.random.default_rng(7)
    matrix = _complex(rng, 12, 8)
    truth = _complex(rng, 8, 2) @ _complex(rng, 2, 6)
    data = matrix @ truth
    solver = _run_to_the_end(FrequencyBlockCG(matrix, data, tolerance=1e-10))
    assert solver.rank == 2 and solver.basis.shape[1] == 8
    np.testing.assert_allclose(solver.solution, truth, rtol=0, atol=1e-10)
    pivots = solver.solution[:, solver.deflation.order[:solver.rank]]
    np.testing.assert_allclose(solver.deflation.expand(pivots), solver.solution, rtol=0,
                               atol=1e-12)


def test_a_rank_deficient_matrix_deflates_the_krylov_block_instead_of_dividing_by_zero():
    rng = np.random.default_rng(8)
    left, _ = np.linalg.qr(_complex(rng, 12, 12))
    right, _ = np.linalg.qr(_complex(rng, 8, 8))
    singular_values = np.array([3.0, 2.0, 1.0, 0, 0, 0, 0, 0])
    matrix = left[:, :8] @ np.diag(singular_values) @ right.conj().T
    data = _complex(rng, 12, 5)
    solver = _run_to_the_end(FrequencyBlockCG(matrix, data, tolerance=1e-8))
    assert np.all(np.isfinite(solver.solution))
    # The Krylov space is range(A^H), 3-dimensional, and the iterate the minimum-norm
    # least-squares solution.
    assert solver.exhausted and solver.basis.shape[1] == 3
    np.testing.assert_allclose(solver.solution, np.linalg.lstsq(matrix, data, rcond=1e-10)[0],
                               rtol=0, atol=1e-12)


def test_data_orthogonal_to_the_range_leaves_the_start_unchanged():
    matrix = np.zeros((6, 4))
    matrix[:4, :4] = np.eye(4)
    data = np.zeros((6, 2))
    data[4:, :] = [[1.0, 2.0], [3.0, 4.0]]
    solver = FrequencyBlockCG(matrix, data)
    assert not solver.step() and solver.exhausted
    np.testing.assert_array_equal(solver.solution, 0.0)
    assert solver.residual_norm == pytest.approx(np.linalg.norm(data))


def test_zero_data_is_solved_without_a_step():
    solver = FrequencyBlockCG(np.eye(3), np.zeros((3, 2)))
    assert solver.rank == 0 and solver.exhausted and not solver.step()


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="deflation_tolerance"):
        FrequencyBlockCG(np.eye(3), np.ones((3, 1)), tolerance=1.0)


def test_parseval_weights_sum_to_the_time_domain_norm():
    rng = np.random.default_rng(9)
    for n_t in (16, 15):
        signal = rng.standard_normal(n_t)
        spectrum = np.fft.rfft(signal)
        weights = parseval_weights(np.arange(spectrum.size), n_t)
        assert np.sum(weights * np.abs(spectrum) ** 2) == pytest.approx(signal @ signal,
                                                                         rel=1e-13)


# Distributed ----------------------------------------------------------------------------------

SIZES = dict(n_t=16, n_r=3, n_v=4, n_s=6)


def _mdd(comm, *, seed=10, max_frequency=None, noise=0.0):
    """(operator, g, p) with random q (n_s >= n_v: full-rank Q_f) and g, p = MDC(g) (+
    noise of that relative size)."""
    rng = np.random.default_rng(seed)
    n_t, n_r, n_v, n_s = (SIZES[k] for k in ("n_t", "n_r", "n_v", "n_s"))
    q = rng.standard_normal((n_t, n_v, n_s))
    g = rng.standard_normal((n_t, n_r, n_v))
    operator = MultiDimensionalConvolution.from_array(comm, q, n_r=n_r, dt=0.004, dr=20.0,
                                                      max_frequency=max_frequency)
    x = operator.domain_transform.vec_from_array(g)
    p = operator.range_transform.create_vec()
    operator.mult(x, p)
    noise_blocks = None
    if noise:
        e = operator.range_transform.vec_from_array(rng.standard_normal((n_t, n_r, n_s)))
        e.scale(noise * p.norm() / e.norm())
        noise_blocks = np.linalg.norm(operator.range_transform.to_frequency(e), axis=(1, 2))
        p.axpy(1.0, e)
    return operator, x, p, noise_blocks


def _true_residual(operator, g, p) -> float:
    r = p.duplicate()
    operator.mult(g, r)
    r.aypx(-1.0, p)
    return r.norm()


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["block", "column"])
def test_noise_free_data_recover_g(method):
    operator, truth, p, _ = _mdd(COMM)
    solver = BlockKrylovMDD(FrequencyBlockSystem(operator), p, method=method, iterations=10,
                            deflation_tolerance=1e-12)
    result = solver.run(truth=truth)
    assert result.reason == "block_iterations"
    assert result.history["relative_error"][-1] <= 1e-10
    assert result.history["residual_norm"][-1] <= 1e-12 * p.norm()
    # Blocks of n_r = 3 columns span C^4 in 2 steps; single columns need 4.
    expected_steps = 2 if method == "block" else 4
    assert result.attributes["frequency_iterations"] == [expected_steps] * 9
    assert result.attributes["deflated_rank"] == [3] * 9
    assert list(result.history["active_frequencies"]) == \
        [9] * (result.iterations) + [0]


@pytest.mark.mpi
@pytest.mark.parametrize("max_frequency", [None, 60.0])
def test_the_parseval_residual_is_the_time_domain_residual(max_frequency):
    operator, _, p, _ = _mdd(COMM, seed=11, max_frequency=max_frequency)
    if max_frequency is not None:
        # Data beyond the kept bins, which no g fits.
        p.axpy(0.1, operator.range_transform.vec_from_array(
            np.random.default_rng(12).standard_normal((16, 3, 6))))
    solver = BlockKrylovMDD(FrequencyBlockSystem(operator), p, iterations=3)
    state = solver.initial_state()
    assert state.scalars["residual_norm"] == pytest.approx(p.norm(), rel=1e-12)
    for _ in range(3):
        residual = solver.step(state)
        assert residual == pytest.approx(
            _true_residual(operator, solver.solution(state), p), rel=1e-10)


@pytest.mark.mpi
@pytest.mark.parametrize("method", ["block", "column"])
def test_one_and_several_ranks_agree(method):
    results = []
    for comm in (PETSc.COMM_SELF, COMM):
        operator, _, p, _ = _mdd(comm, seed=13)
        solver = BlockKrylovMDD(FrequencyBlockSystem(operator), p, method=method, iterations=2)
        result = solver.run()
        results.append((operator.domain_transform.gather_array(result.x), result))
    (serial, first), (parallel, second) = results
    np.testing.assert_allclose(parallel, serial, rtol=0, atol=1e-12 * np.abs(serial).max())
    np.testing.assert_allclose(second.history["residual_norm"], first.history["residual_norm"],
                               rtol=1e-12)
    for name in ("frequencies", "deflated_rank", "frequency_iterations"):
        assert first.attributes[name] == second.attributes[name]
    np.testing.assert_allclose(second.attributes["frequency_residual"],
                               first.attributes["frequency_residual"], rtol=1e-12)


@pytest.mark.mpi
def test_one_block_step_is_the_default_and_stops_every_frequency():
    operator, truth, p, _ = _mdd(COMM, seed=14)
    result = BlockKrylovMDD(FrequencyBlockSystem(operator), p).run(truth=truth)
    assert result.iterations == 1 and result.reason == "block_iterations"
    assert result.history["residual_norm"][1] < result.history["residual_norm"][0]


@pytest.mark.mpi
def test_the_frequency_discrepancy_stops_each_frequency_on_its_own():
    operator, _, p, noise = _mdd(COMM, seed=15, noise=0.05)
    tau = 1.5
    system = FrequencyBlockSystem(operator, frequency_noise=noise)
    solver = BlockKrylovMDD(system, p, method="column", frequency_discrepancy=True, tau=tau,
                            max_iterations=50)
    result = solver.run()
    assert result.reason == "discrepancy"
    attributes = result.attributes
    noise_all = operator.range_transform.frequency_layout.gather(noise)
    residuals = np.array(attributes["frequency_residual"])
    assert np.all(residuals <= tau * noise_all)
    steps = np.array(attributes["frequency_iterations"])
    assert steps.min() >= 1 and steps.min() < steps.max()
    # Each frequency stopped at its first step meeting the rule: one step fewer missed it.
    latest = int(np.argmax(steps))
    fewer = BlockKrylovMDD(system, p, method="column", iterations=int(steps[latest]) - 1)
    assert fewer.run().attributes["frequency_residual"][latest] > tau * noise_all[latest]


@pytest.mark.mpi
def test_a_resumed_run_restarts_from_the_saved_g():
    operator, truth, p, _ = _mdd(COMM, seed=16)
    system = FrequencyBlockSystem(operator)
    solver = BlockKrylovMDD(system, p, method="column", iterations=4)
    assert not solver.exact_resume
    state = solver.initial_state()
    solver.step(state)
    saved = BlockKrylovMDD(system, p, method="column", iterations=4).initial_state()
    for name, vec in state.vectors.items():
        vec.copy(saved.vectors[name])
    saved.iteration, saved.scalars = state.iteration, dict(state.scalars)
    resumed = BlockKrylovMDD(system, p, method="column", iterations=4)
    residual = resumed.step(saved)
    # Restarting the Krylov space from g1 loses the earlier directions, but still improves it.
    assert residual < state.scalars["residual_norm"]
    assert residual == pytest.approx(_true_residual(operator, resumed.solution(saved), p),
                                     rel=1e-10)
    assert saved.vectors["frequency_iterations"].getArray().tolist() == \
        [2.0] * operator.domain_transform.frequency_layout.local_size


@pytest.mark.mpi
def test_bad_arguments_of_the_method():
    operator, _, p, _ = _mdd(COMM)
    system = FrequencyBlockSystem(operator)
    with pytest.raises(ArgumentError, match="method"):
        BlockKrylovMDD(system, p, method="gmres")
    with pytest.raises(ArgumentError, match="iterations"):
        BlockKrylovMDD(system, p, iterations=0)
    with pytest.raises(ArgumentError, match="frequency_discrepancy"):
        BlockKrylovMDD(system, p, frequency_discrepancy=True)
    with pytest.raises(ArgumentError, match="frequency_noise"):
        BlockKrylovMDD(FrequencyBlockSystem(operator, np.ones(99)), p,
                       frequency_discrepancy=True)


@pytest.mark.mpi
def test_the_kind_builds_the_method_from_a_problem_with_frequency_blocks():
    operator, truth, p, _ = _mdd(COMM, seed=17)
    problem = Problem(operator=operator, data=p, noise_norm=0.0, truth=truth,
                      capabilities=(FrequencyBlockSystem(operator),))
    kind = SOLVERS.get("block-krylov", "solver.kind")
    values = {"method": "column", "iterations": 3, "deflation_tolerance": 1e-8,
              "frequency_discrepancy": False, "tau": 1.02, "max_iterations": 100,
              "wall_time": 0.0}
    solver = kind.build(problem, values)
    assert (solver.method, solver.iterations, solver.deflation_tolerance) == \
        ("column", 3, 1e-8)
    assert kind.requirements(values) == {FrequencyBlockSystem: "solver.kind"}
    shape = MemoryEstimate(rows=p.getSize(), columns=truth.getSize())
    more = kind.memory_estimate({**values, "iterations": 30}, shape)
    assert more.total_bytes > kind.memory_estimate(values, shape).total_bytes
