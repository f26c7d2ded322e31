"""Randomized SVD of a distributed operator (Halko, Martinsson & Tropp 2011, Algs. 4.2 and 5.1),
as Luiken's thesis uses it to evaluate the parameter-choice functionals.

SLEPc's own ``randomized`` SVD type (see ``svd_backends``) fixes the number of triplets
in advance; Alg. 4.2 instead grows the basis until a probabilistic bound on
||A - Q Q^T A|| meets a tolerance, and the thesis' transposed variant samples A^T, so both are
written here on top of SLEPc BVs.  The Gaussian test vectors come from ``normal_slice`` with
one seed per column, so 1-rank and P-rank runs draw the same matrix Omega.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..random import normal_slice
from ..vectors import dots, norms
from .truncated_svd import TruncatedSVD
from ...core.mpi import same_on_every_rank

# Halko (4.3): ||(I - Q Q^T) A|| <= 10 sqrt(2/pi) max_i ||(I - Q Q^T) A w_i|| over r Gaussian
# w_i, with probability >= 1 - min(m, n) 10^-r.
_HALKO_FACTOR = 10.0 * math.sqrt(2.0 / math.pi)


@dataclass
class RangeBasis:
    """``Q``: a BV of orthonormal columns spanning (approximately) the range of A, or of A^T
    when sampled transposed; ``compressed`` is False when the finder stopped at ``max_rank``
    before meeting the tolerance."""
    Q: object
    matvecs: int
    compressed: bool

    @property
    def rank(self) -> int:
        return self.Q.getSizes()[1]


def column_seed(seed: int, column: int) -> int:
    """The seed of Omega's column ``column``: distinct per (seed, column), rank-independent."""
    return int(np.random.SeedSequence([seed, column]).generate_state(1, np.uint64)[0])


class _Sampler:
    """Products A w (or A^T w when ``transpose``) with Gaussian w, and the opposite products."""

    def __init__(self, operator, transpose: bool):
        self.operator, self.transpose = operator, transpose
        domain, range_ = operator.create_vecs()
        self.omega, self.sample_template = (range_, domain) if transpose else (domain, range_)

    def apply(self, x, y) -> None:
        (self.operator.mult_transpose if self.transpose else self.operator.mult)(x, y)

    def apply_opposite(self, x, y) -> None:
        (self.operator.mult if self.transpose else self.operator.mult_transpose)(x, y)

    def sample(self, seed: int, column: int, out) -> None:
        """out = A omega_column, omega's entries drawn by their rank-independent numbers
        (an L-range domain is split by pixels, not in its own order)."""
        ranges = (self.operator.natural_row_ranges() if self.transpose
                  else self.operator.natural_column_ranges())
        self.omega.getArray()[:] = np.concatenate(
            [normal_slice(column_seed(seed, column), start, stop) for start, stop in ranges])
        self.apply(self.omega, out)


def _basis_vectors(template, columns: int):
    from ...core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    bv = SLEPc.BV().create(comm=template.getComm())
    bv.setSizesFromVec(template, columns)
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        bv.setFromOptions()  # -bv_type, -bv_orthog_* (Gram-Schmidt variant, block QR)
    return bv


def _check_max_rank(max_rank, limit: int) -> int:
    if max_rank is None:
        return limit
    if not 1 <= max_rank <= limit:
        raise ValueError(f"max_rank must lie in [1, min(m, n)={limit}], got {max_rank}")
    return max_rank


def adaptive_range_finder(operator, epsilon: float, lookahead: int = 10, seed: int = 0,
                          max_rank: int | None = None, transpose: bool = False) -> RangeBasis:
    """Halko's Alg. 4.2: Q with ||A - Q Q^T A|| <= epsilon (||A - A Q Q^T|| with
    ``transpose``) with probability >= 1 - min(m, n) 10^-lookahead, or the first ``max_rank``
    (default min(m, n)) columns and ``compressed=False`` if the tolerance is not met by then.
    Costs rank + lookahead products."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if lookahead < 1:
        raise ValueError(f"lookahead must be >= 1, got {lookahead}")
    max_rank = _check_max_rank(max_rank, min(operator.shape))
    threshold = epsilon / _HALKO_FACTOR
    sampler = _Sampler(operator, transpose)
    window = deque()
    for column in range(lookahead):
        window.append(sampler.sample_template.duplicate())
        sampler.sample(seed, column, window[-1])
    matvecs = lookahead
    Q = _basis_vectors(sampler.sample_template, min(max_rank, 2 * lookahead))
    rank = 0
    while max(norms(window)) > threshold:
        if rank == max_rank:
            return RangeBasis(_shrunk(Q, rank), matvecs, compressed=False)
        oldest = window.popleft()
        # Halko sec. 4.4: y_j has lost orthogonality to Q by round-off, so it is projected
        # again (SLEPc's Gram-Schmidt refines when needed) before it is normalised.
        Q.setActiveColumns(0, rank)
        norm, _ = Q.orthogonalizeVec(oldest)
        oldest.scale(1.0 / norm)
        if rank == Q.getSizes()[1]:
            Q.resize(min(max_rank, 2 * rank))
        Q.insertVec(rank, oldest)
        rank += 1
        Q.setActiveColumns(0, rank)
        for waiting, coefficient in zip(window, dots(oldest, window)):
            waiting.axpy(-coefficient, oldest)
        window.append(sampler.sample_template.duplicate())
        sampler.sample(seed, rank + lookahead - 1, window[-1])
        matvecs += 1
        Q.orthogonalizeVec(window[-1])
    if rank == 0:
        raise ValueError(f"epsilon={epsilon} is met by an empty basis: every sample "
                         f"||A w|| is below epsilon / (10 sqrt(2/pi)); choose a smaller epsilon")
    return RangeBasis(_shrunk(Q, rank), matvecs, compressed=True)


def _shrunk(Q, columns: int):
    Q.resize(columns)
    Q.setActiveColumns(0, columns)
    return Q


def fixed_rank_range(operator, samples: int, seed: int = 0, transpose: bool = False) -> RangeBasis:
    """Halko's Alg. 4.1: the orthonormalised A Omega (A^T Omega) of ``samples`` Gaussian columns."""
    if not 1 <= samples <= min(operator.shape):
        raise ValueError(f"samples must lie in [1, min(m, n)={min(operator.shape)}], got {samples}")
    sampler = _Sampler(operator, transpose)
    Q = _basis_vectors(sampler.sample_template, samples)
    for column in range(samples):
        target = Q.getColumn(column)
        sampler.sample(seed, column, target)
        Q.restoreColumn(column, target)
    Q.orthogonalize()
    return RangeBasis(Q, samples, compressed=True)


