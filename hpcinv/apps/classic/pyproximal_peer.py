"""PyProximal's SR3 (``pyproximal.optimization.sr3.SR3``, 0.13) as the serial peer of hpcinv's
SR3, for the ch. 6 reproduction and ``benchmarks/sr3.py`` only: the same problem (the seeded
problem kinds build the same arrays on any communicator) as scipy matrices, in the penalised
form lambda ||L x||_1, which is the only one PyProximal's SR3 offers.

PyProximal's ``adaptive=True`` SR3 is Algorithm 8 with apg's extrapolation, the same as
hpcinv's ``sr3-inexact`` in the penalised form: one LSQR per outer step, warm-started,
stopped when the soft-thresholded L x_l changes by less than 1e-6 relative, and the outer
stop ||v - w|| / max(1, ||w||) < 1e-6 (fixed in PyProximal).  It returns x only, so its LSQR
steps are counted here: every stacked adjoint product is one of A, each LSQR call makes one
before its first step, and the outer steps are the calls of its ``_lsqr``.

PyProximal is not a dependency: ``ensure_pyproximal`` installs it with pip (numpy pinned,
as the PyLops peer of the seismic solvers).
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from ...core.errors import RuntimeFailure


def ensure_pyproximal():
    """PyProximal's sr3 module, installed first (with PyLops, numpy pinned) when missing."""
    from ..seismic import pylops_peer

    if not pylops_peer.available("pyproximal"):
        print(f"hpcinv: installing {' '.join(pylops_peer.PEER_REQUIREMENTS)} for the "
              f"PyProximal baseline", file=sys.stderr, flush=True)
        result = subprocess.run(pylops_peer.install_arguments(), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeFailure(f"pip could not install the PyProximal peer: "
                                 f"{result.stderr.strip()[-500:]}; by hand: "
                                 f"{pylops_peer.install_command()}")
        import importlib

        importlib.invalidate_caches()
    import pyproximal.optimization.sr3 as sr3_module

    return sr3_module


def scipy_matrix(operator):
    """An operator built on COMM_SELF as a scipy CSR matrix (assembled sparse Mats) or an
    ndarray (dense ones and operators without a matrix)."""
    import scipy.sparse as sp

    from ...linalg.dense import dense_matrix
    from ...linalg.operator import is_matrix_free

    if is_matrix_free(operator):
        return dense_matrix(operator)
    mat = operator.as_petsc_mat()
    if "dense" in mat.getType():
        return mat.getDenseArray().copy()
    indptr, indices, values = mat.getValuesCSR()
    return sp.csr_matrix((values.copy(), indices.copy(), indptr.copy()), shape=mat.getSize())


def soft_threshold(z: np.ndarray, threshold: float) -> np.ndarray:
    return np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)


def penalized_objective(A, L, b, x, kappa: float, weight: float) -> float:
    """SR3's relaxed objective 1/2 ||A x - b||^2 + kappa/2 ||L x - y||^2 + weight ||y||_1 at
    y = prox(L x), the y SR3 pairs with x."""
    z = L @ x
    y = soft_threshold(z, weight / kappa)
    return float(0.5 * np.sum((A @ x - b) ** 2) + 0.5 * kappa * np.sum((z - y) ** 2)
                 + weight * np.abs(y).sum())


def run_sr3(A, L, b, *, kappa: float, weight: float, max_outer: int,
            max_inner: int) -> dict:
    """PyProximal's adaptive SR3 on min 1/2 ||A x - b||^2 + weight ||L x||_1 from x = 0:
    {"x", "outer", "total", "seconds"} (seconds of the SR3 call alone)."""
    import pylops

    sr3_module = ensure_pyproximal()

    class CountingMatrix(pylops.LinearOperator):
        """A as a PyLops operator that counts its adjoint products."""

        def __init__(self, matrix):
            super().__init__(dtype=np.float64, shape=matrix.shape)
            self.matrix, self.adjoints = matrix, 0

        def _matvec(self, x):
            return self.matrix @ x

        def _rmatvec(self, y):
            self.adjoints += 1
            return self.matrix.T @ y

    operator = CountingMatrix(A)
    calls = {"lsqr": 0}
    original = sr3_module._lsqr

    def counted_lsqr(*args, **kwargs):
        calls["lsqr"] += 1
        return original(*args, **kwargs)

    sr3_module._lsqr = counted_lsqr   # restored below: the count is the only change
    try:
        start = time.perf_counter()
        x = sr3_module.SR3(operator, pylops.MatrixMult(L), np.asarray(b, dtype=float), kappa,
                           weight, x0=np.zeros(A.shape[1]), adaptive=True,
                           iter_lim_outer=max_outer, iter_lim_inner=max_inner)
        seconds = time.perf_counter() - start
    finally:
        sr3_module._lsqr = original
    return {"x": x, "outer": calls["lsqr"], "total": operator.adjoints - calls["lsqr"],
            "seconds": seconds}
