"""Lanczos parameter choices against the dense ones on Regularization Tools' shaw, heat
and phillips (``tests/regtools_problems.py``) at 0.1%, 1% and 5% noise: per problem and
rule (QO, GCV with the Ritz trace, GCV with 10 Hutchinson probes ``gcv-hutchinson``,
Reginska), how many of the noise draws end more than 5%
from the dense lambda (full SVD, ``choose_lambda``) and the largest ratio, for the settling
rule ``lanczos_choice`` applies (no lower bound undercuts the choice, settled on two
consecutive steps) and for the first step at which the bounds alone agreed (the rule
before it), with the mean steps of each, and how many singular values the dense lambda
leaves a filter factor s^2 / (s^2 + lambda) above 1e-3 (the directions GCV's trace must
resolve to epsilon).  1 rank; prints JSON.

    .venv/bin/python benchmarks/lanczos_qo.py [--sizes 100,200] [--draws 4]
        [--rules qo,gcv,gcv-hutchinson,reginska]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hpcinv  # noqa: E402,F401 - sets single-threaded BLAS before numpy loads
import numpy as np  # noqa: E402

from regtools_problems import heat, phillips, shaw  # noqa: E402

PROBLEMS = {"shaw": shaw, "heat": heat, "phillips": phillips}
LEVELS = (1e-3, 1e-2, 5e-2)
EPSILON = 1e-3
OFF = 0.05
HUTCHINSON_PROBES = 10


def _first_agreement(history) -> tuple[float | None, int | None]:
    """(lambda, k) of the first step whose bounds agreed: the choice without the settling
    rule."""
    for k, upper, lower, _ in history:
        if lower is not None and abs(upper - lower) < EPSILON * upper:
            return upper, k
    return None, None


def _ratio(lam, reference) -> float:
    return float("inf") if lam is None or reference is None else max(lam / reference,
                                                                       reference / lam)


def measure(problem: str, n: int, level: float, draw: int, rule: str) -> dict:
    from helpers import distributed_matrix
    from hpcinv.solvers.tikhonov.paramchoice.functionals import SpectralModel, choose_lambda
    from hpcinv.solvers.tikhonov.paramchoice.lanczos import lanczos_choice

    matrix, truth = PROBLEMS[problem](n)
    exact = matrix @ truth
    noise = np.random.default_rng(draw).standard_normal(n)
    data = exact + level * np.linalg.norm(exact) / np.linalg.norm(noise) * noise
    left, singular, _ = np.linalg.svd(matrix)
    functional = rule.split("-")[0]
    dense = choose_lambda(SpectralModel(singular, left.T @ data, data @ data, n), functional)
    operator = distributed_matrix(matrix)
    vec = operator.create_vecs()[1]
    vec.getArray()[:] = data
    trace = {"trace": "hutchinson", "hutchinson_vectors": HUTCHINSON_PROBES} \
        if rule.endswith("hutchinson") else {}
    choice = lanczos_choice(operator, vec, functional, epsilon=EPSILON, **trace)
    first, first_k = _first_agreement(choice.history)
    return {"problem": problem, "n": n, "noise": level, "draw": draw, "rule": rule,
            "dense": dense, "lanczos": choice.lam, "k": choice.k,
            "converged": choice.converged, "first_agreement": first, "first_k": first_k,
            "filtered": int(np.sum(singular ** 2 > 1e-3 * dense)) if dense else None}


def summarise(rows: list) -> list:
    table = []
    for problem in PROBLEMS:
        for rule in sorted({row["rule"] for row in rows}):
            mine = [row for row in rows if row["problem"] == problem and row["rule"] == rule]
            if not mine:
                continue
            now = [_ratio(row["lanczos"], row["dense"]) for row in mine]
            before = [_ratio(row["first_agreement"], row["dense"]) for row in mine]
            table.append({
                "problem": problem, "rule": rule, "cases": len(mine),
                "off_by_5pct": sum(r > 1 + OFF for r in now), "worst_ratio": max(now),
                "mean_steps": float(np.mean([row["k"] for row in mine])),
                "mean_filtered_singular_values": float(np.mean(
                    [row["filtered"] for row in mine if row["filtered"] is not None] or [0])),
                "off_by_5pct_first_agreement": sum(r > 1 + OFF for r in before),
                "worst_ratio_first_agreement": max(before),
                "mean_steps_first_agreement": float(np.mean(
                    [row["first_k"] for row in mine if row["first_k"] is not None] or [0]))})
    return table


def main() -> None:
    from hpcinv.core.petsc_env import initialize

    initialize()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200")
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--rules", default="qo,gcv,gcv-hutchinson,reginska")
    args = parser.parse_args()
    rows = [measure(problem, int(n), level, draw, rule) for problem in PROBLEMS
            for n in args.sizes.split(",") for level in LEVELS for draw in range(args.draws)
            for rule in args.rules.split(",")]
    print(json.dumps(summarise(rows), indent=1))


if __name__ == "__main__":
    main()
