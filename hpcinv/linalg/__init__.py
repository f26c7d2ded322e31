"""What every method shares: ``Layout`` (how arrays are split across ranks), ``Operator``
(distributed linear maps with block products) and its algebra, vectors, rank-independent
random numbers, the dot test, assembled matrices from rows, and decompositions
(``decompositions``: Golub-Kahan, SVD backends, randomized SVD, GSVD, eigenvectors)."""
from .dottest import dot_test
from .layout import Layout
from .operator import MatOperator, Operator

__all__ = ["Layout", "MatOperator", "Operator", "dot_test"]
