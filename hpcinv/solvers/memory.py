"""Memory estimates of the solver kinds beyond the default handful of Krylov vectors
(``core.jobspec.kinds.SolverKind.memory_estimate``): what each adds to a problem with an
m x n operator (``problem.rows`` x ``problem.columns``), from the solver's values and the
problem's ``facts``.  Bases are counted at their largest (``max_iterations`` steps or rank),
dense factorisations at their full size on every rank.
"""
from __future__ import annotations

import os

from ..core.memory import (COMPLEX, DOUBLE, INDEX, MemoryEstimate, assembled_sparse,
                           sparse_factor_nonzeros, vectors)

KRYLOV_DOMAIN_VECTORS = 6
KRYLOV_RANGE_VECTORS = 4


def krylov(problem: MemoryEstimate, keys: tuple = ()) -> MemoryEstimate:
    return MemoryEstimate(vectors(KRYLOV_DOMAIN_VECTORS, problem.columns)
                          + vectors(KRYLOV_RANGE_VECTORS, problem.rows), keys=keys)


# Tikhonov ----------------------------------------------------------------------------------

def _regularization_rows(name: str, n: int) -> int:
    """Rows p of the regularization operator L (``operators.regularization``)."""
    return {"derivative": n - 1, "laplacian": n - 2, "gradient2d": 2 * n}.get(name, n)


def _standard_form(name: str, grid_shape: tuple, n: int, m: int) -> MemoryEstimate:
    """A L_A^+ for a general L (``tikhonov.standard_form``): a sparse factorisation of L
    (square, invertible: LU) or of L L^T (full row rank: Cholesky) by MUMPS, about twice the
    factor's entries with its work space; CG (the 2-D gradient) needs only vectors.  Plus
    the null-space basis, A W and a few work vectors."""
    distributed = vectors(6, n) + vectors(4, m)
    if name in ("laplacian2d", "derivative", "laplacian"):
        factor = sparse_factor_nonzeros(n, len(grid_shape))
        distributed += 2 * (DOUBLE + INDEX) * factor
        if name != "laplacian2d":
            distributed += assembled_sparse(n, 5 * n)        # L L^T
    return MemoryEstimate(distributed, keys=("problem.regularization",))


def tikhonov_memory(values: dict, problem: MemoryEstimate) -> MemoryEstimate:
    m, n = problem.rows, problem.columns
    name = problem.facts.get("regularization", "identity")
    grid_shape = problem.facts.get("grid_shape", (n,))
    general = name != "identity"
    p = _regularization_rows(name, n)
    reduced = p if general else n            # columns of the standard-form operator
    method = values["method"]
    estimate = MemoryEstimate(vectors(4, n) + vectors(4, m))
    if general and method in ("lanczos", "rsvd"):
        estimate += _standard_form(name, grid_shape, n, m)
    if method == "lanczos":
        # Golub-Kahan bases U_{k+1}, V_k at max_iterations steps, for b and for each
        # Hutchinson probe
        k = min(values["max_iterations"], m, reduced)
        runs = 1 + (values["hutchinson_vectors"] if values["trace"] == "hutchinson" else 0)
        estimate += MemoryEstimate(runs * (vectors(k + 1, m) + vectors(k, reduced)),
                                   keys=("solver.max_iterations",))
    elif method == "rsvd":
        # the adaptive range finder's basis (grown by doubling) and its 10 look-ahead
        # samples on the sampled side, the opposite side's basis, both rotated
        k = min(values["max_iterations"], m, reduced)
        sampled, opposite = (reduced, m) if m < reduced else (m, reduced)
        estimate += MemoryEstimate(vectors(3 * k + 10, sampled) + vectors(2 * k, opposite),
                                   vectors(4, k * k), keys=("solver.max_iterations",))
    elif method == "svd":
        # SLEPc's LAPACK SVD: a dense copy of A and its factors on every rank; all min(m, n)
        # triplets, twice (SLEPc's and ours), split over the ranks
        rank = min(m, n)
        estimate += MemoryEstimate(vectors(2 * rank, m + n),
                                   vectors(1, m * n) + vectors(1, m * rank) + vectors(2, n * n)
                                   + vectors(2, max(m, n) ** 2),
                                   keys=("solver.method",))
    elif method == "gsvd":
        # dense copies of A and L on every rank and the factors of the pair's GSVD; the
        # min(m, n, p) triplets (u, v, x), twice
        rank = min(m, n, p)
        estimate += MemoryEstimate(vectors(2 * rank, m + p + n),
                                   vectors(2, (m + p) * n) + vectors(1, m * m + p * p)
                                   + vectors(2, n * n) + vectors(2, max(m + p, n) ** 2),
                                   keys=("solver.method",))
    else:   # lsqr on [A; sqrt(lambda) L]
        estimate += MemoryEstimate(vectors(6, n) + vectors(6, m + p)
                                   + (0 if general else assembled_sparse(n, n)))
    return estimate


# Recycling ---------------------------------------------------------------------------------

def _eigen_work(k: int, n: int) -> int:
    """SLEPc EPS for k eigenvectors: its ncv = max(2k, k + 15) basis vectors, and the k
    eigenvectors copied out."""
    return vectors(max(2 * k, k + 15) + k, n)


