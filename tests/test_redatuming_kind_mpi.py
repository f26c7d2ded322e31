"""The ``redatuming`` solver kind on the mdd problem: each formulation from a job on 1 and 2
ranks (the same iterates), constrained solutions (causal and reciprocal), onsets from a
velocity or a file, and bad keys refused at validation naming the key."""
import h5py
import numpy as np
import pytest

from hpcinv.apps.seismic.arrays import write_hdf5
from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import parse_spec
from hpcinv.core.petsc_env import initialize
from hpcinv.operators.wavefield_constraints import direct_arrival_onsets
from helpers import ROOT, build_job, gather, hpcinv, write_job

PETSc = initialize()
TINY = str(ROOT / "meshes/seismic/tiny.toml")


def _job(solver_keys: str = "", problem_keys: str = "", formulation: str = "preconditioned",
         iterations: int = 6) -> str:
    return f"""
[problem]
kind = "mdd"
data = "layered"
mesh = "{TINY}"
noise_level = 0.02
max_frequency = 45.0
{problem_keys}

[solver]
kind = "redatuming"
formulation = "{formulation}"
velocity = 1800.0
onset_margin = 0.02
stop = "iterations"
max_iterations = {iterations}
{solver_keys}
"""


def _solve(comm, text: str):
    _, problem, solver = build_job(comm, text)
    result = solver.run(truth=problem.truth)
    return problem, result


@pytest.mark.mpi
@pytest.mark.parametrize("formulation", ["preconditioned", "penalty", "kkt"])
def test_each_formulation_gives_the_same_iterates_on_any_number_of_ranks(formulation):
    text = _job(formulation=formulation, solver_keys="lam = 1e-4")
    _, distributed = _solve(PETSc.COMM_WORLD, text)
    _, serial = _solve(PETSc.COMM_SELF, text)
    assert distributed.iterations == serial.iterations == 6
    np.testing.assert_allclose(gather(distributed.x), serial.x.getArray(), rtol=0,
                               atol=1e-10 * np.abs(serial.x.getArray()).max())
    np.testing.assert_allclose(distributed.history["relative_error"],
                               serial.history["relative_error"], rtol=1e-9)


def _gathered_g(problem, vec) -> np.ndarray:
    return problem.operator.domain_transform.gather_array(vec)


@pytest.mark.mpi
@pytest.mark.parametrize("formulation, tolerance", [("preconditioned", 1e-12), ("kkt", 1e-5)])
def test_exact_formulations_return_a_causal_reciprocal_g(formulation, tolerance):
    """g = P g~ holds the constraints to rounding; the KKT iterate holds L g = 0 only as
    MINRES converges (40 steps here)."""
    problem, result = _solve(PETSc.COMM_WORLD, _job(formulation=formulation, iterations=40))
    g = _gathered_g(problem, result.x)
    scale = np.abs(g).max()
    np.testing.assert_allclose(g, g.transpose(0, 2, 1), rtol=0, atol=tolerance * scale)
    operator = problem.operator
    onsets = direct_arrival_onsets(operator.domain_transform.n_a, operator.dr, operator.dt,
                                   1800.0, margin=0.02)
    early = np.arange(g.shape[0])[:, None, None] < onsets[None]
    assert early.any()
    assert np.abs(g[early]).max() <= tolerance * scale


@pytest.mark.mpi
def test_the_penalty_approaches_the_constraints_as_rho_grows():
    asymmetry = []
    for rho in (1.0, 1e4):
        problem, result = _solve(PETSc.COMM_WORLD, _job(formulation="penalty", iterations=30,
                                                        solver_keys=f"rho = {rho}"))
        g = _gathered_g(problem, result.x)
        asymmetry.append(np.linalg.norm(g - g.transpose(0, 2, 1)) / np.linalg.norm(g))
    assert asymmetry[1] < 0.1 * asymmetry[0]


@pytest.mark.mpi
def test_onsets_from_a_file_equal_those_from_the_velocity(tmp_path):
    text = _job()
    problem, from_velocity = _solve(PETSc.COMM_WORLD, text)
    operator = problem.operator
    receivers = np.arange(operator.domain_transform.n_a) * operator.dr
    seconds = np.abs(receivers[:, None] - receivers[None, :]) / 1800.0
    mpi = PETSc.COMM_WORLD.tompi4py()
    path = mpi.bcast(str(tmp_path / "onsets.h5"))     # each rank has its own tmp_path
    if mpi.rank == 0:
        with h5py.File(path, "w") as handle:
            handle["times"] = seconds
    mpi.Barrier()
    file_text = text.replace("velocity = 1800.0", f'onsets = "{path}"\n'
                                                  f'onsets_dataset = "times"')
    _, from_file = _solve(PETSc.COMM_WORLD, file_text)
    np.testing.assert_array_equal(gather(from_file.x), gather(from_velocity.x))


