"""``hpcinv reproduce pnkr-vs-ppxf``: the paper's pPXF baseline on the mock galaxy.

pPXF (Cappellari 2017) fits every spectrum of the noisy mock cube on its own, with a
Gauss-Hermite LOSVD of order 6 (V, sigma, h3-h6), no additive polynomial and non-negative
weights of the same MILES templates the mesh uses; PNKR reconstructs f(x, y, v, [M/H], age)
from the whole cube.  Both become the same maps (derived.py), compared with the truth's:

* map error: the RMS difference over the sky positions whose truth mass is at least
  MASS_FLOOR of its peak, in the map's units (mass: relative to the truth's RMS there);
* LOSVD error at the nine positions: int |p - p_true| dv of the unit-integral light-weighted
  LOSVDs (0: identical, 2: disjoint);
* wall time: PNKR's solve (the result's /history seconds) and pPXF's fits, on their ranks.

The cube is the result's own /data and /truth, so pPXF sees exactly what PNKR saw.  pPXF's
licence forbids redistributing it: ``ppxf_fit.ensure_ppxf`` installs it from PyPI on first
use.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .ppxf_fit import (MOMENTS, fit_options, fit_spectra, on_every_pixel, ppxf_on_every_rank,
                       ppxf_rows, ppxf_templates)

HELP = "pPXF (Gauss-Hermite order 6, same templates) against PNKR on the mock galaxy"

# Where the truth mass is below this fraction of its peak, every map is a ratio of two
# near-zero numbers: those sky positions are left out, for both methods alike.
MASS_FLOOR = 0.01
DEFAULT_OUTPUT = "results/pnkr-vs-ppxf.h5"
# pPXF's dispersion may fit far narrower than the mock's narrowest feature (its lower bound is
# 0.01 velscale): its LOSVD is averaged over each velocity basis function on a finer rule
# than the truth's 8 points per interval, so a narrow fit does not alias.
LOSVD_POINTS_PER_INTERVAL = 64
MAP_UNITS = {"mass": "relative", "mean_age": "Gyr", "mean_metallicity": "dex",
             "mu_v": "km/s", "sigma_v": "km/s", "h3": "", "h4": "", "h5": ""}


def add_arguments(parser) -> None:
    parser.add_argument("--result", help="a finished PNKR run on a galaxy mock (e.g. "
                        "results/galaxy-demo.h5); default: run the demo job first")
    parser.add_argument("--mesh", help="galaxy mesh (name or file) for the demo job (default: "
                        "the demo's)")
    parser.add_argument("--max-iterations", type=int,
                        help="cap the demo job's loops (default: the demo job's)")
    parser.add_argument("--output", help=f"the demo job's result (default {DEFAULT_OUTPUT})")
    parser.add_argument("--regul", type=float, default=0.0,
                        help="pPXF's regularisation of the template weights (default 0: none)")


# --- the PNKR result and its problem --------------------------------------------------------

def check_result(path: str):
    """The job spec that rebuilds ``path``'s galaxy problem and the result's summary; an
    InputError when the file is no finished run on the galaxy mock with s = 1."""
    from ...core.io.results import read_summary
    from ...core.jobspec import parse_spec
    from ...core.errors import InputError

    if not Path(path).is_file():
        raise InputError(("--result", f"no such result file {path}"))
    try:
        summary = read_summary(path)
    except (OSError, KeyError) as error:
        raise InputError(("--result", f"{path} is not an hpcinv result file: {error}")) from None
    kind = summary.get("problem_kind")
    if kind != "galaxy" or "job_spec" not in summary:
        raise InputError(("--result", f"{path} is a {kind!r} result, not a galaxy mock: "
                                      f"pnkr-vs-ppxf needs a galaxy run such as `hpcinv demo`'s"))
    attributes = summary["problem_attributes"]
    if attributes.get("cube") or not {"/data", "/truth"} <= set(summary["datasets"]):
        raise InputError(("--result", f"{path} is not a mock galaxy run with its /data and "
                                      f"/truth (an observed cube, or [output] store_data = "
                                      f"false): the comparison needs the mock's truth"))
    if attributes["order"] != 1:
        raise InputError(("--result", f"{path} has s = {attributes['order']}: the comparison "
                                      f"needs s = 1, where the [M/H] and age basis points are "
                                      f"the templates pPXF weighs"))
    spec = parse_spec(summary["job_spec"], source=summary.get("job_source", "<string>"))
    spec.problem["mesh"] = attributes["mesh"]    # the mesh the run used, --mesh included
    return spec, summary


def _check_same_sizes(problem, path: str) -> None:
    """The rebuilt problem must have the result's sizes (a mesh edited since would not)."""
    import h5py

    from ...core.errors import InputError

    with h5py.File(path, "r") as handle:
        stored = (handle["data"].shape[0], handle["truth"].shape[0])
    if stored != tuple(problem.operator.shape):
        raise InputError(("--result", f"{path} holds {stored[0]} data and {stored[1]} truth "
                                      f"values, but its mesh now gives "
                                      f"{tuple(problem.operator.shape)}: run PNKR again"))


