"""The operators the constrained formulations build: the identity (for a Tikhonov block
sqrt(lam) I), the penalty I - P of an orthogonal projector P, A P on range(P), and the
symmetric KKT matrix.  Like the algebra of ``linalg.operator`` they are not logged
themselves: the products they are made of are."""
from __future__ import annotations

from ...linalg.layout import Layout
from ...linalg.operator import Operator, vec_blocks


class Identity(Operator):
    """I on the vectors of ``layout``."""

    symmetric = True
    log_products = False

    def __init__(self, layout: Layout):
        super().__init__(layout, layout)

    def create_vecs(self):
        return self.domain_layout.create_vec(), self.range_layout.create_vec()

    def mult(self, x, y) -> None:
        x.copy(y)

    def mult_transpose(self, y, x) -> None:
        y.copy(x)


class ProjectionComplement(Operator):
    """L = I - P for an orthogonal projector P: L g = 0 exactly when g is admissible, and
    ||L g|| is g's distance from the admissible set.  Symmetric when P is."""

    log_products = False

    def __init__(self, projection: Operator):
        super().__init__(projection.range_layout, projection.domain_layout, projection.dtype)
        self.projection = projection
        self.symmetric = projection.symmetric
        self._work = None

    def mult(self, x, y) -> None:
        self._complement(self.projection.mult, x, y)

    def mult_transpose(self, y, x) -> None:
        # P^T, not P: the adjoint stays exact even where P is symmetric only to rounding.
        self._complement(self.projection.mult_transpose, y, x)

    def _complement(self, apply, x, y) -> None:
        """y = x - apply(x); in place (y is x) through a work Vec, which PETSc's aypx
        refuses to alias."""
        if x.handle != y.handle:
            apply(x, y)
            y.aypx(-1.0, x)
            return
        if self._work is None:
            self._work = x.duplicate()
        apply(x, self._work)
        y.axpy(-1.0, self._work)


class ProjectedOnRange(Operator):
    """A P for an orthogonal projector P, for vectors x of range(P) only: the product is A x
    (P x = x there), the adjoint P^T A^T y as always.

    Why: LSQR on A P keeps its right vectors in range(P) (each is P^T A^T u less a multiple
    of the last, then scaled), so the P of the forward product is a no-op it would pay for
    at every iteration; for the reciprocity constraint, a scatter moving half of g between
    the ranks.  Outside range(P) this is not A P, so it is no operator for general use (its
    adjoint test fails there): ``PreconditionedLSQR`` alone builds it."""

    log_products = False

    def __init__(self, operator: Operator, projection: Operator):
        super().__init__(operator.range_layout, projection.domain_layout, operator.dtype)
        self.operator, self.projection = operator, projection
        self._middle = operator.create_vecs()[0]

    def natural_row_ranges(self) -> list:
        return self.operator.natural_row_ranges()

    def mult(self, x, y) -> None:
        self.operator.mult(x, y)

    def mult_transpose(self, y, x) -> None:
        self.operator.mult_transpose(y, self._middle)
        self.projection.mult_transpose(self._middle, x)


class KKTOperator(Operator):
    """K = [[A^T A + lam I, L^T], [L, 0]], symmetric and indefinite, on vectors [g; mu].

    Its vectors are plain MPI Vecs (as KSP needs) in which every rank holds its local entries
    of g (A's domain) followed by its local entries of mu (L's range), the layout
    ``StackedOperator`` gives its range; ``blocks`` opens the two parts of one."""

    symmetric = True
    log_products = False

    def __init__(self, operator: Operator, penalty: Operator, lam: float = 0.0):
        if penalty.domain_layout != operator.domain_layout:
            raise ValueError(f"penalty: needs the columns of the operator ({operator.shape[1]})"
                             f", has {penalty.shape[1]} split otherwise")
        from petsc4py import PETSc

        counts = [n + p for n, p in zip(operator.domain_layout.counts,
                                        penalty.range_layout.counts)]
        layout = Layout(operator.comm, counts)
        super().__init__(layout, layout)
        self.operator, self.penalty, self.lam = operator, penalty, float(lam)
        primal_local = operator.local_shape[1]
        self._primal = PETSc.IS().createStride(primal_local, first=layout.start, step=1,
                                               comm=self.comm)
        self._dual = PETSc.IS().createStride(penalty.local_shape[0],
                                             first=layout.start + primal_local, step=1,
                                             comm=self.comm)
        self._data_work = operator.create_vecs()[1]
        self._model_work = penalty.create_vecs()[0]

    def create_vecs(self):
        return self.domain_layout.create_vec(), self.range_layout.create_vec()

    def blocks(self, z):
        """The parts (g, mu) of ``z`` as Vecs sharing its storage, restored on exit (a
        context manager)."""
        return vec_blocks(z, self._primal, self._dual)

    def mult(self, x, y) -> None:
        with self.blocks(x) as (g, mu), self.blocks(y) as (top, bottom):
            self.operator.mult(g, self._data_work)
            self.operator.mult_transpose(self._data_work, top)
            if self.lam > 0:
                top.axpy(self.lam, g)
            self.penalty.mult_transpose(mu, self._model_work)
            top.axpy(1.0, self._model_work)
            self.penalty.mult(g, bottom)

    def mult_transpose(self, y, x) -> None:
        self.mult(y, x)
