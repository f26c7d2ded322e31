"""Distributed linear operators over PETSc Vecs, and the shell-Mat adapter for KSP/TAO/SLEPc."""
from __future__ import annotations

import atexit
import weakref

MATRIX_FREE_TYPES = ("python", "shell")

# Operators whose shell Mat exists.  A shell Mat still alive when the interpreter tears
# down its modules (an operator at a driver script's top level) is destroyed out of order
# with its Python context and crashes with SEGV; destroying them first, at exit, avoids it.
_WITH_SHELL: "weakref.WeakSet[Operator]" = weakref.WeakSet()


@atexit.register
def _destroy_shells() -> None:
    for operator in list(_WITH_SHELL):
        shell = operator.__dict__.pop("_shell", None)
        if shell is not None:
            shell.destroy()


def is_matrix_free(operator) -> bool:
    """True when the operator has no assembled entries (direct factorizations and dense
    copies are impossible)."""
    return operator.as_petsc_mat().getType() in MATRIX_FREE_TYPES


class Operator:
    """A linear map A: R^n -> R^m whose vectors are distributed PETSc Vecs.

    Subclasses set ``shape`` (m, n), ``local_shape`` (rows and columns owned by this rank)
    and ``comm`` (a PETSc communicator), and implement ``mult`` and ``mult_transpose``.
    """

    shape: tuple[int, int]
    local_shape: tuple[int, int]
    comm = None
    dtype = "float64"

    def mult(self, x, y) -> None:
        """y = A x."""
        raise NotImplementedError

    def mult_transpose(self, y, x) -> None:
        """x = A^T y."""
        raise NotImplementedError

    def create_vecs(self):
        """(domain vector of length n, range vector of length m), zeroed."""
        return self.as_petsc_mat().createVecs()

    def as_petsc_mat(self):
        """A PETSc Mat applying this operator (a shell Mat unless one is assembled)."""
        if getattr(self, "_shell", None) is None:
            from petsc4py import PETSc

            (m, n), (m_local, n_local) = self.shape, self.local_shape
            shell = PETSc.Mat().createPython(((m_local, m), (n_local, n)),
                                             context=_ShellContext(self), comm=self.comm)
            shell.setUp()
            self._shell = shell
            _WITH_SHELL.add(self)
        return self._shell


class _ShellContext:
    """petsc4py's Python-Mat protocol, forwarding to an Operator.

    The operator holds its shell Mat and the Mat (in C) holds this context, a cycle Python's
    collector cannot see through; a weak reference here lets an operator and its Mat, work
    Vecs and factorizations be freed once the operator is no longer used."""

    def __init__(self, operator: Operator):
        self._operator = weakref.ref(operator)

    @property
    def operator(self) -> Operator:
        operator = self._operator()
        if operator is None:
            raise ReferenceError("the Operator of this shell Mat was freed: keep the "
                                 "operator alive while its Mat is in use")
        return operator

    def mult(self, mat, x, y):
        self.operator.mult(x, y)

    def multTranspose(self, mat, y, x):  # noqa: N802 - petsc4py's name
        self.operator.mult_transpose(y, x)


class MatOperator(Operator):
    """An operator held as an assembled PETSc Mat (AIJ, dense, ...)."""

    def __init__(self, mat):
        self.mat = mat
        self.comm = mat.getComm()
        self.shape = mat.getSize()
        self.local_shape = mat.getLocalSize()

    def mult(self, x, y) -> None:
        self.mat.mult(x, y)

    def mult_transpose(self, y, x) -> None:
        self.mat.multTranspose(y, x)

    def as_petsc_mat(self):
        return self.mat
