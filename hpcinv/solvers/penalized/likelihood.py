"""The likelihood term L(f) = ||A f - b||^2 of a penalised likelihood, with A and b already
weighted by the noise (a problem's rows divided by their standard deviations), so L is the
chi-square of the data and its expected value at the truth is the number of data."""
from __future__ import annotations


class ChiSquare:
    """L(f) = ||A f - b||^2, its gradient 2 A^T (A f - b) and Hessian products 2 A^T A e.

    ``residual(f)`` keeps A f - b in a work Vec that ``gradient`` reuses when called for the
    same f right after; every method is collective over the operator's ranks."""

    def __init__(self, operator, data):
        self.operator = operator
        self.data = data
        self._domain, self._range = operator.create_vecs()
        self._residual = self._range.duplicate()

    def residual(self, f):
        """A f - b (a work Vec, overwritten by the next call)."""
        self.operator.mult(f, self._residual)
        self._residual.axpy(-1.0, self.data)
        return self._residual

    def value(self, f) -> float:
        r = self.residual(f)
        return r.dot(r)

    def value_and_gradient(self, f, gradient) -> float:
        r = self.residual(f)
        self.operator.mult_transpose(r, gradient)
        gradient.scale(2.0)
        return r.dot(r)

    def gradient(self, f, out) -> None:
        self.value_and_gradient(f, out)

    def hessian_mult(self, e, out) -> None:
        """out = 2 A^T A e (the Hessian does not depend on f)."""
        self.operator.mult(e, self._range)
        self.operator.mult_transpose(self._range, out)
        out.scale(2.0)

    def curvature(self, e) -> float:
        """e^T (2 A^T A) e = 2 ||A e||^2, with one product."""
        self.operator.mult(e, self._range)
        return 2.0 * self._range.dot(self._range)
