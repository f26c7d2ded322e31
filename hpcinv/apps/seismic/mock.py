"""``hpcinv seismic-mock JOB --out DIR``: a synthetic ``mdd`` job's fields as files, to run
the file path (data = "file") on them: q, p (with the job's noise) and the true g as SEG-Y
shot gathers (``downgoing.sgy``, ``upgoing.sgy``, ``truth.sgy``: g's "sources" are the
virtual sources), and all three in ``fields.h5`` and ``fields.npz`` (datasets q, p, g with dt
and dr)."""
from __future__ import annotations

import os
from pathlib import Path

from ...core import petsc_env
from ...core.errors import InputError
from ...core.jobspec import PROBLEMS, JobSpec
from ...core.mpi import agree
from .arrays import write_hdf5, write_npz
from .segy import write_segy

SEGY_FILES = {"q": "downgoing.sgy", "p": "upgoing.sgy", "g": "truth.sgy"}
ARRAY_FILES = ("fields.h5", "fields.npz")


def check_mock_job(spec: JobSpec) -> None:
    problem = spec.problem
    if problem["kind"] != "mdd":
        raise InputError(("problem.kind", f"hpcinv seismic-mock writes the fields of a "
                                          f"synthetic mdd job; this job's problem is "
                                          f"{problem['kind']!r}"))
    if problem["data"] == "file":
        raise InputError(("problem.data", 'this job reads its fields from files; hpcinv '
                                          'seismic-mock needs synthetic data'))


def _check_directory(directory: str) -> None:
    existing = Path(directory).resolve()
    while not existing.is_dir():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise InputError(("--out", f"cannot write to {existing}"))


def write_mock_fields(spec: JobSpec, directory: str) -> list[Path]:
    """Build the job's synthetic problem on all ranks; rank 0 writes the files into
    ``directory``.  Returns the files written."""
    check_mock_job(spec)
    comm = petsc_env.initialize().COMM_WORLD
    mpi = comm.tompi4py()
    agree(mpi, _check_directory, directory)   # ranks may see different file systems
    kind = PROBLEMS.get("mdd", "problem.kind")
    prepared = agree(mpi, kind.prepare, spec.problem)
    problem = kind.build(prepared, comm)
    operator = problem.operator
    fields = {"g": operator.domain_transform.gather_array(problem.truth),
              "p": operator.range_transform.gather_array(problem.data)}
    out = Path(directory)
    paths = [out / name for name in (*SEGY_FILES.values(), *ARRAY_FILES)]

    def write() -> None:
        if mpi.rank > 0:
            return
        survey = prepared.survey
        q = survey.downgoing(0, survey.n_v * survey.n_s)
        fields["q"] = q.reshape(survey.n_v, survey.n_s, survey.n_t).transpose(2, 0, 1)
        receivers = survey.mesh.receiver_positions
        sources = {"q": receivers[survey.mesh.source_receivers],
                   "p": receivers[survey.mesh.source_receivers], "g": receivers}
        out.mkdir(parents=True, exist_ok=True)
        for name, file_name in SEGY_FILES.items():
            write_segy(str(out / file_name), fields[name], survey.dt, receivers, sources[name])
        write_hdf5(str(out / ARRAY_FILES[0]), fields, survey.dt, survey.dr)
        write_npz(str(out / ARRAY_FILES[1]), fields, survey.dt, survey.dr)

    agree(mpi, write)   # a failed write on rank 0 fails every rank
    return paths
