"""The linear maps and vectors a Python user already has, as hpcinv Operators and PETSc Vecs.

``as_operator(A, comm)`` accepts

* an hpcinv ``Operator``, used as it is;
* a PETSc Mat of any type, assembled or shell (``MatOperator``);
* a numpy 2-D array or a scipy.sparse matrix that every rank holds whole: each rank keeps
  its block of rows in PETSc's default split, as ``dense.py`` builds the problems' own
  matrices (dense rows stay a dense Mat, sparse ones an AIJ Mat);
* an object with ``shape``, ``matvec(x)`` and ``rmatvec(y)`` on whole numpy vectors (a PyLops
  or scipy LinearOperator): ``MatvecOperator``.

The first two are distributed already and bring their communicator; the others are made on
``comm``.  ``as_vec`` does the same for a vector: a Vec with the operator's split, the whole
numpy vector on every rank, or each rank's block of it.  Bad input raises ``ArgumentError``
naming the argument, the same on every rank.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ArgumentError
from .layout import Layout
from .operator import MatOperator, Operator


def _is_distributed(A) -> bool:
    """True for the inputs that bring their own communicator (an Operator or a PETSc Mat)."""
    return isinstance(A, Operator) or _is_petsc_mat(A)


def as_operator(A, comm=None) -> Operator:
    """``A`` as an Operator; ``comm`` (a PETSc communicator, default COMM_WORLD) is the one
    to distribute a replicated ``A`` over, and must be None for an ``A`` that is
    distributed already."""
    if _is_distributed(A):
        if comm is not None:
            raise ArgumentError("comm", "A is distributed already (on its own communicator): "
                                        "pass comm only with a numpy, scipy or matvec operator")
        return A if isinstance(A, Operator) else _mat_operator(A)
    if comm is None:
        from petsc4py import PETSc

        comm = PETSc.COMM_WORLD
    if isinstance(A, np.ndarray):
        return _dense(comm, A)
    if _is_sparse(A):
        return _sparse(comm, A)
    if all(hasattr(A, name) for name in ("shape", "matvec", "rmatvec")):
        return MatvecOperator(comm, A)
    raise ArgumentError("A", f"expected a PETSc Mat, a numpy 2-D array, a scipy.sparse matrix, "
                             f"an object with shape, matvec and rmatvec, or an "
                             f"hpcinv.linalg.Operator; got {type(A).__name__}")


def _is_petsc_mat(A) -> bool:
    from petsc4py import PETSc

    return isinstance(A, PETSc.Mat)


def _is_sparse(A) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(A)


def _mat_operator(mat) -> MatOperator:
    if not mat.isAssembled():
        raise ArgumentError("A", "the PETSc Mat is not assembled (call A.assemble() first)")
    return MatOperator(mat)


def _checked_shape(comm, shape, dtype) -> tuple[int, int]:
    """The shape of a replicated matrix, checked alike on every rank (collective: a rank
    holding a different matrix would otherwise make the others wait in PETSc)."""
    problem = None
    if len(shape) != 2 or min(shape) < 1:
        problem = f"expected a 2-D matrix with at least one row and one column, got shape {shape}"
    elif dtype is not None and not (np.issubdtype(dtype, np.integer)
                                    or np.issubdtype(dtype, np.floating)):
        problem = f"expected real entries (PETSc here has real scalars), got dtype {dtype}"
    shapes_and_problems = comm.tompi4py().allgather((tuple(shape), problem))
    problems = [problem for _, problem in shapes_and_problems if problem]
    if problems:
        raise ArgumentError("A", problems[0])
    if len({shape for shape, _ in shapes_and_problems}) > 1:
        raise ArgumentError("A", f"every rank must pass the same (whole) matrix; the shapes "
                                 f"by rank are {[shape for shape, _ in shapes_and_problems]}")
    return int(shape[0]), int(shape[1])


def _dense(comm, array) -> MatOperator:
    from .dense import dense_operator

    shape = _checked_shape(comm, array.shape, array.dtype)
    return dense_operator(comm, shape, lambda start, stop: array[start:stop])


def _sparse(comm, matrix) -> MatOperator:
    from .dense import aij_matrix

    shape = _checked_shape(comm, matrix.shape, matrix.dtype)
    rows = Layout.default(comm, shape[0])
    local = matrix.tocsr()[rows.start:rows.stop].astype(float)
    return MatOperator(aij_matrix(comm, shape, local))


class MatvecOperator(Operator):
    """An operator known only by ``matvec``/``rmatvec`` on whole numpy vectors (PyLops,
    scipy.sparse.linalg.LinearOperator).

    Every rank gathers the whole input vector, applies the product itself and keeps its own
    entries of the result: exact on any rank count, with the map called the same way on
    every rank, but each rank does the whole product and holds whole vectors, so this does
    not scale with the ranks.  For large problems write an ``Operator`` whose ranks compute
    only their own rows (docs/python.md, Operators)."""

    def __init__(self, comm, linear_map):
        shape = _checked_shape(comm, tuple(linear_map.shape), getattr(linear_map, "dtype", None))
        super().__init__(Layout.default(comm, shape[0]), Layout.default(comm, shape[1]))
        self.linear_map = linear_map

    def mult(self, x, y) -> None:
        y.getArray()[:] = self._apply(self.linear_map.matvec, "matvec", x, self.domain_layout,
                                      self.range_layout)

    def mult_transpose(self, y, x) -> None:
        x.getArray()[:] = self._apply(self.linear_map.rmatvec, "rmatvec", y,
                                      self.range_layout, self.domain_layout)

    @staticmethod
    def _apply(product, name: str, source, source_layout: Layout,
               target_layout: Layout) -> np.ndarray:
        image = np.asarray(product(source_layout.gather(source.getArray(readonly=True))))
        # Every rank computed the same image, so every rank refuses a bad one alike.
        if image.size != target_layout.size or np.iscomplexobj(image):
            raise ArgumentError("A", f"{name} must return {target_layout.size} real entries, "
                                     f"returned {image.dtype} of shape {image.shape}")
        return target_layout.local_part(image.reshape(-1))


def as_vec(value, layout: Layout, argument: str):
    """A Vec of ``layout`` holding ``value``: a PETSc Vec split like ``layout`` (copied), or a
    numpy vector that is either the whole vector on every rank or, on every rank, this
    rank's block (collective: the ranks decide which together).  ArgumentError naming
    ``argument`` otherwise."""
    from petsc4py import PETSc

    if isinstance(value, PETSc.Vec):
        given = Layout.of_vec(value)
        if given != layout:
            raise ArgumentError(argument, f"a Vec of {given.size} entries split {given.counts} "
                                          f"over the ranks; expected {layout.size} entries "
                                          f"split {layout.counts} (make it with "
                                          f"A.create_vecs() or pass a numpy array)")
        return value.copy()
    array = np.asarray(value) if isinstance(value, (np.ndarray, list, tuple)) else None
    problem = None
    if array is None:
        problem = f"expected a PETSc Vec or a numpy array, got {type(value).__name__}"
    elif not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        problem = f"expected real entries, got dtype {array.dtype}"
    shapes_and_problems = layout.mpi.allgather((None if array is None else array.shape, problem))
    problems = [problem for _, problem in shapes_and_problems if problem]
    if problems:
        raise ArgumentError(argument, problems[0])
    shapes = [shape for shape, _ in shapes_and_problems]
    if all(shape == (layout.size,) for shape in shapes):
        return layout.vec_from(array)
    if all(shape == (count,) for shape, count in zip(shapes, layout.counts)):
        vec = layout.create_vec()
        vec.getArray()[:] = array
        return vec
    raise ArgumentError(argument, f"expected the whole vector ({layout.size} entries) on every "
                                  f"rank, or each rank's block ({list(layout.counts)} entries "
                                  f"by rank); got shapes {shapes} by rank")
