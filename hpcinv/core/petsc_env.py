"""Find and start PETSc/SLEPc (petsc4py, slepc4py) and MPI.

Debian installs petsc4py/slepc4py under ``$PETSC_DIR/lib/python3/dist-packages`` and only
puts that on ``sys.path`` (through a ``.pth`` file) when PETSC_DIR/SLEPC_DIR are set or the
``petsc-dev`` alternative symlink exists.  Users on clusters bring their own PETSc, so an
already importable petsc4py or an exported PETSC_DIR always wins; otherwise the newest
real-scalar Debian build is used.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
import signal
import sys

from . import sandbox
from .errors import RuntimeFailure

_DEBIAN_ROOTS = {"PETSC_DIR": "/usr/lib/petscdir", "SLEPC_DIR": "/usr/lib/slepcdir"}
_MODULES = {"PETSC_DIR": "petsc4py", "SLEPC_DIR": "slepc4py"}


def _version_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", os.path.basename(os.path.dirname(path))))


def _debian_candidates(variable: str) -> list[str]:
    pattern = os.path.join(_DEBIAN_ROOTS[variable], "*", "*-linux-gnu-real")
    return sorted(glob.glob(pattern), key=_version_key, reverse=True)


def _python_dirs(prefix: str) -> list[str]:
    """Where a PETSc/SLEPc installation keeps its Python bindings."""
    arch = os.environ.get("PETSC_ARCH", "")
    dirs = [os.path.join(prefix, "lib", "python3", "dist-packages"), os.path.join(prefix, "lib")]
    if arch:
        dirs.insert(0, os.path.join(prefix, arch, "lib"))
    return [d for d in dirs if os.path.isdir(d)]


def locate(variable: str) -> str | None:
    """Make petsc4py (PETSC_DIR) or slepc4py (SLEPC_DIR) importable; return the directory used."""
    module = _MODULES[variable]
    prefix = os.environ.get(variable)
    if prefix:
        candidates = [prefix]
    elif importlib.util.find_spec(module) is not None:
        return None  # pip-installed or already on sys.path: nothing to do
    else:
        candidates = _debian_candidates(variable)
    for candidate in candidates:
        for directory in _python_dirs(candidate):
            if os.path.isdir(os.path.join(directory, module)):
                if directory not in sys.path:
                    sys.path.append(directory)
                os.environ.setdefault(variable, candidate)
                return candidate
    if importlib.util.find_spec(module) is not None:
        return prefix
    where = f"{variable}={prefix}" if prefix else f"{_DEBIAN_ROOTS[variable]}/*/*-linux-gnu-real"
    raise RuntimeFailure(
        f"cannot import {module}: not found under {where}; install python3-{module} "
        f"(Debian) or set {variable} to a PETSc/SLEPc installation with Python bindings")


def _option_text(value) -> str | None:
    """PETSc's spelling of a TOML value; ``None`` for a bare flag (``true``)."""
    if value is True:
        return None
    if value is False:
        return "false"
    return str(value)


def options_to_argv(options: dict) -> list[str]:
    """A job's [petsc] table as PETSc command-line options."""
    argv = []
    for key, value in options.items():
        argv.append("-" + key.lstrip("-"))
        text = _option_text(value)
        if text is not None:
            argv.append(text)
    return argv


# PETSc options of the ``hpcinv`` command line (``core.petsc_command_line``): they follow
# every job's own options, so they win, and stay for the whole process.
_command_line: dict = {}


def use_command_line_options(options: dict) -> None:
    """Give PETSc the options of the command line, before or after it started (a later
    command line of the same process replaces the earlier one's)."""
    _command_line.clear()
    _command_line.update(options)
    if "petsc4py.PETSc" in sys.modules:
        initialize()


