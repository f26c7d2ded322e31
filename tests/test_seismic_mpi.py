"""The mdd problem on 1 and 2 ranks: the same data from synthetic surveys and from SEG-Y, HDF5
and NPZ files whatever the rank count (and when each rank reads only its traces), a bad
trace on one rank failing every rank with exit 2, the mock command under mpirun and a tiny
LSQR job stopping on the discrepancy principle."""
import h5py
import numpy as np
import pytest

import hpcinv
from hpcinv.apps.seismic import mdd_problem
from hpcinv.apps.seismic.arrays import write_hdf5
from hpcinv.apps.seismic.mock import write_mock_fields
from hpcinv.cli import main
from hpcinv.core.jobspec import parse_spec
from hpcinv.core.petsc_env import initialize
from helpers import ROOT, gather

PETSc = initialize()
TINY = str(ROOT / "meshes/seismic/tiny.toml")
FILES = ROOT / "jobs/mdd-segy"


def _frequency_noise(problem):
    """The noise per frequency of every rank's blocks, in frequency order."""
    local = problem.capabilities[0].frequency_noise
    return np.concatenate(PETSc.COMM_WORLD.tompi4py().allgather(local))


def _assert_same(distributed, serial):
    for name in ("data", "truth", "noise_free_data"):
        vec = getattr(distributed, name)
        if vec is None:
            assert getattr(serial, name) is None
            continue
        np.testing.assert_allclose(gather(vec), getattr(serial, name).getArray(), rtol=0,
                                   atol=1e-13 * max(1.0, np.abs(gather(vec)).max()))
    assert distributed.noise_norm == pytest.approx(serial.noise_norm, rel=1e-12)
    assert distributed.grid_shape == serial.grid_shape
    assert distributed.attributes == serial.attributes


@pytest.mark.mpi
@pytest.mark.parametrize("data", ["synthetic-hyperbolic", "layered"])
def test_synthetic_problem_is_the_same_on_any_number_of_ranks(data):
    keys = dict(data=data, mesh=TINY, noise_level=0.02, seed=4, max_frequency=50.0)
    distributed = mdd_problem(PETSc.COMM_WORLD, **keys)
    serial = mdd_problem(PETSc.COMM_SELF, **keys)
    _assert_same(distributed, serial)
    np.testing.assert_allclose(_frequency_noise(distributed),
                               serial.capabilities[0].frequency_noise, rtol=1e-12)
    # Each rank holds its own frequencies' blocks only.
    operator = distributed.operator
    assert operator.model_blocks.shape[0] == operator.domain_transform.frequency_layout.local_size


def _stored_fields() -> dict:
    with np.load(FILES / "fields.npz") as archive:
        return {name: archive[name] for name in "qpg"}


def _fields_h5(directory) -> str:
    """The committed fields as HDF5 in ``directory`` (the repository keeps no .h5 files)."""
    path = directory / "fields.h5"
    mpi = PETSc.COMM_WORLD.tompi4py()
    if mpi.rank == 0:
        write_hdf5(str(path), _stored_fields(), 0.008, 20.0)
    mpi.Barrier()
    return str(path)


@pytest.mark.mpi
@pytest.mark.parametrize("fmt", ["segy", "hdf5", "npz"])
def test_file_problem_is_the_same_on_any_number_of_ranks(fmt, mpi_tmp_path):
    if fmt == "segy":
        paths = {key: str(FILES / f"{key}.sgy") for key in ("downgoing", "upgoing", "truth")}
    elif fmt == "hdf5":
        paths = dict.fromkeys(("downgoing", "upgoing", "truth"), _fields_h5(mpi_tmp_path))
    else:
        paths = dict.fromkeys(("downgoing", "upgoing"), str(FILES / "fields.npz"))
    # COMM_WORLD splits the traces as prepare read them; COMM_SELF on 2 ranks reads again.
    distributed = mdd_problem(PETSc.COMM_WORLD, data="file", **paths)
    serial = mdd_problem(PETSc.COMM_SELF, data="file", **paths)
    _assert_same(distributed, serial)
    assert distributed.capabilities[0].frequency_noise is None
    p = _stored_fields()["p"]
    stored = serial.operator.range_transform.gather_array(serial.data)
    # SEG-Y keeps IEEE single precision.
    np.testing.assert_allclose(stored, p, rtol=1e-6 if fmt == "segy" else 0,
                               atol=1e-7 * np.abs(p).max() if fmt == "segy" else 0)


