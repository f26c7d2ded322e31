"""Randomized SVD of a distributed operator (Halko, Martinsson & Tropp 2011, Algs. 4.2 and 5.1),
as Luiken's thesis uses it to evaluate the parameter-choice functionals.

SLEPc's own ``randomized`` SVD type (see ``svd_backends``) fixes the number of triplets
in advance; Alg. 4.2 instead grows the basis until a probabilistic bound on
||A - Q Q^T A|| meets a tolerance, and the thesis' transposed variant samples A^T, so both are
written here on top of SLEPc BVs.  The Gaussian test vectors come from ``normal_slice`` with
one seed per column, so 1-rank and P-rank runs draw the same matrix Omega.

Alg. 4.2 as Halko writes it draws, projects and normalises one vector at a time: one
matrix-vector product (BLAS-2) and one reduction per column.  Here the basis grows ``block``
columns at a time: one operator product with a block of Omega (``Operator.matmat``, a GEMM
for an assembled Mat), block Gram-Schmidt against Q (``BV.dot``/``BV.mult``) and a TSQR of
the new columns; ``block=1`` is Halko's algorithm itself.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..random import normal_slice
from .truncated_svd import TruncatedSVD
from ...core.mpi import same_on_every_rank

# Halko (4.3): ||(I - Q Q^T) A|| <= 10 sqrt(2/pi) max_i ||(I - Q Q^T) A w_i|| over r Gaussian
# w_i, with probability >= 1 - min(m, n) 10^-r.
_HALKO_FACTOR = 10.0 * math.sqrt(2.0 / math.pi)

# Columns the adaptive range finder adds per step.  On dense gravity at tolerance 1e-3
# (benchmarks/paramchoice.py --rsvd-speed --blocks 1 8 16 32 64; Alg. 4.2 stops at rank 22)
# the SVD took, of its one-vector time on 1 rank, 0.35, 0.37, 0.34, 0.62 at n = 4000 and
# 0.18, 0.16, 0.17, 0.21 at n = 16000.  16 and 32 both stop at rank 32 and differ by less
# than the noise; 8 makes one more pass over A, 64 overshoots to rank 64.  Of the two, 16
# keeps less overshoot (at most block - 1 columns), which costs products one by one for a
# matrix-free operator, where blocks save only the orthogonalisation.
DEFAULT_BLOCK = 16


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


@contextmanager
def _local_columns(bv):
    """This rank's rows of the BV's active columns (leading ones excluded), as a writable
    array sharing the BV's storage inside the ``with``."""
    mat = bv.getMat()
    try:
        yield mat.getDenseArray()
    finally:
        bv.restoreMat(mat)


class _Sampler:
    """Products A W (or A^T W when ``transpose``) with blocks W of Gaussian columns, and the
    opposite products, through the operator's block products (``matmat``/``rmatmat``: one
    GEMM for a dense Mat, MatMatMult for a sparse one, a product per column for the rest)."""

    def __init__(self, operator, transpose: bool):
        self.operator, self.transpose = operator, transpose
        domain, range_ = operator.create_vecs()
        self.omega, self.sample_template = (range_, domain) if transpose else (domain, range_)
        # Omega's entries are drawn by their rank-independent numbers (an L-range domain is
        # split by pixels, not in its own order).
        self._omega_ranges = (operator.natural_row_ranges() if transpose
                              else operator.natural_column_ranges())
        # PETSc 3.18 without Elemental multiplies an MPI dense Mat by a dense block one
        # column at a time (MatProduct's fallback; 8x slower than a GEMM at n = 4000 on 2
        # ranks), while A^T B has a kernel of its own.  Such an A B is this rank's rows of A
        # times the gathered block instead: one Allgatherv of the block and one GEMM.
        self._distributed_dense = operator.as_petsc_mat().getType() == "mpidense"

    def apply(self, block: np.ndarray) -> np.ndarray:
        return self._product(block, self.transpose)

    def apply_opposite(self, block: np.ndarray) -> np.ndarray:
        return self._product(block, not self.transpose)

    def _product(self, block: np.ndarray, transpose: bool) -> np.ndarray:
        if transpose:
            return self.operator.rmatmat(block)
        if self._distributed_dense:
            rows = self.operator.as_petsc_mat().getDenseArray()
            return rows @ self.operator.domain_layout.gather(block)
        return self.operator.matmat(block)

    def sample(self, seed: int, first_column: int, out) -> None:
        """out's active columns = A [omega_first_column, omega_first_column + 1, ...]."""
        with _local_columns(out) as samples:
            omega = np.empty((self.omega.getLocalSize(), samples.shape[1]), order="F")
            for offset in range(samples.shape[1]):
                omega[:, offset] = np.concatenate(
                    [normal_slice(column_seed(seed, first_column + offset), start, stop)
                     for start, stop in self._omega_ranges])
            samples[:] = self.apply(omega)


