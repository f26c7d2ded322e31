"""The gravity kind's three truths are Regularization Tools' examples 1-3 (gravity.m), on
1 and 2 ranks, built from a job as from Python."""
import numpy as np
import pytest

from hpcinv.apps.classic import gravity
from hpcinv.core.petsc_env import initialize
from helpers import build_job, gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _expected(n: int, example: str) -> np.ndarray:
    """The examples written out point by point, 1-based as in gravity.m."""
    third, late = round(n / 3), round(7 * n / 8)
    values = []
    for i in range(1, n + 1):
        t = (i - 0.5) / n
        if example == "smooth":
            values.append(np.sin(np.pi * t) + 0.5 * np.sin(2 * np.pi * t))
        elif example == "piecewise-constant":
            values.append(2.0 if i <= third else 1.0)
        elif i <= third:
            values.append(2.0 * i / third)
        elif i <= late:
            values.append(((2 * late - third) - i) / (late - third))
        else:
            values.append((n - i) / (n - late))
    return np.array(values)


@pytest.mark.mpi
@pytest.mark.parametrize("example", ["smooth", "piecewise-linear", "piecewise-constant"])
def test_truths_are_the_regularization_tools_examples(example):
    n = 24
    problem = gravity(COMM, n=n, noise_level=0.0, truth=example)
    np.testing.assert_allclose(gather(problem.truth), _expected(n, example), rtol=1e-15)
    job = build_job(COMM, f'[problem]\nkind = "gravity"\nn = {n}\nnoise_level = 0.0\n'
                          f'truth = "{example}"\n[solver]\nkind = "cgls"\n')[1]
    assert np.array_equal(gather(job.truth), gather(problem.truth))


def test_piecewise_constant_has_one_unit_jump():
    """||D x||_1 = 1: the oracle radius of Luiken's TV experiment on gravity."""
    assert np.abs(np.diff(_expected(512, "piecewise-constant"))).sum() == 1.0


def test_an_unknown_truth_is_named():
    with pytest.raises(ValueError, match="truth"):
        gravity(PETSc.COMM_SELF, n=8, truth="wavy")
