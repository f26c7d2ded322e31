"""The algorithm layer from Python, with keyword arguments only (no TOML), against the job-spec
route (``hpcinv.run`` writing a result file) on 1 and 2 ranks: CGLS, LSQR, augmented steepest
descent with a recycle space, and PNKR give the same iterates either way."""
import numpy as np
import pytest

import hpcinv
from hpcinv.core.io.results import read_solution, read_summary
from hpcinv.core.petsc_env import initialize
from hpcinv.apps.classic import gravity
from hpcinv.apps.galaxy import galaxy_problem
from hpcinv.apps.imaging import gaussian_blur_problem
from hpcinv.solvers import CGLS, LSQR, PNKR, AugmentedSteepestDescent, RecycleSpace
from hpcinv.solvers.recycling.builders import sd_iterates
from hpcinv.solvers.recycling.capabilities import AuxiliaryOperators
from helpers import gather

PETSc = initialize()
COMM = PETSc.COMM_WORLD


def _gravity():
    return gravity(COMM, n=80, noise_level=0.01, seed=2)


def _blur_python():
    problem = gaussian_blur_problem(COMM, n=32, sigma=2.0, noise_level=0.02)
    vectors = sd_iterates(problem.require(AuxiliaryOperators).operators,
                          problem.noise_free_data, 2)
    space = RecycleSpace(problem.operator, vectors, drop_tolerance=1e-3)
    method = AugmentedSteepestDescent(problem.operator, problem.data, space, tau=1.02,
                                      noise_norm=problem.noise_norm, max_iterations=300)
    return problem, method


def _pnkr_python():
    problem = galaxy_problem(COMM, mesh="tiny", order=1, beta=0.01, noise_level=0.01, seed=0)
    method = PNKR(problem.operator, problem.data, problem.block_rows, tau=2.2,
                  step="projection", omega=1.0, nesterov=False, max_iterations=15, seed=3,
                  truth=problem.truth)
    return problem, method


CASES = {
    "cgls": (lambda: (lambda p: (p, CGLS(p.operator, p.data, tau=1.02, noise_norm=p.noise_norm,
                                         max_iterations=200)))(_gravity()),
             '[problem]\nkind = "gravity"\nn = 80\nnoise_level = 0.01\nseed = 2\n'
             '[solver]\nkind = "cgls"\nmax_iterations = 200\n'),
    "lsqr": (lambda: (lambda p: (p, LSQR(p.operator, p.data, tau=1.02, noise_norm=p.noise_norm,
                                         max_iterations=200)))(_gravity()),
             '[problem]\nkind = "gravity"\nn = 80\nnoise_level = 0.01\nseed = 2\n'
             '[solver]\nkind = "lsqr"\nmax_iterations = 200\n'),
    "augmented-sd": (_blur_python,
                     '[problem]\nkind = "gaussian-blur"\nn = 32\nsigma = 2.0\n'
                     'noise_level = 0.02\n[solver]\nkind = "augmented-sd"\n'
                     'recycle = "sd-iterates"\nrecycle_data = "clean"\n'
                     'recycle_iterations = 2\ndrop_tolerance = 1e-3\nmax_iterations = 300\n'),
    "pnkr": (_pnkr_python,
             '[problem]\nkind = "galaxy"\nmesh = "meshes/galaxy/tiny.toml"\norder = 1\n'
             'beta = 0.01\nnoise_level = 0.01\nseed = 0\n[solver]\nkind = "pnkr"\ntau = 2.2\n'
             'step = "projection"\nomega = 1.0\nnesterov = false\nmax_iterations = 15\n'
             'seed = 3\n'),
}


@pytest.mark.mpi
@pytest.mark.parametrize("name", list(CASES))
def test_python_keyword_route_equals_the_job_route(name, mpi_tmp_path):
    make, job = CASES[name]
    problem, method = make()
    result = method.run(truth=problem.truth)
    path = mpi_tmp_path / f"{name}.h5"
    outcome = hpcinv.run(job + f'[output]\npath = "{path}"\n', quiet=True)
    COMM.tompi4py().Barrier()
    summary = read_summary(path)
    assert outcome.stop_reason == result.reason and outcome.iterations == result.iterations
    assert result.iterations > 1
    assert np.array_equal(read_solution(path), gather(result.x))
    for column in ("residual_norm", "relative_error", "discrepancy_target"):
        assert np.array_equal(summary["history"][column], result.history[column]), column
    assert summary["solver_results"] == {key: value for key, value
                                         in result.attributes.items()}


@pytest.mark.mpi
def test_a_run_continues_from_a_saved_state_exactly():
    problem = _gravity()
    whole = CGLS(problem.operator, problem.data, max_iterations=12).run()
    method = CGLS(problem.operator, problem.data, max_iterations=5)
    first = method.initial_state()
    method.run(state=first)
    method.max_iterations = 12
    resumed = method.run(state=first)
    assert resumed.iterations == 12
    assert np.array_equal(gather(resumed.x), gather(whole.x))
    assert np.array_equal(resumed.history["residual_norm"], whole.history["residual_norm"])


def test_bad_keyword_arguments_name_the_argument():
    problem = _gravity()
    with pytest.raises(ValueError, match="tau"):
        CGLS(problem.operator, problem.data, tau=0.5)
    with pytest.raises(ValueError, match="max_iterations"):
        LSQR(problem.operator, problem.data, max_iterations=-1)
    blur = gaussian_blur_problem(COMM, n=16, sigma=1.0)
    with pytest.raises(ValueError, match="data"):
        CGLS(problem.operator, blur.data)