def _basis_vectors(template, columns: int):
    from ...core.petsc_env import initialize_slepc

    SLEPc = initialize_slepc()
    bv = SLEPc.BV().create(comm=template.getComm())
    bv.setSizesFromVec(template, columns)
    # BV.orthogonalize's QR of a block: TSQR is Householder's QR, orthonormal to rounding
    # however ill-conditioned the block (the late samples of a decaying spectrum are nearly
    # dependent: Cholesky QR breaks down on them), in one reduction; SLEPc's default
    # orthogonalises column by column.
    bv.setOrthogonalization(block=SLEPc.BV.OrthogBlockType.TSQR)
    from ...core.petsc_options import petsc_input_errors

    with petsc_input_errors():   # a bad option value is bad input
        bv.setFromOptions()  # -bv_type, -bv_orthog_* (Gram-Schmidt variant, block QR)
    return bv


def _column_norms(bv) -> np.ndarray:
    """2-norms of the BV's active columns in one reduction."""
    from mpi4py import MPI

    with _local_columns(bv) as columns:
        squares = np.einsum("ij,ij->j", columns, columns)
    bv.getComm().tompi4py().Allreduce(MPI.IN_PLACE, squares)
    return np.sqrt(squares)


def _project_out(basis, target) -> None:
    """target -= basis (basis^T target) on the active columns of both (block Gram-Schmidt:
    two GEMMs and one reduction)."""
    first, stop = basis.getActiveColumns()
    if first == stop:
        return
    coefficients = target.dot(basis)
    target.mult(-1.0, 1.0, basis, coefficients)
    coefficients.destroy()


def _check_max_rank(max_rank, limit: int) -> int:
    if max_rank is None:
        return limit
    if not 1 <= max_rank <= limit:
        raise ValueError(f"max_rank must lie in [1, min(m, n)={limit}], got {max_rank}")
    return max_rank


