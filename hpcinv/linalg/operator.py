"""Distributed linear operators over PETSc Vecs and their algebra.

An ``Operator`` is a linear map between distributed Vecs (``mult``, ``mult_transpose``, block
products for many right-hand sides) that becomes a PETSc Mat for KSP, TAO and SLEPc
(``as_petsc_mat``: assembled when it is a ``MatOperator``, else a shell Mat, ``shell.py``).
The algebra, matrix-free so every method sees one ``Operator`` whatever it is made of:
``A.T`` (Transposed), ``A @ B`` (Composed), ``alpha * A`` (Scaled), ``A + B`` and ``A - B``
(Sum), ``NormalOperator(A)`` = A^T A and ``StackedOperator(A, L, w)`` = [A; w L].  Each keeps
one work Vec per intermediate result, so a product allocates nothing; layouts must match
exactly, which the constructors check on the replicated layouts (the same decision on every
rank).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..core.petsc_log import logged
from .layout import Layout
from .shell import MATRIX_FREE_TYPES, shell_mat

# Each operator class's own products become PETSc log events (``-log_view``), named
# "<class> mult", "<class> multT", "<class> matmat", "<class> rmatmat".
_LOGGED_PRODUCTS = {"mult": "mult", "mult_transpose": "multT", "matmat": "matmat",
                    "rmatmat": "rmatmat"}


def is_matrix_free(operator) -> bool:
    """True when the operator has no assembled entries (direct factorizations and dense
    copies are impossible)."""
    return operator.as_petsc_mat().getType() in MATRIX_FREE_TYPES


class Operator:
    """A linear map A: R^n -> R^m whose vectors are distributed PETSc Vecs.

    ``range_layout`` and ``domain_layout`` (``Layout``) say how the m and n entries are split
    across ranks; ``shape``, ``local_shape`` and ``comm`` follow from them.  Subclasses call
    ``Operator.__init__`` with the two layouts and implement ``mult`` and
    ``mult_transpose``; ``matmat``/``rmatmat`` (many right-hand sides at once) fall back to
    one product per column unless a subclass does better (BLAS-3).  ``dtype`` is the
    scalar type of the operator's entries: float64 for every operator on PETSc's real-scalar
    Vecs; a complex operator (frequency blocks) acts on numpy blocks through ``matmat``.
    Operators compose: ``A @ B``, ``A.T``, ``2.0 * A``, ``A + B``, ``A - B`` (the classes
    below).
    """

    symmetric = False   # True when A^T = A (eigensolvers may use the Hermitian methods)
    _shell = None       # the shell Mat, made on first use
    # The algebra's classes and assembled Mats (PETSc logs MatMult itself) are not logged:
    # only the products that do the work appear in ``-log_view``.
    log_products = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("log_products", True):
            return
        for method, label in _LOGGED_PRODUCTS.items():
            if method in cls.__dict__:
                setattr(cls, method, logged(f"{cls.__name__} {label}", cls.__dict__[method]))

    def __init__(self, range_layout, domain_layout, dtype=np.float64):
        self.range_layout = range_layout
        self.domain_layout = domain_layout
        self.dtype = np.dtype(dtype)

    def __getattr__(self, name):
        # Only reached for missing attributes; name the usual cause when the layouts are.
        if not name.startswith("__") and "range_layout" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no {name}: its __init__ must call "
                                 f"Operator.__init__(self, range_layout, domain_layout)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.range_layout.size, self.domain_layout.size)

    @property
    def local_shape(self) -> tuple[int, int]:
        return (self.range_layout.local_size, self.domain_layout.local_size)

    @property
    def comm(self):
        """The PETSc communicator of the operator's Vecs."""
        return self.domain_layout.comm

    def mult(self, x, y) -> None:
        """y = A x."""
        raise NotImplementedError

    def mult_transpose(self, y, x) -> None:
        """x = A^T y."""
        raise NotImplementedError

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """A X for a block of k columns: ``X`` holds this rank's rows of the domain
        (local n x k), the result this rank's rows of the range (local m x k)."""
        return self._columnwise(X, self.mult, transpose=False)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        """A^T Y for a block of k columns (this rank's rows, as ``matmat``)."""
        return self._columnwise(Y, self.mult_transpose, transpose=True)

    def _columnwise(self, block, product, transpose: bool) -> np.ndarray:
        block = np.asarray(block)
        source_layout, target_layout = ((self.range_layout, self.domain_layout) if transpose
                                        else (self.domain_layout, self.range_layout))
        if block.ndim != 2 or block.shape[0] != source_layout.local_size:
            raise ValueError(f"block: expected this rank's {source_layout.local_size} rows "
                             f"and k columns, got shape {block.shape}")
        domain, range_ = self.create_vecs()
        source, target = (range_, domain) if transpose else (domain, range_)
        out = np.empty((target_layout.local_size, block.shape[1]),
                       dtype=np.result_type(block.dtype, self.dtype))
        for column in range(block.shape[1]):
            source.getArray()[:] = block[:, column]
            product(source, target)
            out[:, column] = target.getArray(readonly=True)
        return out

    def create_vecs(self):
        """(domain vector of length n, range vector of length m), zeroed."""
        return self.as_petsc_mat().createVecs()

    def natural_row_ranges(self) -> list:
        """[(start, stop)]: the rank-independent numbers of this rank's rows, in their local
        order (random probes drawn by these numbers agree on any number of ranks)."""
        return [(self.range_layout.start, self.range_layout.stop)]

    def natural_column_ranges(self) -> list:
        """The same for this rank's entries of the domain (another operator's rows, for an
        operator whose domain is that operator's range, as L^+'s is L's)."""
        return [(self.domain_layout.start, self.domain_layout.stop)]

    def gathered_range(self, y) -> np.ndarray:
        """A range vector as one array on every rank, in the rank-independent row order of
        ``natural_row_ranges`` (collective; small vectors: tests, figures)."""
        layout = Layout.of_vec(y)
        numbers = np.concatenate([np.arange(start, stop)
                                  for start, stop in self.natural_row_ranges()])
        whole = np.empty(layout.size)
        # gather moves doubles: the row numbers (below 2^53) come back exact
        whole[layout.gather(numbers).astype(np.int64)] = layout.gather(y.getArray(readonly=True))
        return whole

    def as_petsc_mat(self):
        """A PETSc Mat applying this operator (a shell Mat unless one is assembled)."""
        if self._shell is None:
            self._shell = shell_mat(self)
        return self._shell

    # The algebra below: each returns an operator applying the combination matrix-free.
    @property
    def T(self) -> "Operator":   # noqa: N802 - the usual name of a transpose
        return Transposed(self)

    def __matmul__(self, other: "Operator") -> "Operator":
        return Composed(self, other)

    def __mul__(self, scalar: float) -> "Operator":
        return Scaled(self, scalar)

    __rmul__ = __mul__

    def __neg__(self) -> "Operator":
        return self * -1.0

    def __add__(self, other: "Operator") -> "Operator":
        return Sum(self, other)

    def __sub__(self, other: "Operator") -> "Operator":
        return Sum(self, other, -1.0)


