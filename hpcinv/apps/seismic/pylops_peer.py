"""PyLops and pylops-mpi as an external peer of the MDD solvers: the same products and solves
on the same arrays, for the reproduction and the benchmark only.  Neither package is a
dependency of hpcinv: they are imported when a function here is called, and a missing one is
a ``PeerMissing`` error that says how to install it (``install_command``).

Our arrays: q (n_t, n_v, n_s), g (n_t, n_r, n_v), p (n_t, n_r, n_s) with
p(t, r, s) = dt dr sum_{t', v} g(t - t', r, v) q(t', v, s), circular in t, and only the first
n_f real-FFT bins kept.  PyLops' ``MDC`` computes y(t, s, i) = sum_j K_f(s, j) x(t, j, i)
with the kernel K in frequency: transposing the product (P_f^T = Q_f^T G_f^T) maps

    PyLops kernel K     [n_f, n_s, n_v] = dt dr rfft_t(q)^T   (MDD's time kernel [n_s, n_v, n_t])
    PyLops model x      [n_t, n_v, n_r] = g transposed         (MDD's minv        [n_v, n_r, n_t])
    PyLops data y       [n_t, n_s, n_r] = p transposed         (MDD's d           [n_s, n_r, n_t])

with ``twosided=False`` (and, in ``MDD``, ``add_negative=False``): PyLops' FFTs then have n_t
samples and no shift, so its convolution is circular over n_t like ours.  (``twosided=True``
needs an odd n_t and puts time zero mid-trace; ``add_negative=True`` pads to 2 n_t - 1
samples, a linear rather than circular convolution.)  Scaling: PyLops' unnormalised
(``prescaled=False``) MDC multiplies the kernel by dt dr sqrt(n_t) and uses orthonormal FFTs,
so it is sqrt(n_t) times our operator; with ``prescaled=True`` and the kernel dt dr rfft(q)
it is ours.  Checked on random data (n_t 15 and 16, with and without a frequency cut):
forward and adjoint agree to 4e-16 relative (``tests`` need no PyLops: the reproduction
prints the check when PyLops is there).  ``MDD`` builds the unnormalised operator, so its
least-squares iterates are ours divided by sqrt(n_t) (LSQR is covariant under scaling the
operator), and ``mdd_lsqr`` multiplies them back.
"""
from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import numpy as np

from ...core.errors import RuntimeFailure

PYLOPS_REQUIREMENT = "pylops==2.8.0"
PYLOPS_MPI_REQUIREMENT = "pylops-mpi==0.8.0"
# pylops 2.8.0 declares scipy >= 1.11, so pip with dependencies would replace Debian's scipy
# 1.10 in the venv; both run on it (checked: the products and solves below).  So the peers
# go in without their dependencies: these are the ones Debian does not provide
# (pylops-mpi imports pyproximal, which imports typing_extensions).
PEER_REQUIREMENTS = (PYLOPS_REQUIREMENT, PYLOPS_MPI_REQUIREMENT, "pyproximal==0.13.0",
                     "typing-extensions")


class PeerMissing(RuntimeFailure):
    """PyLops (or pylops-mpi) is not installed in this interpreter's environment."""


def numpy_constraint_file() -> Path:
    """The venv's pin of the installed numpy (the Makefile writes it), so that pip never
    replaces Debian's numpy when it installs the peers."""
    return Path(sys.prefix) / "constraints.txt"


def install_arguments() -> list[str]:
    """pip's command line that installs the peers into this interpreter's environment."""
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "-c", str(numpy_constraint_file()), *PEER_REQUIREMENTS]


def install_command() -> str:
    return (" ".join(install_arguments()) + f"  (after {sys.executable} -c 'import numpy; "
            f"print(\"numpy==\" + numpy.__version__)' > {numpy_constraint_file()} if that "
            f"file is missing)")


