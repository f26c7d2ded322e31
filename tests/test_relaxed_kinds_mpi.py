"""The relaxed-regularization job kinds (sr3-inexact, sr3-exact, fista, admm) through a job
spec, on 1 and 2 ranks: the same iterates as the Python classes with the same values, the
oracle radius ||L x_true||_1, and bad jobs refused naming the key."""
import numpy as np
import pytest

import hpcinv
from hpcinv.core.io.results import read_solution, read_summary
from hpcinv.core.petsc_env import initialize
from hpcinv.apps.classic import gravity
from hpcinv.solvers.framework.capabilities import Regularization
from hpcinv.solvers.relaxed import ADMM, SR3, ProximalGradient
from hpcinv.solvers.relaxed.prox import L1Ball
from helpers import gather, hpcinv as hpcinv_command, write_job

PETSc = initialize()
COMM = PETSc.COMM_WORLD

PROBLEM = ('[problem]\nkind = "gravity"\nn = 64\nnoise_level = 0.0\n'
           'regularization = "{regularization}"\n')
# name: (the problem's regularization, the [solver] keys, max_iterations)
CASES = {
    "sr3-inexact": ("derivative", 'kind = "sr3-inexact"\nkappa = 0.5\n', 60),
    "sr3-exact": ("derivative", 'kind = "sr3-exact"\nkappa = 0.5\n', 40),
    "admm": ("derivative", 'kind = "admm"\nrho = 0.5\n', 40),
    "fista": ("identity", 'kind = "fista"\n', 300),
}


def _python(name: str):
    """(problem, result) of the class the kind builds, with the job's values."""
    regularization, _, iterations = CASES[name]
    problem = gravity(COMM, n=64, noise_level=0.0, regularization=regularization)
    L = problem.capability(Regularization).operator
    image = L.create_vecs()[1]
    L.mult(problem.truth, image)
    ball = L1Ball(image.norm(PETSc.NormType.NORM_1))
    if name.startswith("sr3"):
        method = SR3(problem.operator, problem.data, L, ball, kappa=0.5,
                     inexact=name == "sr3-inexact", max_iterations=iterations)
    elif name == "admm":
        method = ADMM(problem.operator, problem.data, L, ball, rho=0.5,
                      max_iterations=iterations)
    else:
        method = ProximalGradient(problem.operator, problem.data, ball,
                                  max_iterations=iterations)
    return problem, method.run(truth=problem.truth)


@pytest.mark.mpi
@pytest.mark.parametrize("name", list(CASES))
def test_job_route_equals_the_python_route(name, mpi_tmp_path):
    regularization, solver, iterations = CASES[name]
    path = mpi_tmp_path / f"{name}.h5"
    job = (PROBLEM.format(regularization=regularization) + "[solver]\n" + solver
           + f"max_iterations = {iterations}\n" + f'[output]\npath = "{path}"\n')
    outcome = hpcinv.run(job, quiet=True)
    problem, result = _python(name)
    COMM.tompi4py().Barrier()
    assert outcome.stop_reason == result.reason and outcome.iterations == result.iterations
    assert result.iterations > 1
    assert np.array_equal(read_solution(path), gather(result.x))
    summary = read_summary(path)
    assert np.array_equal(summary["history"]["residual_norm"], result.history["residual_norm"])
    if name != "fista":
        assert np.array_equal(summary["history"]["total_inner_iterations"],
                              result.history["total_inner_iterations"])
    # Noise-free data and the oracle radius: the iterates approach the truth.
    errors = result.history["relative_error"]
    assert errors[-1] < 0.5 * errors[1]


BAD = {
    "fista with L = D": ("derivative", 'kind = "fista"', "solver.kind", "needs L = I"),
    "penalized without lambda": ("derivative", 'kind = "sr3-inexact"\nform = "penalized"',
                                 "solver.lambda", "lambda > 0"),
    "a radius in penalized form": ("derivative", 'kind = "admm"\nform = "penalized"\n'
                                   'lambda = 1.0\nradius = 2.0', "solver.radius",
                                   "only used when solver.form is 'constrained'"),
    "a KSP option": ("derivative", 'kind = "sr3-exact"\n[petsc]\nksp_monitor = true',
                     "petsc.ksp_monitor", "no ksp_* or tao_* option"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_relaxed_jobs_are_refused_naming_the_key(case, tmp_path):
    """fista's L = I is checked when the problem is built (the problem kind names L), the
    rest at validation; either way exit 2 and no result."""
    regularization, solver, key, phrase = BAD[case]
    job = write_job(tmp_path, "job.toml", PROBLEM.format(regularization=regularization)
                    + "[solver]\n" + solver + "\n")
    completed = hpcinv_command(["run", job, "--output", tmp_path / "out.h5", "--quiet"])
    error = completed.stderr
    assert completed.returncode == 2 and key in error and phrase in error, error
    assert "Traceback" not in error and not (tmp_path / "out.h5").exists()