class MatOperator(Operator):
    """An operator held as an assembled PETSc Mat (AIJ, dense, ...)."""

    log_products = False

    def __init__(self, mat):
        self.mat = mat
        comm = mat.getComm()
        super().__init__(Layout.from_ranges(comm, mat.getOwnershipRanges()),
                         Layout.from_ranges(comm, mat.getOwnershipRangesColumn()))

    def mult(self, x, y) -> None:
        self.mat.mult(x, y)

    def mult_transpose(self, y, x) -> None:
        self.mat.multTranspose(y, x)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        return self._block_product(X, transpose=False)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return self._block_product(Y, transpose=True)

    def _block_product(self, block, transpose: bool) -> np.ndarray:
        """PETSc's MatMatMult (or MatTransposeMatMult) with the block as a dense Mat: one
        sparse-times-dense (or GEMM) product instead of k matrix-vector products."""
        from petsc4py import PETSc

        block = np.asarray(block, dtype=float)
        source = self.range_layout if transpose else self.domain_layout
        if block.ndim != 2 or block.shape[0] != source.local_size:
            raise ValueError(f"block: expected this rank's {source.local_size} rows and k "
                             f"columns, got shape {block.shape}")
        columns = block.shape[1]
        dense = PETSc.Mat().createDense(((source.local_size, source.size),
                                         (PETSc.DECIDE, columns)),
                                        array=np.asfortranarray(block), comm=self.comm)
        dense.assemble()
        product = (self.mat.transposeMatMult(dense) if transpose
                   else self.mat.matMult(dense))
        out = np.array(product.getDenseArray(), copy=True)
        for mat in (dense, product):
            mat.destroy()
        return out

    def as_petsc_mat(self):
        return self.mat