def _import(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise PeerMissing(f"the PyLops peer needs {module.split('.')[0]} ({error}); install "
                          f"it, only for comparisons, with: {install_command()}") from None


def available(module: str = "pylops") -> bool:
    """Whether ``module`` (pylops or pylops_mpi) can be imported here."""
    try:
        _import(module)
    except PeerMissing:
        return False
    return True


def versions() -> dict:
    return {name: getattr(_import(name), "__version__", "?") for name in ("pylops",)
            + (("pylops_mpi",) if available("pylops_mpi") else ())}


# Layout maps -----------------------------------------------------------------------------------

def pylops_kernel(q: np.ndarray, n_f: int, dt: float, dr: float) -> np.ndarray:
    """The prescaled frequency kernel [n_f, n_s, n_v] of MDC for q (n_t, n_v, n_s)."""
    spectrum = np.fft.rfft(np.asarray(q, dtype=float), axis=0)[:n_f]     # (n_f, n_v, n_s)
    return np.ascontiguousarray(spectrum.transpose(0, 2, 1)) * (dt * dr)


def model_to_pylops(g: np.ndarray) -> np.ndarray:
    """g (n_t, n_r, n_v) as MDC's flattened model [n_t, n_v, n_r]."""
    return np.ascontiguousarray(np.asarray(g).transpose(0, 2, 1)).ravel()


def model_from_pylops(x: np.ndarray, n_t: int, n_r: int, n_v: int) -> np.ndarray:
    return np.asarray(x).reshape(n_t, n_v, n_r).transpose(0, 2, 1)


def data_to_pylops(p: np.ndarray) -> np.ndarray:
    """p (n_t, n_r, n_s) as MDC's flattened data [n_t, n_s, n_r]."""
    return np.ascontiguousarray(np.asarray(p).transpose(0, 2, 1)).ravel()


def data_from_pylops(y: np.ndarray, n_t: int, n_r: int, n_s: int) -> np.ndarray:
    return np.asarray(y).reshape(n_t, n_s, n_r).transpose(0, 2, 1)


# PyLops (one process) --------------------------------------------------------------------------

def mdc_operator(q: np.ndarray, n_r: int, n_f: int, dt: float, dr: float):
    """PyLops' MDC equal to our MultiDimensionalConvolution of q (n_t, n_v, n_s) with n_f
    bins, on the flattened PyLops layouts (``model_to_pylops``, ``data_to_pylops``)."""
    waveeqprocessing = _import("pylops.waveeqprocessing")
    return waveeqprocessing.MDC(pylops_kernel(q, n_f, dt, dr), nt=q.shape[0], nv=n_r, dt=dt,
                                dr=dr, twosided=False, prescaled=True)


def mdc(q: np.ndarray, g: np.ndarray, n_f: int, dt: float, dr: float) -> np.ndarray:
    """p = MDC(g; q) computed by PyLops, as an (n_t, n_r, n_s) array."""
    n_t, n_r, n_v = g.shape
    operator = mdc_operator(q, n_r, n_f, dt, dr)
    return data_from_pylops(operator @ model_to_pylops(g), n_t, n_r, q.shape[2])


def mdd_lsqr(q: np.ndarray, p: np.ndarray, n_f: int, dt: float, dr: float,
             iterations: int) -> np.ndarray:
    """g (n_t, n_r, n_v) from ``iterations`` LSQR steps of PyLops' ``MDD`` on our data (no
    early stop: atol = btol = 0)."""
    waveeqprocessing = _import("pylops.waveeqprocessing")
    n_t, n_r, _ = p.shape
    n_v = q.shape[1]
    estimate = waveeqprocessing.MDD(
        np.ascontiguousarray(np.asarray(q, dtype=float).transpose(2, 1, 0)),    # [n_s, n_v, n_t]
        np.ascontiguousarray(np.asarray(p, dtype=float).transpose(2, 1, 0)),    # [n_s, n_r, n_t]
        dt=dt, dr=dr, nfmax=n_f, twosided=False, add_negative=False, iter_lim=iterations,
        atol=0.0, btol=0.0)                                                      # [n_v, n_r, n_t]
    # MDD's operator is sqrt(n_t) times ours (module docstring).
    return np.sqrt(n_t) * np.asarray(estimate).reshape(n_v, n_r, n_t).transpose(2, 1, 0)


def lsqr_history(q: np.ndarray, p: np.ndarray, truth: np.ndarray, n_f: int, dt: float,
                 dr: float, iterations: int) -> dict:
    """PyLops' LSQR (its solver class, stepped) on the MDC operator ``MDD`` builds, with the
    relative error of g after every step: {"relative_error": [...], "seconds": [...]} (index
    k: after k + 1 steps; seconds count the solver only, not the error evaluation)."""
    cls_basic = _import("pylops.optimization.cls_basic")
    operator = mdc_operator(q, p.shape[1], n_f, dt, dr)
    n_t, n_r, n_v = truth.shape
    solver = cls_basic.LSQR(operator)
    started = time.perf_counter()
    x = solver.setup(data_to_pylops(p), atol=0.0, btol=0.0, conlim=np.inf, niter=iterations,
                     calc_var=False)
    spent = time.perf_counter() - started
    truth_norm = float(np.linalg.norm(truth))
    errors, seconds = [], []
    for _ in range(iterations):
        started = time.perf_counter()
        x = solver.step(x)
        spent += time.perf_counter() - started
        seconds.append(spent)
        estimate = model_from_pylops(x, n_t, n_r, n_v)
        errors.append(float(np.linalg.norm(estimate - truth)) / truth_norm)
    return {"relative_error": errors, "seconds": seconds}


# pylops-mpi (under mpirun) ---------------------------------------------------------------------

def mpi_frequency_slice(n_f: int, comm) -> slice:
    """This rank's frequencies in pylops-mpi's split (its ``local_split``, as its tutorial)."""
    distributed = _import("pylops_mpi.DistributedArray")
    local = distributed.local_split((n_f,), comm, distributed.Partition.SCATTER, 0)
    counts = comm.allgather(int(np.prod(local)))
    start = int(np.sum(counts[:comm.rank]))
    return slice(start, start + counts[comm.rank])


def mpimdc_operator(q: np.ndarray, n_r: int, n_f: int, dt: float, dr: float, comm):
    """pylops-mpi's MPIMDC equal to our operator: each rank keeps its frequencies of the
    kernel (q itself is on every rank here: it is the peer's input, as in its tutorial)."""
    pylops_mpi = _import("pylops_mpi")
    kernel = pylops_kernel(q, n_f, dt, dr)[mpi_frequency_slice(n_f, comm)]
    return pylops_mpi.waveeqprocessing.MPIMDC(kernel, nt=q.shape[0], nv=n_r, nfreq=n_f,
                                              dt=dt, dr=dr, twosided=False, prescaled=True,
                                              base_comm=comm)


def broadcast_array(values: np.ndarray, comm):
    """A pylops-mpi DistributedArray holding ``values`` on every rank (MPIMDC's layout)."""
    pylops_mpi = _import("pylops_mpi")
    array = pylops_mpi.DistributedArray(global_shape=values.size, base_comm=comm,
                                        partition=pylops_mpi.Partition.BROADCAST,
                                        dtype=np.float64)
    array[:] = values
    return array


def mpimdc_cgls(q: np.ndarray, p: np.ndarray, n_f: int, dt: float, dr: float,
                iterations: int, comm) -> np.ndarray:
    """g (n_t, n_r, n_v) from ``iterations`` steps of pylops-mpi's CGLS with MPIMDC
    (collective over ``comm``, an mpi4py communicator; no early stop: tol = 0)."""
    pylops_mpi = _import("pylops_mpi")
    n_t, n_r, _ = p.shape
    operator = mpimdc_operator(q, n_r, n_f, dt, dr, comm)
    data = broadcast_array(data_to_pylops(p), comm)
    start = broadcast_array(np.zeros(operator.shape[1]), comm)
    estimate = pylops_mpi.cgls(operator, data, x0=start, niter=iterations, tol=0.0)[0]
    return model_from_pylops(estimate.asarray(), n_t, n_r, q.shape[1])