@pytest.mark.mpi
def test_a_nan_trace_on_one_rank_fails_every_rank_with_exit_2(mpi_tmp_path, capfd):
    fields = _stored_fields()
    q, p = fields["q"], fields["p"]
    p[:, -1, -1] = np.nan          # the last trace: the last rank's
    mpi = PETSc.COMM_WORLD.tompi4py()
    if mpi.rank == 0:
        write_hdf5(str(mpi_tmp_path / "nan.h5"), {"q": q, "p": p}, 0.008, 20.0)
        (mpi_tmp_path / "job.toml").write_text(
            f'[problem]\nkind = "mdd"\ndata = "file"\ndowngoing = "{mpi_tmp_path / "nan.h5"}"\n'
            f'upgoing = "{mpi_tmp_path / "nan.h5"}"\n[solver]\nkind = "lsqr"\n'
            f'[output]\npath = "{mpi_tmp_path / "out.h5"}"\n')
    mpi.Barrier()
    with pytest.raises(SystemExit) as stop:
        main(["run", str(mpi_tmp_path / "job.toml"), "--quiet"])
    assert stop.value.code == 2
    if mpi.rank == 0:
        error = capfd.readouterr().err
        assert "problem.upgoing" in error and "nan.h5" in error
        assert "the trace of receiver 5, source 5 has 64 non-finite samples" in error


@pytest.mark.mpi
def test_mock_fields_under_mpirun_are_the_problem_data(mpi_tmp_path):
    spec = parse_spec(f'[problem]\nkind = "mdd"\ndata = "layered"\nmesh = "{TINY}"\n'
                      'noise_level = 0.03\nseed = 2\n[solver]\nkind = "lsqr"\n')
    written = write_mock_fields(spec, str(mpi_tmp_path / "mock"))
    assert all(path.is_file() for path in written)
    problem = mdd_problem(PETSc.COMM_WORLD, data="layered", mesh=TINY, noise_level=0.03,
                          seed=2)
    from_files = mdd_problem(PETSc.COMM_WORLD, data="file",
                             downgoing=str(mpi_tmp_path / "mock/fields.h5"),
                             upgoing=str(mpi_tmp_path / "mock/fields.h5"),
                             truth=str(mpi_tmp_path / "mock/fields.h5"))
    np.testing.assert_array_equal(gather(from_files.data), gather(problem.data))
    np.testing.assert_array_equal(gather(from_files.truth), gather(problem.truth))
    # q from the file makes the same operator: the noise-free data again.
    check = problem.data.duplicate()
    from_files.operator.mult(problem.truth, check)
    np.testing.assert_allclose(gather(check), gather(problem.noise_free_data), rtol=0,
                               atol=1e-13 * np.abs(gather(check)).max())


@pytest.mark.mpi
def test_tiny_layered_lsqr_job_stops_on_the_discrepancy(mpi_tmp_path):
    outcome = hpcinv.run({"problem": {"kind": "mdd", "data": "layered", "mesh": TINY},
                          "solver": {"kind": "lsqr", "tau": 1.02, "max_iterations": 300},
                          "output": {"path": str(mpi_tmp_path / "layered.h5")}}, quiet=True)
    assert outcome.exit_status == 0 and outcome.stop_reason == "discrepancy"
    with h5py.File(mpi_tmp_path / "layered.h5") as handle:
        estimate, truth = handle["solution"][()], handle["truth"][()]
        assert handle.attrs["ranks"] == PETSc.COMM_WORLD.size
    assert np.linalg.norm(estimate - truth) < 0.5 * np.linalg.norm(truth)