def _check_layouts(what: str, left: Layout, right: Layout) -> None:
    if left != right:
        raise ValueError(f"{what}: the layouts differ ({left} and {right}); the operators must "
                         f"split that space alike")


class Transposed(Operator):
    """A^T."""

    log_products = False

    def __init__(self, operator: Operator):
        super().__init__(operator.domain_layout, operator.range_layout, operator.dtype)
        self.operator = operator
        self.symmetric = operator.symmetric

    def natural_row_ranges(self) -> list:
        return self.operator.natural_column_ranges()

    def natural_column_ranges(self) -> list:
        return self.operator.natural_row_ranges()

    def mult(self, x, y) -> None:
        self.operator.mult_transpose(x, y)

    def mult_transpose(self, y, x) -> None:
        self.operator.mult(y, x)

    def matmat(self, X):
        return self.operator.rmatmat(X)

    def rmatmat(self, Y):
        return self.operator.matmat(Y)

    @property
    def T(self) -> Operator:   # noqa: N802
        return self.operator


class Composed(Operator):
    """A B (B first): domain of B, range of A."""

    log_products = False

    def __init__(self, outer: Operator, inner: Operator):
        _check_layouts("A @ B: the domain of A and the range of B", outer.domain_layout,
                       inner.range_layout)
        super().__init__(outer.range_layout, inner.domain_layout,
                         np.result_type(outer.dtype, inner.dtype))
        self.outer, self.inner = outer, inner
        self._middle = inner.create_vecs()[1]

    def natural_row_ranges(self) -> list:
        return self.outer.natural_row_ranges()

    def natural_column_ranges(self) -> list:
        return self.inner.natural_column_ranges()

    def mult(self, x, y) -> None:
        self.inner.mult(x, self._middle)
        self.outer.mult(self._middle, y)

    def mult_transpose(self, y, x) -> None:
        self.outer.mult_transpose(y, self._middle)
        self.inner.mult_transpose(self._middle, x)

    def matmat(self, X):
        return self.outer.matmat(self.inner.matmat(X))

    def rmatmat(self, Y):
        return self.inner.rmatmat(self.outer.rmatmat(Y))


class NormalOperator(Composed):
    """T^T T, symmetric (for eigensolvers: its eigenvectors are T's right singular vectors)."""

    symmetric = True

    def __init__(self, operator: Operator):
        super().__init__(Transposed(operator), operator)


class Scaled(Operator):
    """alpha A."""

    log_products = False

    def __init__(self, operator: Operator, alpha: float):
        super().__init__(operator.range_layout, operator.domain_layout, operator.dtype)
        self.operator, self.alpha = operator, float(alpha)
        self.symmetric = operator.symmetric

    def natural_row_ranges(self) -> list:
        return self.operator.natural_row_ranges()

    def mult(self, x, y) -> None:
        self.operator.mult(x, y)
        y.scale(self.alpha)

    def mult_transpose(self, y, x) -> None:
        self.operator.mult_transpose(y, x)
        x.scale(self.alpha)

    def matmat(self, X):
        return self.alpha * self.operator.matmat(X)

    def rmatmat(self, Y):
        return self.alpha * self.operator.rmatmat(Y)


