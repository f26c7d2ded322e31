"""Krylov methods for min ||A x - b||: CGLS and LSQR with exactly resumable state, and PETSc's
least-squares KSPs; stopped by the discrepancy principle or an iteration count.  Block CG per
frequency for multidimensional deconvolution (``BlockKrylovMDD``)."""
from .block_frequency import ColumnwiseCG, Deflation, FrequencyBlockCG
from .block_mdd import BlockKrylovMDD
from .cgls import CGLS
from .frequency_system import FrequencyBlockSystem
from .ksp import KSPLeastSquares
from .lsqr import LSQR

__all__ = ["BlockKrylovMDD", "CGLS", "ColumnwiseCG", "Deflation", "FrequencyBlockCG",
           "FrequencyBlockSystem", "KSPLeastSquares", "LSQR"]