def _demo_spec(args):
    from .demo import demo_spec

    return demo_spec(args.max_iterations, args.mesh)


def _check_arguments(args) -> None:
    from ...core.errors import InputError

    overrides = [f"--{name.replace('_', '-')}" for name in ("mesh", "max_iterations", "output")
                 if getattr(args, name) is not None]
    if args.result is not None and overrides:
        raise InputError((", ".join(overrides), "apply to the demo job, not to --result"))
    if args.regul < 0:
        raise InputError(("--regul", f"must be >= 0, got {args.regul}"))


def _stored_rows(path: str, name: str, start: int, count: int, columns: int) -> np.ndarray:
    """This rank's rows of a flat N x ``columns`` dataset of a result file."""
    import h5py

    with h5py.File(path, "r") as handle:
        return handle[name][start * columns:(start + count) * columns].reshape(count, columns)


def _progress_printer(rank: int, total: int, interval: float = 10.0):
    started = last = time.monotonic()

    def report(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if rank == 0 and (now - last >= interval or done == total):
            last = now
            print(f"hpcinv: pPXF fitted {done} of rank 0's {total} spectra "
                  f"({(now - started) / done:.2f} s each)", file=sys.stderr, flush=True)
    return report


# --- errors and the table -------------------------------------------------------------------

def sky_mask(truth_mass: np.ndarray) -> np.ndarray:
    return truth_mass >= MASS_FLOOR * np.nanmax(truth_mass)


def map_error(name: str, estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """RMS of estimate - truth over ``mask``; for the mass relative to the truth's RMS."""
    error = np.sqrt(np.mean((estimate[mask] - truth[mask]) ** 2))
    if name == "mass":
        error /= np.sqrt(np.mean(truth[mask] ** 2))
    return float(error)


def losvd_error(losvd: np.ndarray, truth: np.ndarray, velocity_weights: np.ndarray) -> float:
    """int |p - p_true| dv / int |p_true| dv: the L1 distance of unit-integral LOSVDs."""
    return float(np.abs(losvd - truth) @ velocity_weights / (np.abs(truth) @ velocity_weights))


def comparison(ppxf_products: dict, pnkr_products: dict, velocity_weights) -> dict:
    """Rows of map errors and of LOSVD errors (pPXF's and PNKR's against the truth in
    ``pnkr_products``' truth_* entries)."""
    from .derived import MAP_NAMES

    mask = sky_mask(pnkr_products["truth_mass"])
    rows = [{"map": name, "unit": MAP_UNITS[name],
             "error_ppxf": map_error(name, ppxf_products[name], pnkr_products[f"truth_{name}"],
                                     mask),
             "error_pnkr": map_error(name, pnkr_products[name], pnkr_products[f"truth_{name}"],
                                     mask)} for name in MAP_NAMES]
    truth = pnkr_products["truth_losvd"]
    losvd_rows = [{"x": float(x), "y": float(y),
                   "error_ppxf": losvd_error(ppxf_products["losvd"][k], truth[k],
                                             velocity_weights),
                   "error_pnkr": losvd_error(pnkr_products["losvd"][k], truth[k],
                                             velocity_weights)}
                  for k, (x, y) in enumerate(pnkr_products["losvd_positions"])]
    return {"rows": rows, "losvd_rows": losvd_rows, "sky_positions": int(mask.sum()),
            "sky_positions_total": int(mask.size)}


def _row(label: str, unit: str, row: dict) -> str:
    return f"{label:18s} {unit:9s} {row['error_ppxf']:10.4g} {row['error_pnkr']:10.4g}"


def format_table(report: dict) -> str:
    solver = report.get("solver", "pnkr")
    header = f"{'':18s} {'':9s} {'pPXF':>10s} {solver:>10s}"
    lines = [f"pnkr-vs-ppxf: {report['result']}, {report['spectra']} spectra; pPXF "
             f"{report['ppxf_version']}: Gauss-Hermite order {MOMENTS}, no additive polynomial, "
             f"regul {report['regul']:g}",
             "",
             f"map error: RMS of map - truth over the {report['sky_positions']} of "
             f"{report['sky_positions_total']} sky positions with truth mass >= "
             f"{MASS_FLOOR:.0%} of its peak (mass: relative to the truth's RMS there)",
             header]
    lines += [_row(row["map"], row["unit"], row) for row in report["rows"]]
    lines += ["", "LOSVD error at (x, y): int |p - p_true| dv of the unit-integral "
                  "light-weighted LOSVDs (0: identical, 2: disjoint)", header]
    lines += [_row(f"({row['x']:+.2f}, {row['y']:+.2f})", "", row)
              for row in report["losvd_rows"]]
    lines += ["", f"wall time: pPXF {report['seconds_ppxf']:.1f} s on {report['ranks_ppxf']} "
                  f"rank(s), {report['seconds_per_spectrum_ppxf']:.3f} s per spectrum; {solver} "
                  f"{report['seconds_pnkr']:.1f} s on {report['ranks_pnkr']} rank(s), "
                  f"{report['iterations_pnkr']} {'loops' if solver == 'pnkr' else 'steps'}"]
    return "\n".join(lines)


# --- the experiment -------------------------------------------------------------------------

def _pnkr_result(args, demo_spec) -> str | None:
    """The result to compare with: --result, or the demo job's, run now (None: stopped)."""
    if demo_spec is None:
        return args.result
    from ... import run as run_job
    from ...core.errors import EXIT_OK

    # This command owns its output: a rerun with another mesh replaces it.
    outcome = run_job(demo_spec, output=args.output or DEFAULT_OUTPUT, overwrite=True)
    return outcome.result_path if outcome.exit_status == EXIT_OK else None


def _local_cube(problem, path: str, noise_level: float) -> tuple:
    """This rank's spectra of the result's noisy cube and their noise sigma, as the mock drew
    it (unit sigma for a noise-free mock)."""
    from .mock import noise_deviation

    operator = problem.operator
    pixels, thetas = operator.kernel.shape
    start, count = operator.spatial_layout.start, operator.spatial_layout.local_size
    cube = _stored_rows(path, "data", start, count, pixels)
    if noise_level == 0:
        return cube, np.ones_like(cube)
    try:
        noise_free = _stored_rows(path, "noise_free_data", start, count, pixels)
    except KeyError:     # results written before /noise_free_data was stored
        noise_free = _stored_rows(path, "truth", start, count, thetas) @ operator.kernel.T
    return cube, noise_deviation(noise_free, noise_level)


def _ppxf_products(ppxf, spec, path: str, regul: float, comm) -> dict:
    """pPXF's maps and LOSVDs of the result's cube (replicated), its wall time and seconds
    per spectrum, and the velocity weights of the LOSVD errors."""
    from ...core.jobspec import PROBLEMS
    from .derived import gathered_products
    from .kernel import observed_wavelengths
    from ...core.mpi import agree

    mpi = comm.tompi4py()
    kind = PROBLEMS.get("galaxy", "problem.kind")
    prepared = agree(mpi, kind.prepare, spec.problem)
    problem = kind.build(prepared, comm)
    _check_same_sizes(problem, path)
    cube, noise = _local_cube(problem, path, spec.problem["noise_level"])
    wavelengths = observed_wavelengths(prepared.mesh)
    template_wavelengths, templates = ppxf_templates(
        prepared.library, prepared.mesh, wavelengths, problem.attributes["flux_scale"])
    cube, noise, options = on_every_pixel(
        cube, noise, problem.fitted,
        fit_options(prepared.mesh, wavelengths, template_wavelengths, regul))
    spectra = problem.operator.spatial_layout.size
    if mpi.rank == 0:
        print(f"hpcinv: fitting {spectra} spectra with pPXF on {mpi.size} rank(s)",
              file=sys.stderr, flush=True)
    mpi.Barrier()
    clock = time.perf_counter()
    kinematics, weights = fit_spectra(ppxf, templates, cube, noise, options,
                                      _progress_printer(mpi.rank, cube.shape[0]))
    busy = time.perf_counter() - clock
    mpi.Barrier()
    seconds = time.perf_counter() - clock
    grid = problem.derived_grid
    velocity_averaging = problem.theta.averaging(LOSVD_POINTS_PER_INTERVAL)[0]
    products = gathered_products(ppxf_rows(kinematics, weights, grid, velocity_averaging),
                                 grid, problem.operator.spatial_layout)
    return {"products": products, "seconds": seconds, "spectra": spectra,
            "seconds_per_spectrum": mpi.allreduce(busy) / spectra,
            "velocity_weights": grid.theta_weights[0]}


def _compare(ppxf, path: str, regul: float, comm) -> dict | None:
    """Fit the result's cube with pPXF on every rank; the report on rank 0, else None."""
    from importlib.metadata import version

    from ...core.io.results import read_products
    from ...core.mpi import agree

    mpi = comm.tompi4py()
    spec, summary = agree(mpi, check_result, path)
    fits = _ppxf_products(ppxf, spec, path, regul, comm)
    if mpi.rank != 0:
        return None
    pnkr_products, history, _ = read_products(path)
    return {"result": path, "spectra": fits["spectra"], "regul": regul,
            "ppxf_version": version("ppxf"),
            **comparison(fits["products"], pnkr_products, fits["velocity_weights"]),
            "seconds_ppxf": fits["seconds"], "ranks_ppxf": mpi.size,
            "seconds_per_spectrum_ppxf": fits["seconds_per_spectrum"],
            "seconds_pnkr": float(history["seconds"][-1]), "ranks_pnkr": summary["ranks"],
            "iterations_pnkr": summary["iterations"],
            "solver": summary.get("solver_kind", "pnkr")}


def _prepare(args, mpi) -> tuple:
    """Check the arguments and --result before installing anything; return pPXF and the
    demo job's spec (None with --result)."""
    from ...core.mpi import agree

    agree(mpi, _check_arguments, args)
    if args.result is not None:
        agree(mpi, check_result, args.result)
    demo_spec = agree(mpi, _demo_spec, args) if args.result is None else None
    return ppxf_on_every_rank(mpi), demo_spec


def run(args) -> int:
    import json

    from ...core import petsc_env
    from ...core.errors import EXIT_INTERRUPTED, EXIT_OK
    from ...core.mpi import report_and_exit

    comm = petsc_env.initialize().COMM_WORLD
    mpi = comm.tompi4py()
    try:
        ppxf, demo_spec = _prepare(args, mpi)
        path = _pnkr_result(args, demo_spec)
        report = _compare(ppxf, path, args.regul, comm) if path is not None else None
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, mpi)
    if path is None:
        return EXIT_INTERRUPTED
    if report is not None:
        print(json.dumps(report, indent=2) if args.json else format_table(report))
    return EXIT_OK