class Sum(Operator):
    """A + beta B for operators of the same shape and layouts."""

    log_products = False

    def __init__(self, first: Operator, second: Operator, beta: float = 1.0):
        _check_layouts("A + B: the domains", first.domain_layout, second.domain_layout)
        _check_layouts("A + B: the ranges", first.range_layout, second.range_layout)
        super().__init__(first.range_layout, first.domain_layout,
                         np.result_type(first.dtype, second.dtype))
        self.first, self.second, self.beta = first, second, float(beta)
        self.symmetric = first.symmetric and second.symmetric
        self._domain_work, self._range_work = second.create_vecs()

    def mult(self, x, y) -> None:
        self.first.mult(x, y)
        self.second.mult(x, self._range_work)
        y.axpy(self.beta, self._range_work)

    def mult_transpose(self, y, x) -> None:
        self.first.mult_transpose(y, x)
        self.second.mult_transpose(y, self._domain_work)
        x.axpy(self.beta, self._domain_work)

    def matmat(self, X):
        return self.first.matmat(X) + self.beta * self.second.matmat(X)

    def rmatmat(self, Y):
        return self.first.rmatmat(Y) + self.beta * self.second.rmatmat(Y)


@contextmanager
def vec_blocks(z, *index_sets):
    """The parts of Vec ``z`` at ``index_sets`` as Vecs sharing its storage, restored on
    exit."""
    parts = [z.getSubVector(index) for index in index_sets]
    try:
        yield tuple(parts)
    finally:
        for index, part in zip(index_sets, parts):
            z.restoreSubVector(index, part)


class StackedOperator(Operator):
    """[A; weight L] for operators A (m x n) and L (p x n) with the same domain layout.

    Range vectors are plain MPI Vecs (KSP needs those, not VecNest) in which every rank owns
    its local rows of A followed by its local rows of L.  This is also the layout of the left
    vectors SLEPc returns for a GSVD (``[u; v]``), so ``split`` serves both.
    """

    log_products = False

    def __init__(self, A: Operator, L: Operator, weight: float = 1.0):
        if A.shape[1] != L.shape[1] or A.domain_layout != L.domain_layout:
            raise ValueError(f"L: needs the columns of A ({A.shape[1]}, {A.local_shape[1]} on "
                             f"this rank), has {L.shape[1]} ({L.local_shape[1]} on this rank)")
        from petsc4py import PETSc

        counts = [a + l for a, l in zip(A.range_layout.counts, L.range_layout.counts)]
        super().__init__(Layout(A.comm, counts), A.domain_layout,
                         np.result_type(A.dtype, L.dtype))
        self.A, self.L, self.weight = A, L, float(weight)
        start, m_local = self.range_layout.start, A.local_shape[0]
        self._top = PETSc.IS().createStride(m_local, first=start, step=1, comm=self.comm)
        self._bottom = PETSc.IS().createStride(L.local_shape[0], first=start + m_local, step=1,
                                               comm=self.comm)
        self._work, _ = A.create_vecs()

    def create_vecs(self):
        return self.domain_layout.create_vec(), self.range_layout.create_vec()

    def natural_row_ranges(self) -> list:
        """A's rows, then L's numbered after all of A's: the order of [A; L] whatever the
        ranks, unlike the Vecs' global order, which interleaves the ranks' blocks."""
        offset = self.A.shape[0]
        return self.A.natural_row_ranges() + [(start + offset, stop + offset)
                                              for start, stop in self.L.natural_row_ranges()]

    def blocks(self, z):
        """The blocks (z_A, z_L) of a stacked vector as Vecs sharing its storage, laid out as
        A's and L's rows, restored on exit (a context manager)."""
        return vec_blocks(z, self._top, self._bottom)

    def mult(self, x, y) -> None:
        with self.blocks(y) as (top, bottom):
            self.A.mult(x, top)
            self.L.mult(x, bottom)
            bottom.scale(self.weight)

    def mult_transpose(self, y, x) -> None:
        with self.blocks(y) as (top, bottom):
            self.A.mult_transpose(top, x)
            self.L.mult_transpose(bottom, self._work)
            x.axpy(self.weight, self._work)

    def split(self, z):
        """Copies (z_A, z_L) of the two blocks of a stacked vector, laid out as A's and L's rows."""
        with self.blocks(z) as parts:
            return tuple(part.copy() for part in parts)

    def stack_data(self, b):
        """[b; 0], the right-hand side of the stacked least-squares problem."""
        _, z = self.create_vecs()
        with self.blocks(z) as (top, _):
            b.copy(top)
        return z