def randomized_svd(operator, epsilon: float | None = None, rank: int | None = None,
                   oversampling: int = 10, lookahead: int = 10, seed: int = 0,
                   transpose: bool = False, max_rank: int | None = None) -> TruncatedSVD:
    """Halko's Alg. 5.1 on the adaptive basis (``epsilon`` given) or on rank + oversampling
    samples (only ``rank`` given), truncated to ``rank`` when given; ``max_rank`` caps the
    adaptive basis.  ``matvecs`` counts the
    basis's products and k more with A^T (with A when ``transpose``) for a k-column basis."""
    limit = min(operator.shape)
    if epsilon is None and rank is None:
        raise ValueError("randomized_svd needs epsilon (adaptive basis) or rank (fixed basis)")
    if rank is not None and not 1 <= rank <= limit:
        raise ValueError(f"rank must lie in [1, min(m, n)={limit}], got {rank}")
    if oversampling < 0:
        raise ValueError(f"oversampling must be >= 0, got {oversampling}")
    if epsilon is not None:
        basis = adaptive_range_finder(operator, epsilon, lookahead, seed, max_rank=max_rank,
                                      transpose=transpose)
        method = "rsvd-adaptive"
    else:
        basis = fixed_rank_range(operator, min(rank + oversampling, limit), seed, transpose)
        method = "rsvd-fixed-rank"
    method += "-transposed" if transpose else ""
    return _svd_from_basis(operator, basis, rank, transpose, method)


def _svd_from_basis(operator, basis: RangeBasis, rank: int | None, transpose: bool,
                    method: str) -> TruncatedSVD:
    """With W = A^T Q = P R (thin QR), Q Q^T A = Q R^T P^T, so R^T = L S T^T gives
    A ~ (Q L) S (P T)^T; transposed, W = A Q = P R and A Q Q^T = (P T) S (Q L)^T.  Only
    the k x k R is replicated."""
    from petsc4py import PETSc

    Q, columns = basis.Q, basis.rank
    sampler = _Sampler(operator, transpose)
    P = _basis_vectors(sampler.omega, columns)
    for column in range(columns):
        q, p = Q.getColumn(column), P.getColumn(column)
        sampler.apply_opposite(q, p)
        Q.restoreColumn(column, q)
        P.restoreColumn(column, p)
    R = PETSc.Mat().createDense((columns, columns), comm=PETSc.COMM_SELF)
    R.setUp()
    P.orthogonalize(R)
    small = R.getDenseArray().copy()
    # Every rank holds the same R, but LAPACK may pick other signs on other hardware;
    # rank 0's factors keep U and V consistent across ranks.
    left, s, right_t = same_on_every_rank(operator.comm.tompi4py(), np.linalg.svd(small.T))
    keep = columns if rank is None else min(rank, columns)
    sample_side, opposite_side = _rotated(Q, left, keep), _rotated(P, right_t.T, keep)
    U, V = (opposite_side, sample_side) if transpose else (sample_side, opposite_side)
    return TruncatedSVD(U=U, s=s[:keep], V=V, matvecs=basis.matvecs + columns, method=method,
                        compressed=basis.compressed)


def _rotated(basis, coefficients: np.ndarray, keep: int):
    """basis @ coefficients[:, :keep] as a new BV."""
    from petsc4py import PETSc

    rotation = PETSc.Mat().createDense(
        (coefficients.shape[0], keep), array=np.asfortranarray(coefficients[:, :keep]),
        comm=PETSc.COMM_SELF)
    out = basis.duplicateResize(keep)
    out.mult(1.0, 0.0, basis, rotation)
    return out
