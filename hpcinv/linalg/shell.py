"""The PETSc shell-Mat adapter: any Operator as a Mat that KSP, TAO and SLEPc can multiply by."""
from __future__ import annotations

import atexit
import weakref

MATRIX_FREE_TYPES = ("python", "shell")

# Operators whose shell Mat exists.  A shell Mat still alive when the interpreter tears
# down its modules (an operator at a driver script's top level) is destroyed out of order
# with its Python context and crashes with SEGV; destroying them first, at exit, avoids it.
_WITH_SHELL: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _destroy_shells() -> None:
    for operator in list(_WITH_SHELL):
        shell = operator.__dict__.pop("_shell", None)
        if shell is not None:
            shell.destroy()


def shell_mat(operator):
    """A PETSc Python (shell) Mat applying ``operator``; the operator keeps it (``_shell``)."""
    from petsc4py import PETSc

    (m, n), (m_local, n_local) = operator.shape, operator.local_shape
    shell = PETSc.Mat().createPython(((m_local, m), (n_local, n)),
                                     context=_ShellContext(operator), comm=operator.comm)
    shell.setUp()
    _WITH_SHELL.add(operator)
    return shell


class _ShellContext:
    """petsc4py's Python-Mat protocol, forwarding to an Operator.

    The operator holds its shell Mat and the Mat (in C) holds this context, a cycle Python's
    collector cannot see through; a weak reference here lets an operator and its Mat, work
    Vecs and factorizations be freed once the operator is no longer used."""

    def __init__(self, operator):
        self._operator = weakref.ref(operator)

    @property
    def operator(self):
        operator = self._operator()
        if operator is None:
            raise ReferenceError("the Operator of this shell Mat was freed: keep the "
                                 "operator alive while its Mat is in use")
        return operator

    def mult(self, mat, x, y):
        self.operator.mult(x, y)

    def multTranspose(self, mat, y, x):  # noqa: N802 - petsc4py's name
        self.operator.mult_transpose(y, x)