def _file_vectors(path: str, n: int) -> int:
    """Vectors of length n a recycle file holds (from its size), at least 1."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 1
    return max(1, size // (DOUBLE * max(1, n)))


def recycling_memory(values: dict, problem: MemoryEstimate,
                     spectral: bool = False) -> MemoryEstimate:
    """The augmented methods' vectors, the recycle space (U and C = T U, k vectors each, and
    what built them) and a warm start (read whole on every rank).  ``spectral``: the kind
    applies whole Fourier modes of a periodic reference in its spectrum (no U and C)."""
    m, n = problem.rows, problem.columns
    source = values["recycle"]
    k, distributed, replicated, keys = 0, 0, 0, ()
    if source in ("eigen", "reference-eigen"):
        k, keys = values["recycle_k"], ("solver.recycle_k",)
        if source == "reference-eigen" and values["eigen_solver"] == "fourier" \
                and problem.facts.get("periodic_reference"):
            # the whole spectrum (complex) with its magnitudes and sort, on every rank,
            # and the masked operator's eigenvalues
            replicated += (2 * COMPLEX + 2 * DOUBLE) * n
            distributed += vectors(1, n)
            if spectral:
                k = 0
        else:
            distributed += _eigen_work(k, n)
    elif source == "sd-iterates":
        operators = problem.facts.get("auxiliary_operators", 5)
        k, keys = values["recycle_iterations"] * operators, ("solver.recycle_iterations",)
        distributed += vectors(4, n)
    elif source == "results":
        k, keys = len(values["recycle_results"]), ("solver.recycle_results",)
        replicated += vectors(1, n)                        # a solution read whole
    elif source == "file":
        k, keys = _file_vectors(values["recycle_file"], n), ("solver.recycle_file",)
        replicated += vectors(k, n)                        # the file's array, read whole
    if values["warm_start"]:
        replicated += vectors(1, n)
    space = vectors(k, n) + vectors(k, m)                  # U and C
    return krylov(problem) + MemoryEstimate(distributed + space, replicated, keys=keys)


# PNKR ---------------------------------------------------------------------------------------

def pnkr_memory(values: dict, problem: MemoryEstimate) -> MemoryEstimate:
    """U and its previous iterate, the fitted cube and the noise-free one (distributed); the
    directions B (R x L) with the Theta metric's solve that makes them (every rank), and for
    ``step = "constant"`` the sky metric's sparse LU.  Block steps add a rank-``block``
    update of U's size and the gathered N x ``block`` residuals with their products."""
    m, n = problem.rows, problem.columns
    spatial, equations, thetas = problem.facts.get("block_rows", (1, m, n))
    replicated = vectors(3, equations * thetas) + vectors(2, spatial)
    distributed = vectors(3, n) + vectors(2, m)
    if values["step"] == "constant":
        replicated += 2 * (DOUBLE + INDEX) * sparse_factor_nonzeros(spatial, 2)
    if values["block"] > 1:
        distributed += vectors(1, n)
        replicated += vectors(4, spatial * min(values["block"], equations))
    return MemoryEstimate(distributed, replicated)


# Block Krylov MDD -------------------------------------------------------------------------

def block_krylov_memory(values: dict, problem: MemoryEstimate) -> MemoryEstimate:
    """Per frequency: the data block, the start's residual, the deflated block and Q1 (each
    at most one range vector over all frequencies: the complex half spectrum of real traces
    holds as many bytes), the iterate, its start and g's blocks (domain vectors), and for
    k block steps the basis V and its image A V, whose widths are at most k times the
    receivers: k domain and k range vectors.  k = ``iterations``, or ``max_iterations`` with
    the per-frequency discrepancy rule."""
    k = values["max_iterations"] if values["frequency_discrepancy"] else values["iterations"]
    keys = ("solver.max_iterations",) if values["frequency_discrepancy"] else \
        ("solver.iterations",)
    return MemoryEstimate(vectors(4 + k, problem.rows) + vectors(4 + k, problem.columns),
                          keys=keys)


def redatuming_memory(values: dict, problem: MemoryEstimate) -> MemoryEstimate:
    """What each formulation holds besides the problem: LSQR's x, u, v, w and its work
    vectors, the constraint's transposed copy and the composition's intermediate (about 8
    unknowns, one more for the penalty's L x and L (w - v), and 3 rows of its system: Q's
    rows, plus one unknown each for rho L and sqrt(lam) I when stacked); MINRES's KSP vectors
    on [g; mu] (9 of twice the unknowns in PETSc 3.18), the state's g and mu, the KKT
    product's work and one data-length residual."""
    n, m = problem.columns, problem.rows
    if values["formulation"] == "kkt":
        return MemoryEstimate(vectors(9, 2 * n) + vectors(6, n) + vectors(2, m),
                              keys=("solver.formulation",))
    penalty = values["formulation"] == "penalty"
    stacked_rows = m + n * (penalty + (values["lam"] > 0))
    return MemoryEstimate(vectors(8 + penalty, n) + vectors(3, stacked_rows),
                          keys=("solver.formulation",))
