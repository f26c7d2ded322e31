"""The job kind ``pnkr``: PNKR on a problem with tensor block rows."""
from __future__ import annotations

from ...core.errors import job_keys
from ...core.jobspec import SOLVERS, Field
from ..framework.kind import COMMON_PARAMETERS, MethodKind
from ..memory import pnkr_memory
from .block_rows import TensorBlockRows
from .pnkr import BLOCK_UPDATES, PNKR, STEPS, block_update_problem, omega_problem


@SOLVERS.register("pnkr")
class PNKRKind(MethodKind):
    parameters = {
        **COMMON_PARAMETERS,
        "max_iterations": Field(int, 2000, "maximum number of loops over all equations",
                                minimum=1),
        "tau": Field(float, 1.2, "equation r is skipped when ||g_r||_N <= tau delta_r",
                     minimum=1.0),
        "step": Field(str, "projection", "projection (exact M-metric block projection), "
                      "constant (the paper's step omega M^-1 H^T N^-1 g) or reduced (reduced "
                      "PNKR: M^-1 replaced by Gaussian smoothing; needs s = 0)",
                      choices=STEPS),
        "smoothing": Field(float, 1.0, "reduced PNKR: width (standard deviation) of the "
                           "Gaussian smoothing in cells, on every sky and Theta axis", minimum=0),
        "omega": Field(float, 1.0, "relaxation in (0, 2) for projection and reduced; the step "
                       "size for constant", minimum=0, exclusive_minimum=True),
        "nesterov": Field(bool, True, "Nesterov extrapolation (kR - 1)/(kR + 2)"),
        "restart": Field(bool, False, "restart the extrapolation after a loop that raised "
                         "the residual (adaptive restart)", applies=("nesterov", (True,))),
        "block": Field(int, 1, "equations per step, their residuals taken at the same "
                       "iterate (R: one simultaneous step per loop)", minimum=1),
        "block_update": Field(str, "average", "with block > 1: average (the mean of the "
                              "equations' updates: Cimmino/SIRT) or projection (block "
                              "Kaczmarz: the exact projection onto the block; step = "
                              "projection only)", choices=BLOCK_UPDATES),
        "block_cutoff": Field(float, 1e-3, "block projection: combinations of the block's "
                              "equations whose Gram eigenvalue is below this times the "
                              "mean are left out", minimum=0, maximum=1,
                              applies=("block_update", ("projection",))),
        "positivity": Field(bool, True, "project onto u >= 0 after every step"),
        "seed": Field(int, 0, "seed of the equation permutations", minimum=0),
    }

    memory_estimate = staticmethod(pnkr_memory)

    @staticmethod
    def check_parameters(values: dict) -> list:
        problems = [("solver.omega", omega_problem(values["step"], values["omega"])),
                    ("solver.block_update", block_update_problem(values["step"],
                                                                 values["block_update"]))]
        if values["block_update"] != "average" and values["block"] == 1:
            # one equation per step is the rank-one loop: the key would be ignored
            problems.append(("solver.block_update", f"{values['block_update']!r} needs "
                                                    f"solver.block > 1, got 1"))
        return [(key, message) for key, message in problems if message]

    @staticmethod
    def requirements(values: dict) -> dict:
        return {TensorBlockRows: "solver.kind"}

    @classmethod
    def build(cls, problem, values: dict) -> PNKR:
        blocks = problem.require(TensorBlockRows, who="pnkr")
        with job_keys("solver"):
            return PNKR(problem.operator, problem.data, blocks, truth=problem.truth,
                        **{key: values[key] for key in (
                            "tau", "step", "omega", "smoothing", "nesterov", "restart",
                            "block", "block_update", "block_cutoff", "positivity", "seed",
                            "max_iterations")})
