"""A Python driver whose operator raises on one rank mid-solve (for the failure test).

Usage: [mpirun -n P] python fail_on_rank.py JOB.toml FAILING_RANK
"""
import sys

from hpcinv.cli import main
from hpcinv.core.jobspec import PROBLEMS
from hpcinv.apps.classic.kinds import DeconvolutionKind

FAILING_RANK = int(sys.argv[2])


class _FailingOperator:
    """Delegates to the real operator, and raises on FAILING_RANK at its 5th product."""

    def __init__(self, operator):
        self.operator, self.calls = operator, 0

    def __getattr__(self, name):
        return getattr(self.operator, name)

    def mult(self, x, y):
        self.calls += 1
        if self.calls == 5 and self.operator.comm.getRank() == FAILING_RANK:
            raise RuntimeError(f"injected failure on rank {FAILING_RANK}")
        self.operator.mult(x, y)


@PROBLEMS.register("failing-deconvolution")
class FailingDeconvolution(DeconvolutionKind):
    @staticmethod
    def build(prepared, comm):
        problem = DeconvolutionKind.build(prepared, comm)
        problem.operator = _FailingOperator(problem.operator)
        return problem


sys.exit(main(["run", sys.argv[1], "--quiet"]))
