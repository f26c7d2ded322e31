"""What SR3 and ADMM share: R(L x) split off by a weighted ||L x - target||^2 term, x from
the stacked LSQR (``framework.stacked_lsqr``) warm-started at the current x."""
from __future__ import annotations

import math

from ...core.errors import ArgumentError, check_count, check_number
from ..framework.method import IterativeMethod
from ..framework.stacked_lsqr import StackedLSQR


class StackedSplitting(IterativeMethod):
    """What SR3 and ADMM share: R(L x) split off by a weighted ||L x - target||^2 term, x
    from ``StackedLSQR`` with weight sqrt(``weight``), the LSQR steps counted per outer step
    (``state.scalars['inner_iterations']``) and in total, the data residual ||A x - b||."""

    def __init__(self, operator, data, regularization, regularizer, *, weight: float,
                 stopping, inner_tolerance: float, max_iterations: int,
                 max_inner_iterations: int):
        super().__init__(operator, data, max_iterations=max_iterations, stopping=stopping)
        if regularization.shape[1] != operator.shape[1]:
            raise ArgumentError("regularization", f"L has {regularization.shape[1]} columns, "
                                                  f"A {operator.shape[1]}")
        self.regularization, self.regularizer = regularization, regularizer
        self.inner_tolerance = check_number("inner_tolerance", inner_tolerance, positive=True)
        self.inner = StackedLSQR(operator, regularization, data, math.sqrt(weight),
                                 max_iterations=check_count("max_inner_iterations",
                                                            max_inner_iterations, 1))
        self._data_residual = operator.create_vecs()[1]

    @staticmethod
    def count_inner(state, steps: int) -> None:
        state.scalars.update(inner_iterations=steps, total_inner_iterations=state.scalars.get(
            "total_inner_iterations", 0) + steps)

    def data_residual(self, x) -> float:
        self.operator.mult(x, self._data_residual)
        self._data_residual.axpy(-1.0, self.data)
        return self._data_residual.norm()

    def history_columns(self, state) -> dict:
        scalars = state.scalars
        return {"inner_iterations": scalars["inner_iterations"],
                "total_inner_iterations": scalars["total_inner_iterations"],
                "change": scalars["change"]}
