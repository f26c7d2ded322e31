"""hpcinv: an MPI-parallel solver service for large regularized linear inverse problems."""

__version__ = "0.1.0"


def run(spec, **options):
    """Run a job (a JobSpec, a TOML path or TOML text) in this process; see
    ``hpcinv.pipeline.run`` for the options.  Works under mpirun like the CLI."""
    from .pipeline import run as _run

    return _run(spec, **options)
