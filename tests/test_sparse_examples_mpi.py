"""Luiken's ch. 6.1.1 examples as problem kinds, on 1 and 2 ranks: the matrices are the
printed kernels, the truths have the stated structure, one seed is one problem on any
number of ranks, and SR3 / FISTA solve them through a job."""
import numpy as np
import pytest

import hpcinv
from hpcinv.apps.classic.sparse_examples import (compressed_sensing, spiky_deconvolution,
                                                 tv_deblurring)
from hpcinv.core.io.results import read_solution
from hpcinv.core.petsc_env import initialize
from helpers import gather, hpcinv as hpcinv_command, write_job

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _dense(problem) -> np.ndarray:
    n = problem.operator.shape[1]
    columns = []
    for j in range(n):
        x, y = problem.operator.create_vecs()
        start, stop = x.getOwnershipRange()
        x.zeroEntries()
        if start <= j < stop:
            x.getArray()[j - start] = 1.0
        problem.operator.mult(x, y)
        columns.append(gather(y))
    return np.column_stack(columns)


@pytest.mark.mpi
def test_spiky_deconvolution_is_the_ricker_toeplitz_with_a_spike_train():
    problem = spiky_deconvolution(COMM, n=41, sigma=0.05, spikes=4, noise_level=0.0, seed=3)
    t = np.arange(1, 42) / 41
    d = (t[:, None] - t[None, :]) / 0.05
    np.testing.assert_allclose(_dense(problem), (1 - d ** 2) * np.exp(-d ** 2), rtol=1e-14)
    truth = gather(problem.truth)
    assert np.count_nonzero(truth) == 4
    assert np.all((np.abs(truth[truth != 0]) >= 0.5) & (np.abs(truth[truth != 0]) <= 1.5))


@pytest.mark.mpi
def test_compressed_sensing_is_gaussian_and_seeded_alike_on_any_ranks():
    problem = compressed_sensing(COMM, n=101, m=20, spikes=5, noise_level=0.0, seed=7)
    alone = compressed_sensing(PETSc.COMM_SELF, n=101, m=20, spikes=5, noise_level=0.0, seed=7)
    matrix = _dense(problem)
    assert matrix.shape == (20, 101) and abs(matrix.mean()) < 0.1 and 0.9 < matrix.std() < 1.1
    np.testing.assert_array_equal(gather(problem.truth), alone.truth.getArray())
    # A x summed in another order on 2 ranks (PETSc's diagonal and off-diagonal blocks).
    np.testing.assert_allclose(gather(problem.data), alone.data.getArray(), rtol=1e-12,
                               atol=1e-12 * np.abs(alone.data.getArray()).max())
    other = compressed_sensing(PETSc.COMM_SELF, n=101, m=20, spikes=5, noise_level=0.0,
                               seed=8)
    assert not np.array_equal(other.truth.getArray(), alone.truth.getArray())


@pytest.mark.mpi
def test_tv_deblurring_has_steps_and_first_differences():
    problem = tv_deblurring(COMM, n=60, sigma=0.05, steps=3, noise_level=0.0, seed=1)
    t = np.arange(1, 61) / 60
    np.testing.assert_allclose(_dense(problem),
                               np.exp(-((t[:, None] - t[None, :]) / 0.05) ** 2), rtol=1e-14)
    assert np.count_nonzero(np.diff(gather(problem.truth))) == 3


@pytest.mark.mpi
def test_sr3_recovers_the_spikes_and_fista_agrees(mpi_tmp_path):
    """Noise-free compressed sensing with the oracle radius: l1 recovery of a 5-sparse
    signal from 40 Gaussian measurements."""
    solutions = {}
    for solver in ("sr3-inexact", "fista"):
        path = mpi_tmp_path / f"{solver}.h5"
        outcome = hpcinv.run(
            '[problem]\nkind = "compressed-sensing"\nm = 40\nnoise_level = 0.0\nseed = 2\n'
            f'[solver]\nkind = "{solver}"\ntolerance = 1e-10\nmax_iterations = 20000\n'
            f'[output]\npath = "{path}"\n', quiet=True)
        assert outcome.stop_reason == "converged"
        COMM.tompi4py().Barrier()
        solutions[solver] = read_solution(path)
    truth = compressed_sensing(PETSc.COMM_SELF, m=40, noise_level=0.0, seed=2).truth.getArray()
    for solution in solutions.values():
        assert np.linalg.norm(solution - truth) <= 1e-3 * np.linalg.norm(truth)


def test_too_many_spikes_or_steps_are_named(tmp_path):
    for kind, key in (("compressed-sensing", "spikes"), ("tv-deblurring", "steps")):
        job = write_job(tmp_path, "job.toml", f'[problem]\nkind = "{kind}"\nn = 5\n{key} = 9\n'
                                              '[solver]\nkind = "admm"\nradius = 1.0\n')
        completed = hpcinv_command(["validate", job])
        assert completed.returncode == 2 and f"problem.{key}" in completed.stderr