def initialize(options: dict | None = None):
    """Start MPI and PETSc once per process and load ``options`` into PETSc's database.

    Returns the PETSc module.  On the first call the options go onto PETSc's command line, so
    start-up options such as ``log_view`` work; later calls (Python drivers running several
    jobs) insert them into the options database.  Options of the ``hpcinv`` command line
    (``use_command_line_options``) follow the job's, so they win.
    """
    options = {**(options or {}), **_command_line}
    # Debian's h5py picks its MPI build only from mpirun's environment variables, which
    # srun and single-process runs lack; once MPI runs, the MPI build is the right one.
    os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
    locate("PETSC_DIR")
    import petsc4py

    from .petsc_options import petsc_input_errors

    already = "petsc4py.PETSc" in sys.modules
    startup = []
    if sandbox.active():
        # Options from files and the environment would bypass the [petsc] refusals.
        startup = ["-skip_petscrc"]
        for variable in ("PETSC_OPTIONS", "PETSC_OPTIONS_YAML"):
            os.environ.pop(variable, None)
    if not already:
        with petsc_input_errors():
            petsc4py.init([sys.argv[0] if sys.argv else "hpcinv", *startup,
                           *options_to_argv(options)])
        # PETSc traps SIGPIPE and aborts the job when a reader of its output goes away
        # (``hpcinv run job.toml -ksp_monitor | head``); as Python does, a closed pipe
        # only fails the write, and the run goes on.
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    from petsc4py import PETSc

    if already:
        database = PETSc.Options()
        with petsc_input_errors():
            for key, value in options.items():
                database.setValue(key.lstrip("-"), _option_text(value))
    return PETSc


def initialize_slepc():
    """Import slepc4py after PETSc is running (SLEPc reads the same options database)."""
    locate("SLEPC_DIR")
    import slepc4py

    if "slepc4py.SLEPc" not in sys.modules:
        slepc4py.init()
    from slepc4py import SLEPc

    return SLEPc


# PETSc reads these when it finalizes (log_view prints its table then), so they stay.
_FINALIZE_OPTION_PREFIXES = ("log_", "options_left", "memory_view", "malloc_")


def clear_options(options: dict) -> None:
    """Remove a job's options after it ran, so the next job of a Python driver starts clean
    (the command line's stay)."""
    from petsc4py import PETSc

    database = PETSc.Options()
    for key in options:
        name = key.lstrip("-")
        if not name.startswith(_FINALIZE_OPTION_PREFIXES) and name not in _command_line:
            database.delValue(name)


def release_memory(comm, *, trim_heap: bool = True) -> None:
    """Destroy the PETSc objects that Python has dropped on every rank of ``comm``
    (collective; a PETSc or mpi4py communicator), then, with ``trim_heap``, give the C
    heap's free pages back to the system.

    Why the first: since 3.18, petsc4py does not destroy a parallel object when Python drops
    it, since ranks drop objects in different orders and a destroy is collective; it stashes
    it until ``PETSc.garbage_cleanup``, which destroys those every rank has dropped.
    petsc4py 3.18 treats even objects on a one-rank COMM_WORLD that way.  Without a cleanup,
    a process that solves many times (a parameter sweep, a driver running several jobs)
    keeps every vector it ever made: its memory grew by 7.6 MB per dropped 8 MB Vec, and a
    thesis-size redatuming sweep ran out of 24 GB.  A petsc4py without the call cleans up by
    itself.

    Why the second: glibc serves blocks of up to 32 MB (its adaptive mmap threshold) from
    the heap and keeps freed ones there for reuse; a later solve of other sizes cannot reuse
    them all, and they are returned only from the heap's top.  The same sweep's ranks held
    9.5 GB each of free heap, which ``malloc_trim`` returned.  Trimming at every iteration
    would make each one touch fresh pages again (slow on some virtual machines), so callers
    trim between solves, not within one."""
    from petsc4py import PETSc

    cleanup = getattr(PETSc, "garbage_cleanup", None)
    if cleanup is not None:
        cleanup(comm)
    if trim_heap:
        _trim_heap()


def _trim_heap() -> None:
    """glibc's malloc_trim(0); nothing elsewhere (another C library, macOS)."""
    import ctypes
    import ctypes.util

    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)


_libc = None   # ctypes' C library once looked up, False where there is none
