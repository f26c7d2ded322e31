"""Running the hpcinv command line as a user would: one process or under mpirun."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hpcinv.linalg import Operator

ROOT = Path(__file__).resolve().parent.parent

# Variables of an enclosing MPI run (pytest under mpirun, or mpi4py's singleton start) would
# make a nested mpirun think it belongs to that job.
_INHERITED_MPI = ("OMPI_COMM_WORLD", "OMPI_MCA_ess", "OMPI_MCA_orte", "OMPI_MCA_pmix",
                  "OMPI_FILE_LOCATION", "OMPI_UNIVERSE", "OMPI_APP_CTX", "OMPI_FIRST_RANKS",
                  "OMPI_NUM_APP", "OMPI_ARGV", "OMPI_COMMAND", "OMPI_MCA_initial",
                  "OMPI_MCA_mpi_oversubscribe", "OMPI_MCA_shmem", "OMPI_MCA_hwloc",
                  "OMPI_MCA_orte_", "OMPI_MCA_ess_base", "PMIX_", "PMI_", "OPAL_",
                  "H5PY_ALWAYS_USE_MPI")


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_MPI)}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def command(args, ranks: int = 1, module: str = "hpcinv") -> list[str]:
    base = [sys.executable, "-m", module, *map(str, args)]
    if ranks == 1:
        return base
    return ["mpirun", "--oversubscribe", "-n", str(ranks), *base]


def hpcinv(args, ranks: int = 1, timeout: float = 120, cwd=None, **env):
    """Run ``hpcinv ARGS`` to completion; a run that hangs past ``timeout`` fails the test."""
    return subprocess.run(command(args, ranks), cwd=cwd or ROOT, env=clean_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def start(args, ranks: int = 1, cwd=None, **env) -> subprocess.Popen:
    return subprocess.Popen(command(args, ranks), cwd=cwd or ROOT, env=clean_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def deconvolution_job(solver: str = "ksp", noise_level: float = 0.01,
                      max_iterations: int = 200) -> str:
    """The [problem] and [solver] tables of jobs/deconvolution-ksp.toml (a second's work)
    with another solver kind, noise level or iteration limit."""
    return f"""
[problem]
kind = "deconvolution"
mesh = "meshes/deconvolution/line-256.toml"
sigma = 0.03
noise_level = {noise_level}
seed = 1

[solver]
kind = "{solver}"
max_iterations = {max_iterations}
"""


def write_job(directory: Path, name: str, text: str) -> Path:
    path = Path(directory) / name
    path.write_text(text)
    return path


def gather(vec):
    """A distributed PETSc Vec as one numpy array on every rank."""
    from petsc4py import PETSc

    scatter, whole = PETSc.Scatter.toAll(vec)
    scatter.scatter(vec, whole)
    return whole.getArray().copy()


def build_job(comm, text: str):
    """(spec, problem, solver) of a job given as TOML text, built on ``comm`` in-process."""
    from hpcinv.core.jobspec import parse_spec
    from hpcinv.pipeline import build

    spec = parse_spec(text)
    problem, solver = build(spec, comm)
    return spec, problem, solver


def distributed_matrix(dense, kind: str = "aij"):
    """A MatOperator on COMM_WORLD holding ``dense`` (the same array on every rank), as a
    sparse ("aij") or dense ("dense") PETSc matrix with PETSc's default row split."""
    import numpy as np
    from petsc4py import PETSc

    from hpcinv.linalg import MatOperator

    comm = PETSc.COMM_WORLD
    m, n = dense.shape
    sizes = ((PETSc.Sys.splitOwnership(m, comm=comm)[0], m),
             (PETSc.Sys.splitOwnership(n, comm=comm)[0], n))
    mat = (PETSc.Mat().createDense if kind == "dense" else PETSc.Mat().createAIJ)(sizes, comm=comm)
    mat.setUp()
    start, stop = mat.getOwnershipRange()
    for row in range(start, stop):
        columns = np.flatnonzero(dense[row]).astype(PETSc.IntType)
        mat.setValues([row], columns, dense[row, columns])
    mat.assemble()
    return MatOperator(mat)


def range_vec(operator, array):
    """A range Vec of ``operator`` holding ``array`` (the same on every rank)."""
    _, vec = operator.create_vecs()
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = array[start:stop]
    return vec


def domain_vec(operator, array):
    vec, _ = operator.create_vecs()
    start, stop = vec.getOwnershipRange()
    vec.getArray()[:] = array[start:stop]
    return vec


class MatrixFree(Operator):
    """An operator seen only through mult/mult_transpose (a shell Mat), counting products."""

    def __init__(self, inner):
        super().__init__(inner.range_layout, inner.domain_layout)
        self.inner = inner
        self.products = 0

    def mult(self, x, y):
        self.products += 1
        self.inner.mult(x, y)

    def mult_transpose(self, y, x):
        self.products += 1
        self.inner.mult_transpose(y, x)


def domain_vecs(operator, columns):
    """Domain Vecs of ``operator`` holding the columns of a dense array."""
    return [domain_vec(operator, column) for column in columns.T]


def gather_bv(bv):
    """The columns of a SLEPc BV as a dense array on every rank."""
    import numpy as np

    columns = []
    for index in range(bv.getSizes()[1]):
        column = bv.getColumn(index)
        columns.append(gather(column))
        bv.restoreColumn(index, column)
    return np.column_stack(columns)


def decaying_matrix(rows: int, columns: int, singular_values, seed: int):
    """rows x columns = U diag(singular_values) V^T with random orthonormal U, V from
    ``seed`` (values beyond len(singular_values) are zero): a test matrix of known SVD."""
    import numpy as np

    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((rows, columns)))
    right, _ = np.linalg.qr(rng.standard_normal((columns, columns)))
    values = np.asarray(singular_values, dtype=float)
    return (left[:, :values.size] * values) @ right[:, :values.size].T
