"""Bad ``disk`` jobs: ``hpcinv run`` exits 2 naming the key (and the file) without a
traceback and leaves no result behind, and ``hpcinv validate`` refuses them too; measured
profiles written by ``write_profiles`` make a job that runs."""
import functools
from pathlib import Path

import h5py
import numpy as np
import pytest

import hpcinv
from hpcinv.apps.disk.data import MeasuredProfiles, write_profiles
from hpcinv.apps.disk.potential import KuzminPotential
from hpcinv.apps.disk.simulator import IsoQDisk, data_grid, noise_sigma
from hpcinv.core.io.results import read_products, read_summary
from helpers import hpcinv as hpcinv_command, write_job

RADII, VELOCITIES = 8, 10
SMALL = """
[problem]
kind = "disk"
eta_nodes = 16
h_nodes = 20
{problem}

[solver]
kind = "penalized-subspace"
"""
# The simulation's data grid; measured data bring their own (and refuse these keys).
SIMULATION = "radii = 8\nvelocities = 10\nr_max = 7.0\ndisk_edge = 10.0\n"


def _job(problem: str) -> str:
    """The small job with these [problem] lines, simulated unless they name measured data."""
    measured = 'data = "' in problem.replace('slit_data = ["', "")
    return SMALL.format(problem=problem if measured else SIMULATION + problem)


def _profiles(**changes) -> MeasuredProfiles:
    """The iso-Q Kuzmin disk's Gaussian profiles at 8 radii to R = 7 and 10 velocities, with
    Eq. 45's variances at SNR 30 and that noise; ``changes`` replace arrays."""
    radii, velocities = data_grid(RADII, VELOCITIES, 7.0)
    clean = IsoQDisk(KuzminPotential(), 1.25).profiles(radii, velocities)
    sigma = noise_sigma(clean, 30.0)
    noisy = clean + sigma * np.random.default_rng(3).standard_normal(clean.shape)
    arrays = dict(radii=radii, velocities=velocities, profiles=noisy, variances=sigma ** 2,
                  mask=np.ones(clean.shape, bool))
    arrays.update(changes)
    return MeasuredProfiles(**arrays)


def _write(directory: Path, name: str, **changes) -> Path:
    path = directory / name
    write_profiles(path, _profiles(**changes))
    return path


def _table(directory: Path, r_end: float) -> Path:
    """A potential table psi(R) of the Kuzmin disk from R = 0 to ``r_end``."""
    radii = np.linspace(0.0, r_end, 41)
    path = directory / f"psi-{r_end:g}.txt"
    np.savetxt(path, np.column_stack([radii, KuzminPotential().psi(radii)]))
    return path


def _cases(directory: Path) -> dict:
    """name: (problem keys, key named, phrases the message holds)."""
    good = _write(directory, "good.h5")
    base = _profiles()
    negative = base.variances.copy()
    negative[2, 3] = -1e-6
    nan = base.profiles.copy()
    nan[1, 4] = np.nan
    _write(directory, "negative.h5", variances=negative)
    _write(directory, "nan.h5", profiles=nan)
    short_table = _table(directory, 5.0)
    rising = directory / "rising.txt"
    radii = np.linspace(0.0, 10.0, 41)
    np.savetxt(rising, np.column_stack([radii, 1.0 + 0.01 * radii]))
    return {
        "negative variance": (f'data = "{directory / "negative.h5"}"', "problem.data",
                              ["negative.h5", "variances", "<= 0 at observed points",
                               "(2, 3)"]),
        "NaN profile": (f'data = "{directory / "nan.h5"}"', "problem.data",
                        ["nan.h5", "profiles", "NaN or infinite values at observed points",
                         "(1, 4)"]),
        "radii beyond the table": (f'data = "{good}"\npotential = "table"\n'
                                   f'potential_table = "{short_table}"', "problem.data",
                                   ["radii up to 7", "outside the potential's table",
                                    "R <= 5"]),
        "h_min above h_max": ("h_min = 1.0\nh_max = 0.5", "problem.h_max",
                              ["must exceed h_min = 1"]),
        "slit data without data": (f'slit_angles = [45.0]\nslit_data = ["{good}"]',
                                   "problem.slit_data", ["problem.data"]),
        "too hot a disk": ("toomre_q = 3.0", "problem.toomre_q", ["too hot"]),
        "too hot near the centre only": ("toomre_q = 2.0", "problem.toomre_q", ["too hot"]),
        "a slit beyond the table": (f'data = "{good}"\npotential = "table"\n'
                                    f'potential_table = "{_table(directory, 7.5)}"\n'
                                    f'slit_angles = [60.0]\ninclination = 60.0\n'
                                    f'slit_data = ["{good}"]', "problem.data",
                                    ["slit at 60 degrees", "outside the potential's table"]),
        "slit angles without their data": (f'data = "{good}"\nslit_angles = [30.0]',
                                           "problem.slit_data", ["one file per slit angle"]),
        "an edge-on disk with slits": ("slit_angles = [30.0]\ninclination = 90.0",
                                       "problem.inclination", ["edge-on"]),
        "a reversed missing interval": ("missing = [3.0, 2.0]", "problem.missing",
                                        ["reversed"]),
        "a rising potential table": (f'data = "{good}"\npotential = "table"\n'
                                     f'potential_table = "{rising}"',
                                     "problem.potential_table", ["must decrease outward"]),
        "no noise floor": ("sigma_background = 0.0", "problem.sigma_background", ["> 0"]),
        # Keys that would be silently ignored: a simulation's beside measured data, the
        # Kuzmin disk's beside a table.
        "an SNR with measured data": (f'data = "{good}"\nsnr = 50.0', "problem.snr",
                                      ["a simulation key, unused with measured data"]),
        "a Kuzmin mass with a table": (f'potential = "table"\npotential_table = "{rising}"\n'
                                       f'mass = 2.0', "problem.mass",
                                       ["only used when problem.potential is 'kuzmin'"]),
    }


