"""PETSc's ``-ksp_monitor`` for hpcinv's own LSQR and CGLS, which are no KSPs: the lines a KSP
prints (``  N KSP Residual norm R``), on rank 0, from hpcinv's record of each iteration.
Unlike KSPCGLS, which monitors ||A^T r||, the norm is always the residual ||b - A x||."""
from __future__ import annotations

from ...core.reporting import print_line


def ksp_monitor(comm):
    """The iteration monitor ``-ksp_monitor`` asks for (``IterativeMethod.iteration_monitor``),
    or None when the options database lacks it."""
    from petsc4py import PETSc

    if not PETSc.Options().hasName("ksp_monitor"):
        return None
    rank = comm.tompi4py().rank

    def monitor(iteration: int, residual_norm: float) -> None:
        if rank == 0:
            print_line(f"{iteration:3d} KSP Residual norm {residual_norm:14.12e} ")

    return monitor
