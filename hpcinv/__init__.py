"""hpcinv: an MPI-parallel solver service for large regularized linear inverse problems."""

import os

__version__ = "0.1.0"

# hpcinv runs one MPI rank per core; BLAS or OpenMP threads on top of that oversubscribe the
# cores (and spin in the kernel between small products).  A user's setting wins.  This only
# takes effect when hpcinv is imported before numpy, as the ``hpcinv`` command does.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def run(spec, **options):
    """Run a job (a JobSpec, a TOML path, TOML text or a dict of its tables) in this
    process; see ``hpcinv.pipeline.run`` for the options.  Works under mpirun like the CLI.
    The outcome holds the stop reason, the iterations, the result path and the solution."""
    from .pipeline import run as _run

    return _run(spec, **options)


def solve(A, b, **arguments):
    """Solve min ||A x - b|| for your own operator and data with any registered solver kind,
    in this process and without files; see ``hpcinv.solve_api.solve`` for the arguments.
    Works under mpirun (collective)."""
    from .solve_api import solve as _solve

    return _solve(A, b, **arguments)