CASE_NAMES = ["negative variance", "NaN profile", "radii beyond the table",
              "h_min above h_max", "slit data without data", "too hot a disk",
              "too hot near the centre only", "a slit beyond the table",
              "slit angles without their data", "an edge-on disk with slits",
              "a reversed missing interval", "a rising potential table", "no noise floor",
              "an SNR with measured data", "a Kuzmin mass with a table"]


def _leftovers(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir()
                  if p.name.startswith("out") or p.name.endswith((".partial", ".lock",
                                                                   ".probe", ".ckpt")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_bad_disk_job_exits_2_naming_the_key_and_leaves_no_result(tmp_path, case):
    """Every case before any heavy work, with no result, lock or checkpoint left.
    "too hot near the centre only" (toomre_q = 2.0: <v_phi>^2 < 0 for R < 0.67) is refused
    at the radii the truth's fit uses, from disk_edge / 50 = 0.2 on, not only at the
    data's."""
    problem, key, phrases = _cases(tmp_path)[case]
    job = write_job(tmp_path, "job.toml", _job(problem))
    completed = hpcinv_command(["run", job, "--output", tmp_path / "out.h5"], timeout=60)
    assert completed.returncode == 2, completed.stderr
    assert key in completed.stderr, completed.stderr
    for phrase in phrases:
        assert phrase in completed.stderr, (phrase, completed.stderr)
    assert completed.stderr.count("invalid input") == 1, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("case", CASE_NAMES)
def test_validate_refuses_the_same_jobs(tmp_path, capsys, case):
    from hpcinv.cli import main

    problem, key, phrases = _cases(tmp_path)[case]
    job = write_job(tmp_path, "job.toml", _job(problem))
    assert main(["validate", str(job)]) == 2, capsys.readouterr()
    error = capsys.readouterr().err
    assert key in error and all(phrase in error for phrase in phrases), error


def test_all_cases_are_listed(tmp_path):
    assert sorted(_cases(tmp_path)) == sorted(CASE_NAMES)


@functools.lru_cache(maxsize=1)
def _simulated() -> tuple:
    """(profiles, the solution): the data of the simulated small job (seed 1) as
    measured profiles with their variances, and what ``hpcinv run`` finds from them."""
    from hpcinv.core.petsc_env import initialize
    from hpcinv.pipeline import build

    PETSc = initialize()

    problem, solver = build(_job("seed = 1"), PETSc.COMM_SELF)
    block = problem.prepared.blocks[0]
    shape = block.mask.shape
    measured = MeasuredProfiles(block.radii, block.velocities,
                                problem.profiles.reshape(shape), problem.sigma.reshape(shape) ** 2,
                                block.mask.copy())
    return measured, solver.run().x.getArray().copy()


def test_a_measured_data_job_runs(tmp_path):
    """The simulated job's profiles and variances written by ``write_profiles`` (and one NaN
    at a point the mask leaves out, which is never read): ``hpcinv run`` fits them to the
    target, stores them as the data, and finds what the simulated job finds."""
    simulated, expected = _simulated()
    write_profiles(tmp_path / "all.h5", simulated)
    profiles, mask = simulated.profiles.copy(), simulated.mask.copy()
    profiles[0, 0], mask[0, 0] = np.nan, False
    data = _write(tmp_path, "measured.h5", radii=simulated.radii,
                  velocities=simulated.velocities, profiles=profiles,
                  variances=simulated.variances, mask=mask)
    outputs = {}
    for name, path in (("all", tmp_path / "all.h5"), ("masked", data)):
        outputs[name] = tmp_path / f"{name}-result.h5"
        job = write_job(tmp_path, f"{name}.toml", _job(f'data = "{path}"')
                        + f'\n[output]\npath = "{outputs[name]}"\n')
        completed = hpcinv_command(["run", job, "--quiet"], timeout=60)
        assert completed.returncode == 0, completed.stderr
    summary = read_summary(outputs["all"])
    assert summary["stop_reason"] == "converged"
    assert "/truth" not in summary["datasets"]           # measured data: no truth
    with h5py.File(outputs["all"], "r") as handle:
        solution = handle["solution"][()]
    # The same numbers as the simulation's (sigma squared and its root may differ in the
    # last bit, which the run's own sensitivity turns into at most ~1e-4).
    assert np.linalg.norm(solution - expected) <= 1e-3 * np.linalg.norm(expected)

    summary = read_summary(outputs["masked"])
    count = RADII * VELOCITIES - 1
    assert summary["stop_reason"] == "converged"
    assert summary["problem_attributes"]["data_count"] == count
    target = count - np.sqrt(2 * count)
    assert abs(summary["solver_results"]["chi_square"] - target) <= 1e-3 * target
    derived, _, _ = read_products(outputs["masked"])
    observed = derived["slit0_data"]
    assert np.isnan(observed[0, 0]) and np.isnan(derived["slit0_model"][0, 0])
    np.testing.assert_array_equal(observed[mask], simulated.profiles[mask])
    np.testing.assert_allclose(derived["slit0_sigma"][mask],
                               np.sqrt(simulated.variances[mask]), rtol=1e-15)
    np.testing.assert_array_equal(derived["slit0_radii"], simulated.radii)


def test_a_measured_data_job_in_a_tabulated_potential_runs(tmp_path):
    """The same profiles in the Kuzmin potential tabulated to R = 10 (a spline of psi): the
    fitted f is close to the one of the closed-form potential."""
    simulated, expected = _simulated()
    data = tmp_path / "measured.h5"
    write_profiles(data, simulated)
    text = _job(f'data = "{data}"\npotential = "table"\n'
                f'potential_table = "{_table(tmp_path, 10.0)}"') + \
        f'\n[output]\npath = "{tmp_path / "table.h5"}"\n'
    outcome = hpcinv.run(text, quiet=True)
    assert outcome.exit_status == 0 and outcome.stop_reason == "converged"
    with h5py.File(outcome.result_path, "r") as handle:
        solution = handle["solution"][()]
    assert np.linalg.norm(solution - expected) < 1e-2 * np.linalg.norm(expected)


@pytest.mark.parametrize("solver, option", [('"penalized-subspace"', "ksp_monitor = true"),
                                            ('"penalized-gradient"\nmu = 1.0',
                                             'tao_type = "blmvm"')])
def test_own_iterations_refuse_ksp_and_tao_options(tmp_path, capsys, solver, option):
    """They would ignore them: the subspace and gradient kinds run no PETSc KSP or TAO."""
    from hpcinv.cli import main

    text = _job("").replace('kind = "penalized-subspace"',
                                            f"kind = {solver}") + f"\n[petsc]\n{option}\n"
    job = write_job(tmp_path, "job.toml", text)
    assert main(["validate", str(job)]) == 2
    error = capsys.readouterr().err
    assert "petsc." + option.split(" ")[0] in error and "no ksp_* or tao_* option" in error


@pytest.mark.parametrize("solver, key, phrase", [
    ('penalty = "roughness"\ngamma = 0.2', "solver.gamma", "'entropy-floating'"),
    ('prior = 0.1', "solver.prior", "'entropy'"),
    ('kind = "penalized-gradient"\nmu = 1.0\nmetric = "lucy"\nnu = 1.5', "solver.nu",
     "'power'"),
    ('kind = "penalized-tao"\nmu = 1.0\nfixed_mu = true\ntolerance = 1e-2',
     "solver.tolerance", "False")])
def test_a_key_the_chosen_method_would_ignore_is_refused(tmp_path, capsys, solver, key, phrase):
    """gamma only shapes the floating prior, prior only the uniform one, nu only the power
    metric, tolerance only the search on mu: given with another choice, each is named."""
    from hpcinv.cli import main

    text = _job("")
    if solver.startswith("kind"):
        text = text.replace('kind = "penalized-subspace"\n', "")
    job = write_job(tmp_path, "job.toml", text + solver + "\n")
    assert main(["validate", str(job)]) == 2
    error = capsys.readouterr().err
    assert key in error and "only used when" in error and phrase in error, error


def test_a_wrong_controlling_key_is_reported_alone(tmp_path, capsys):
    """A misspelt penalty is named; the gamma it would govern is not refused as well."""
    from hpcinv.cli import main

    job = write_job(tmp_path, "job.toml", _job("") + 'penalty = "entropy-float"\ngamma = 0.2\n')
    assert main(["validate", str(job)]) == 2
    error = capsys.readouterr().err
    assert "solver.penalty" in error and "solver.gamma" not in error, error
