"""What every method shares: ``Layout`` (how arrays are split across ranks), ``Operator``
(distributed linear maps with block products) and its algebra, vectors, rank-independent
random numbers, the dot test, assembled matrices from rows, and decompositions
(``decompositions``: Golub-Kahan, SVD backends, randomized SVD, GSVD, eigenvectors).

For Python users: ``dense_operator`` (a dense Mat from the rows each rank owns),
``vec_from_array`` / ``array_from_vec`` (whole numpy vectors into and out of distributed
Vecs, in an operator's own order)."""
from .dense import dense_operator
from .dottest import dot_test
from .layout import Layout
from .operator import MatOperator, Operator
from .vectors import array_from_vec, vec_from_array

__all__ = ["Layout", "MatOperator", "Operator", "array_from_vec", "dense_operator", "dot_test",
           "vec_from_array"]
