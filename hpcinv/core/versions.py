"""Versions of hpcinv and the libraries under it, for ``hpcinv info`` and result files."""
from __future__ import annotations

import platform


def collect(slepc: bool = True) -> dict:
    """Needs PETSc started (``core.petsc_env.initialize``)."""
    from mpi4py import MPI
    from petsc4py import PETSc

    import h5py

    from .. import __version__
    versions = {
        "hpcinv": __version__,
        "python": platform.python_version(),
        "petsc": ".".join(map(str, PETSc.Sys.getVersion())),
        "mpi_library": MPI.Get_library_version().split(",")[0].strip(),
        "mpi_standard": "%d.%d" % MPI.Get_version(),
        "mpi4py": __import__("mpi4py").__version__,
        "hdf5": h5py.version.hdf5_version,
        "h5py": h5py.__version__,
        "h5py_mpi": bool(h5py.get_config().mpi),
        "numpy": __import__("numpy").__version__,
    }
    if slepc:
        from .petsc_env import initialize_slepc

        versions["slepc"] = ".".join(map(str, initialize_slepc().Sys.getVersion()))
    return versions
