"""The normal operator T^T T of an operator, matrix-free (for eigensolvers: its eigenvectors
are T's right singular vectors)."""
from __future__ import annotations

from .base import Operator


class NormalOperator(Operator):
    symmetric = True

    def __init__(self, operator: Operator):
        self.operator = operator
        n, n_local = operator.shape[1], operator.local_shape[1]
        self.shape, self.local_shape, self.comm = (n, n), (n_local, n_local), operator.comm
        _, self._image = operator.create_vecs()

    def mult(self, x, y) -> None:
        self.operator.mult(x, self._image)
        self.operator.mult_transpose(self._image, y)

    def mult_transpose(self, y, x) -> None:
        self.mult(y, x)
