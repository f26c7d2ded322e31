"""The dot-product (adjoint) test every operator passes: <A x, y> = <x, A^T y>."""
from __future__ import annotations

from .random import fill_normal


def dot_test(operator, seed: int = 0) -> float:
    """Relative mismatch |<Ax,y> - <x,A^T y>| / (||Ax|| ||y||) for random x, y."""
    x, y = operator.create_vecs()
    ax, aty = y.duplicate(), x.duplicate()
    fill_normal(x, seed)
    fill_normal(y, seed + 1)
    operator.mult(x, ax)
    operator.mult_transpose(y, aty)
    scale = ax.norm() * y.norm()
    return abs(ax.dot(y) - x.dot(aty)) / scale if scale > 0 else 0.0