@pytest.mark.parametrize("solver_keys, problem_keys, key", [
    ("velocity = 0.0", "", "solver.velocity"),                      # causality, no onsets
    ('constraints = "reciprocity"', "", "solver.velocity"),         # velocity unused
    ("rho = 10.0", "", "solver.rho"),                               # rho, not penalty
    ('formulation = "nonsense"', "", "solver.formulation"),
    ("lam = -1.0", "", "solver.lam"),
    (f'onsets = "{TINY}"', "", "solver.onsets"),                 # and velocity: both
    ('formulation = "kkt"\nonset_taper = 0.02', "", "solver.onset_taper"),
])
def test_bad_keys_are_refused_naming_the_key(solver_keys, problem_keys, key):
    text = _job(solver_keys, problem_keys)
    for line in solver_keys.splitlines():
        name = line.split("=")[0].strip()
        text = "\n".join(row for row in text.splitlines()
                         if not (row.startswith(name + " ") and row != line)) + "\n"
    with pytest.raises(InputError) as error:
        parse_spec(text)
    assert key in str(error.value)


def test_bad_onset_files_exit_2_naming_the_key(tmp_path):
    path = tmp_path / "onsets.h5"
    with h5py.File(path, "w") as handle:
        handle["onsets"] = np.array([[0.0, 0.1], [0.2, 0.0]])   # wrong shape, not symmetric
    text = _job().replace("velocity = 1800.0", f'onsets = "{path}"')
    job = write_job(tmp_path, "job.toml", text + f'\n[output]\npath = "{tmp_path}/r.h5"\n')
    completed = hpcinv(["run", str(job), "--quiet"])
    assert completed.returncode == 2, completed.stderr
    assert "solver.onsets" in completed.stderr
    assert not (tmp_path / "r.h5").exists()


def _run_file_job(tmp_path, downgoing, upgoing):
    """``hpcinv run`` of a reciprocity-only redatuming job on wavefield files."""
    text = f"""
[problem]
kind = "mdd"
data = "file"
downgoing = "{downgoing}"
upgoing = "{upgoing}"

[solver]
kind = "redatuming"
constraints = "reciprocity"

[output]
path = "{tmp_path}/r.h5"
"""
    return hpcinv(["run", str(write_job(tmp_path, "job.toml", text)), "--quiet"])


def test_virtual_sources_away_from_the_receivers_exit_2(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "fields.h5"
    write_hdf5(str(path), {"q": rng.standard_normal((16, 3, 4)),
                           "p": rng.standard_normal((16, 5, 4))}, dt=0.004, dr=10.0)
    completed = _run_file_job(tmp_path, path, path)
    assert completed.returncode == 2, completed.stderr
    assert "solver.kind" in completed.stderr and "virtual sources" in completed.stderr


def test_virtual_sources_shifted_from_the_receivers_exit_2(tmp_path):
    """Same counts and spacing, but q's receivers (the virtual sources) start 5 m off p's:
    the onsets and the reciprocal pairing would refer to different points."""
    from hpcinv.apps.seismic.segy import write_segy

    rng = np.random.default_rng(1)
    receivers, sources = np.arange(4) * 10.0, np.arange(3) * 10.0
    write_segy(str(tmp_path / "q.sgy"), rng.standard_normal((16, 4, 3)), 0.004,
               receivers + 5.0, sources)
    write_segy(str(tmp_path / "p.sgy"), rng.standard_normal((16, 4, 3)), 0.004, receivers,
               sources)
    completed = _run_file_job(tmp_path, tmp_path / "q.sgy", tmp_path / "p.sgy")
    assert completed.returncode == 2, completed.stderr
    assert "solver.kind" in completed.stderr and "5 m" in completed.stderr


@pytest.mark.parametrize("option", ["ksp_type = \"cg\"", "kkt_ksp_type = \"cg\"",
                                    "kkt_pc_type = \"jacobi\""])
def test_petsc_options_the_formulations_cannot_honour_are_refused(option):
    with pytest.raises(InputError) as error:
        parse_spec(_job() + f"\n[petsc]\n{option}\n")
    assert option.split(" ")[0] in str(error.value)