def adaptive_range_finder(operator, epsilon: float, lookahead: int = 10, seed: int = 0,
                          max_rank: int | None = None, transpose: bool = False,
                          block: int = DEFAULT_BLOCK) -> RangeBasis:
    """Halko's Alg. 4.2 grown ``block`` columns at a time: Q with ||A - Q Q^T A|| <= epsilon
    (||A - A Q Q^T|| with ``transpose``) with probability >= 1 - min(m, n) 10^-lookahead, or
    the first ``max_rank`` (default min(m, n)) columns and ``compressed=False`` if the
    tolerance is not met by then.  Costs rank + lookahead products.

    The test is Alg. 4.2's, (4.3) on the ``lookahead`` samples drawn after Q's columns, made
    after each block: the rank is the first multiple of ``block`` (or ``max_rank``) at which
    it passes, as a rule the first at or past the rank of Alg. 4.2 itself (``block=1``),
    whose Q spans the first columns of this one (both orthonormalise the samples in order)."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if lookahead < 1:
        raise ValueError(f"lookahead must be >= 1, got {lookahead}")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    max_rank = _check_max_rank(max_rank, min(operator.shape))
    threshold = epsilon / _HALKO_FACTOR
    sampler = _Sampler(operator, transpose)
    # The samples not (yet) in Q, oldest first, each projected against Q: the first
    # ``lookahead`` are the test, then room for the next block's.
    samples = _basis_vectors(sampler.sample_template, lookahead + block)
    # The first test and the first block in one product (one pass over a dense A): only an
    # error, a tolerance that no column is needed for, stops before the block is used.
    step = min(block, max_rank)
    samples.setActiveColumns(0, lookahead + step)
    sampler.sample(seed, 0, samples)
    samples.setActiveColumns(0, lookahead)
    if np.max(_column_norms(samples)) <= threshold:
        samples.destroy()
        raise ValueError(f"epsilon={epsilon} is met by an empty basis: every sample "
                         f"||A w|| is below epsilon / (10 sqrt(2/pi)); choose a smaller epsilon")
    Q = _basis_vectors(sampler.sample_template, min(max_rank, lookahead + block))
    rank = 0
    while True:
        # samples[lookahead:lookahead + step], the block drawn last, against Q
        samples.setActiveColumns(lookahead, lookahead + step)
        Q.setActiveColumns(0, rank)
        _project_out(Q, samples)
        if rank + step > Q.getSizes()[1]:
            Q = _grown(Q, min(max_rank, max(2 * rank, rank + step)))
        # The oldest ``step`` samples become Q's next columns.  Each BV.orthogonalize is a
        # block Gram-Schmidt against Q's first ``rank`` columns and a TSQR of the block.
        # Halko sec. 4.4: the samples have lost orthogonality to Q by round-off, and a
        # nearly dependent one (a decaying spectrum's last) comes out of the QR divided by
        # its small R entry, round-off and all, so the pair runs twice (block CGS2).
        samples.setActiveColumns(0, step)
        Q.setActiveColumns(rank, rank + step)
        samples.copy(Q)
        Q.orthogonalize()
        Q.orthogonalize()
        rank += step
        # The samples after them are the next test: projected against the new columns and
        # moved to the front.
        samples.setActiveColumns(step, step + lookahead)
        _project_out(Q, samples)
        for column in range(lookahead):
            samples.copyColumn(step + column, column)
        samples.setActiveColumns(0, lookahead)
        met = bool(np.max(_column_norms(samples)) <= threshold)
        if met or rank == max_rank:
            samples.destroy()
            return RangeBasis(_shrunk(Q, rank), rank + lookahead, compressed=met)
        step = min(block, max_rank - rank)
        samples.setActiveColumns(lookahead, lookahead + step)
        sampler.sample(seed, rank + lookahead, samples)


def _grown(Q, columns: int):
    """Q with room for ``columns`` columns, its active ones copied.  A new BV, not BV.resize:
    SLEPc 3.18's resize keeps the block-orthogonalisation buffer of the old column count,
    which BV.orthogonalize then rejects as too small."""
    bigger = Q.duplicateResize(columns)
    bigger.setActiveColumns(*Q.getActiveColumns())
    Q.copy(bigger)
    Q.destroy()
    return bigger


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
    sampler.sample(seed, 0, Q)
    Q.orthogonalize()
    return RangeBasis(Q, samples, compressed=True)


def randomized_svd(operator, epsilon: float | None = None, rank: int | None = None,
                   oversampling: int = 10, lookahead: int = 10, seed: int = 0,
                   transpose: bool = False, max_rank: int | None = None,
                   block: int = DEFAULT_BLOCK) -> TruncatedSVD:
    """Halko's Alg. 5.1 on the adaptive basis (``epsilon`` given; ``max_rank`` caps it and
    it grows ``block`` columns at a time) or on rank + oversampling samples (only ``rank``
    given), truncated to ``rank`` when given.  ``matvecs`` counts the
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
                                      transpose=transpose, block=block)
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
    with _local_columns(Q) as q, _local_columns(P) as p:
        p[:] = sampler.apply_opposite(q)
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
