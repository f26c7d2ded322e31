"""``hpcinv reproduce pnkr-vs-ppxf``: the paper's pPXF baseline against hpcinv's solvers on
mock galaxies.

For each mock (``--mocks``: the paper's three-component galaxy and the independent
bulge-counter-disk one) every solver (``--solvers``: PNKR and tensor-tikhonov) runs the demo
job on it, and pPXF (Cappellari 2017) fits every spectrum of that mock's noisy cube on its
own, with a Gauss-Hermite LOSVD of order 6 (V, sigma, h3-h6), no additive polynomial and
non-negative weights of the same MILES templates.  All become the same maps (derived.py),
compared with the truth's (``comparison_metrics``): map RMS errors, LOSVD L1 errors at the
nine positions and over every spaxel with mass, bimodal truth LOSVDs recovered as bimodal,
and wall times.

pPXF sees exactly the cube the solvers saw (a result's own /data, the mock's noise sigma).
Its licence forbids redistributing it: ``ppxf_fit.ensure_ppxf`` installs it from PyPI on
first use.  ``--result`` of a run on an observed cube gives pPXF's baseline for that cube
instead (``cube_baseline``).
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from .comparison_metrics import CORE_SIGMAS, MASS_FLOOR, compare
from .cube_baseline import cube_summary, format_cube_table, observed_noise, write_ppxf_maps
from .mock import MOCK_MODELS
from .ppxf_fit import (MOMENTS, fit_options, fit_spectra, fittable, on_every_pixel,
                       ppxf_on_every_rank, ppxf_rows, ppxf_templates)

HELP = ("pPXF (Gauss-Hermite order 6, same templates) against PNKR and tensor-tikhonov on "
        "two mock galaxies, or pPXF's baseline for a run on an observed cube")

SOLVERS = ("pnkr", "tensor-tikhonov")
DEFAULT_OUTPUT = "results/pnkr-vs-ppxf"
DEFAULT_MESH = "kinematics"
# What the comparison reads from a result beside /data and /truth (a mock's) or /data (a
# cube's).
DERIVED = ("losvd_cube", "losvd", "velocity", "mu_v")
TRUTH_DERIVED = ("truth_losvd_cube", "truth_losvd", "truth_mu_v")
# pPXF's dispersion may fit far narrower than the mock's narrowest feature (its lower bound is
# 0.01 velscale): its LOSVD is averaged over each velocity basis function on a finer rule
# than the truth's 8 points per interval, so a narrow fit does not alias.
LOSVD_POINTS_PER_INTERVAL = 64
MAP_UNITS = {"mass": "relative", "mean_age": "Gyr", "mean_metallicity": "dex",
             "mu_v": "km/s", "sigma_v": "km/s", "h3": "", "h4": "", "h5": ""}


def _names(text: str) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def add_arguments(parser) -> None:
    parser.add_argument("--result", help="one finished galaxy run to compare instead of "
                        "running the jobs: a mock's (e.g. results/galaxy-demo.h5), or one "
                        "on an observed cube (pPXF's baseline for that cube)")
    parser.add_argument("--mocks", type=_names,
                        help=f"comma-separated mock galaxies (default {','.join(MOCK_MODELS)})")
    parser.add_argument("--solvers", type=_names,
                        help=f"comma-separated hpcinv solvers (default {','.join(SOLVERS)})")
    parser.add_argument("--mesh", help=f"galaxy mesh (name or file) for the jobs (default "
                        f"{DEFAULT_MESH}: the demo's with 25 velocity nodes, fine enough for "
                        f"bimodal LOSVDs)")
    parser.add_argument("--max-iterations", type=int,
                        help="cap the jobs' iterations (PNKR loops, tensor-tikhonov outer "
                        "steps; default: the demo job's)")
    parser.add_argument("--output", help=f"directory of the jobs' results, MOCK-SOLVER.h5 "
                        f"(default {DEFAULT_OUTPUT})")
    parser.add_argument("--regul", type=float, default=0.0,
                        help="pPXF's regularisation of the template weights (default 0: none)")


# --- the PNKR result and its problem --------------------------------------------------------

def check_result(path: str):
    """The job spec that rebuilds ``path``'s galaxy problem and the result's summary; an
    InputError when the file is no finished galaxy run (on a mock with its truth, or on an
    observed cube) with s = 1 and its data."""
    from ...core.io.results import read_summary
    from ...core.errors import InputError

    if not Path(path).is_file():
        raise InputError(("--result", f"no such result file {path}"))
    try:
        summary = read_summary(path)
    except (OSError, KeyError) as error:
        raise InputError(("--result", f"{path} is not an hpcinv result file: {error}")) from None
    kind = summary.get("problem_kind")
    if kind != "galaxy" or "job_spec" not in summary:
        raise InputError(("--result", f"{path} is a {kind!r} result, not a galaxy run: "
                                      f"pnkr-vs-ppxf needs one such as `hpcinv demo`'s"))
    attributes = summary["problem_attributes"]
    observed = bool(attributes.get("cube"))
    needed = {"/data"} if observed else {"/data", "/truth"}
    if not needed <= set(summary["datasets"]):
        raise InputError(("--result", f"{path} lacks {' and '.join(sorted(needed))} ([output] "
                                      f"store_data = false): the comparison fits the run's "
                                      f"own data"))
    names = DERIVED if observed else DERIVED + TRUTH_DERIVED
    missing = [name for name in names if f"/derived/{name}" not in summary["datasets"]]
    if missing:
        raise InputError(("--result", f"{path} lacks /derived/{missing[0]}: written by an "
                                      f"older hpcinv; run its job again"))
    if attributes["order"] != 1:
        raise InputError(("--result", f"{path} has s = {attributes['order']}: the comparison "
                                      f"needs s = 1, where the [M/H] and age basis points are "
                                      f"the templates pPXF weighs"))
    if observed and not os.access(Path(path).resolve().parent, os.W_OK):
        raise InputError(("--result", f"pPXF's maps go beside {path}, and its directory is "
                                      f"not writable"))
    return _rebuilding_spec(summary), summary


def _rebuilding_spec(summary: dict):
    """The run's job spec with the files the run read (its resolved mesh and cube) where they
    still exist, so the comparison finds them from any directory; else the spec's own
    (relative) names, looked up again from here."""
    import tomllib

    from ...core.jobspec.spec import spec_from_mapping

    job = tomllib.loads(summary["job_spec"])
    attributes = summary["problem_attributes"]
    read = {"mesh": attributes["mesh"],
            "cube": re.sub(r"\[[^\]]*\]$", "", attributes.get("cube") or "")}
    for key, path in read.items():
        if path and Path(path).is_file():
            job["problem"][key] = path
    return spec_from_mapping(job, source=summary.get("job_source", "<string>"))


def _check_same_sizes(problem, path: str) -> None:
    """The rebuilt problem must have the result's sizes (a mesh edited since would not)."""
    import h5py

    from ...core.errors import InputError

    with h5py.File(path, "r") as handle:
        stored = (handle["data"].shape[0], handle["solution"].shape[0])
    if stored != tuple(problem.operator.shape):
        raise InputError(("--result", f"{path} holds {stored[0]} data and {stored[1]} unknowns, "
                                      f"but its mesh now gives "
                                      f"{tuple(problem.operator.shape)}: run PNKR again"))


def _job_specs(args) -> list:
    """(mock, solver, spec) of every job the comparison runs."""
    from .demo import demo_spec

    return [(mock, solver, demo_spec(args.max_iterations, args.mesh or DEFAULT_MESH, mock=mock,
                                     solver=solver))
            for mock in args.mocks or MOCK_MODELS for solver in args.solvers or SOLVERS]


def _check_arguments(args) -> None:
    from ...core.errors import InputError

    overrides = [f"--{name.replace('_', '-')}" for name in ("mocks", "solvers", "mesh",
                                                             "max_iterations", "output")
                 if getattr(args, name) is not None]
    if args.result is not None and overrides:
        raise InputError((", ".join(overrides), "apply to the jobs, not to --result"))
    if args.regul < 0:
        raise InputError(("--regul", f"must be >= 0, got {args.regul}"))
    for option, names, known in (("--mocks", args.mocks, tuple(MOCK_MODELS)),
                                 ("--solvers", args.solvers, SOLVERS)):
        if names is None:
            continue
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise InputError((option, f"{', '.join(map(repr, unknown)) or 'nothing'} given; "
                                      f"choose from {', '.join(known)}"))


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

def comparison(mock: str, solver: str, ppxf: dict, hpcinv: dict, positions) -> dict:
    """Rows of one solver's and pPXF's errors on one mock (``comparison_metrics.compare``
    results): per map, per LOSVD position ((x, y) of ``positions``), and a summary."""
    rows = [{"mock": mock, "solver": solver, "map": name, "unit": MAP_UNITS[name],
             "error_ppxf": ppxf["maps"][name], "error_hpcinv": hpcinv["maps"][name]}
            for name in ppxf["maps"]]
    losvd_rows = [{"mock": mock, "solver": solver, "x": float(x), "y": float(y),
                   "error_ppxf": ppxf["losvd_nine"][k], "error_hpcinv": hpcinv["losvd_nine"][k]}
                  for k, (x, y) in enumerate(positions)]
    summary = {"mock": mock, "solver": solver,
               "losvd_nine_ppxf": float(np.mean(ppxf["losvd_nine"])),
               "losvd_nine_hpcinv": float(np.mean(hpcinv["losvd_nine"])),
               "losvd_all_ppxf": ppxf["losvd_all"], "losvd_all_hpcinv": hpcinv["losvd_all"],
               "wing_mass_truth": hpcinv["wing_mass_truth"],
               "wing_mass_ppxf": ppxf["wing_mass"], "wing_mass_hpcinv": hpcinv["wing_mass"],
               "sigma_v_core_ppxf": ppxf["sigma_v_core"],
               "sigma_v_core_hpcinv": hpcinv["sigma_v_core"],
               "bimodal_truth": hpcinv["bimodal_truth"],
               "bimodal_recovered_ppxf": ppxf["bimodal_recovered"],
               "bimodal_recovered_hpcinv": hpcinv["bimodal_recovered"],
               "false_bimodal_ppxf": ppxf["false_bimodal"],
               "false_bimodal_hpcinv": hpcinv["false_bimodal"],
               "sky_positions": hpcinv["sky_positions"],
               "sky_positions_total": hpcinv["sky_positions_total"]}
    return {"rows": rows, "losvd_rows": losvd_rows, "summary": summary}


def _cell(value) -> str:
    return f"{value:10.4g}" if isinstance(value, float) else f"{value!s:>10s}"


def format_table(report: dict) -> str:
    """One block per mock: pPXF's column, then one per solver."""
    lines = [f"pnkr-vs-ppxf: pPXF {report['ppxf_version']}: Gauss-Hermite order {MOMENTS}, no "
             f"additive polynomial, regul {report['regul']:g}; map error: RMS of map - truth "
             f"over the sky positions with truth mass >= {MASS_FLOOR:.0%} of its peak (mass: "
             f"relative to the truth's RMS there); LOSVD error: int |p - p_true| dv of the "
             f"unit-integral light-weighted LOSVDs (0: identical, 2: disjoint)"]
    for mock in dict.fromkeys(row["mock"] for row in report["rows"]):
        runs = [run for run in report["runs"] if run["mock"] == mock]
        solvers = [run["solver"] for run in runs]
        fits = next(fit for fit in report["ppxf"] if fit["mock"] == mock)
        summaries = {s["solver"]: s for s in report["summaries"] if s["mock"] == mock}
        first = summaries[solvers[0]]
        lines += ["", f"mock {mock}: {fits['spectra']} spectra, {first['sky_positions']} of "
                      f"{first['sky_positions_total']} sky positions with mass",
                  f"{'':28s} {'pPXF':>10s} " + " ".join(f"{name:>16s}" for name in solvers)]
        for name in MAP_UNITS:
            cells = {row["solver"]: row for row in report["rows"]
                     if row["mock"] == mock and row["map"] == name}
            lines.append(f"{name + ' ' + MAP_UNITS[name]:28s} "
                         f"{_cell(cells[solvers[0]]['error_ppxf'])} " +
                         " ".join(f"{cells[solver]['error_hpcinv']:16.4g}" for solver in solvers))
        for label, key in (("LOSVD L1, nine positions", "losvd_nine"),
                           ("LOSVD L1, all with mass", "losvd_all"),
                           (f"mass > {CORE_SIGMAS:g} sigma (truth {first['wing_mass_truth']:.3f})",
                            "wing_mass"),
                           (f"sigma_v within {CORE_SIGMAS:g} sigma km/s", "sigma_v_core")):
            lines.append(f"{label:28s} {_cell(first[key + '_ppxf'])} " +
                         " ".join(f"{summaries[s][key + '_hpcinv']:16.4g}" for s in solvers))
        lines.append(f"{'bimodal recovered of ' + str(first['bimodal_truth']):28s} "
                     f"{first['bimodal_recovered_ppxf']:10d} " +
                     " ".join(f"{summaries[s]['bimodal_recovered_hpcinv']:16d}" for s in solvers))
        lines.append(f"{'second peak, unimodal truth':28s} {first['false_bimodal_ppxf']:10d} " +
                     " ".join(f"{summaries[s]['false_bimodal_hpcinv']:16d}" for s in solvers))
        lines.append(f"{'seconds (ranks)':28s} {fits['seconds']:6.1f} ({fits['ranks']}) " +
                     " ".join(f"{run['seconds']:11.1f} ({run['ranks']})" for run in runs))
    return "\n".join(lines)


# --- the experiment -------------------------------------------------------------------------

def _run_jobs(args, specs) -> list | None:
    """[(mock, solver, result path)]: --result, or the jobs run now (None: stopped)."""
    if args.result is not None:
        return [(None, None, args.result)]
    from ... import run as run_job
    from ...core.errors import EXIT_OK

    directory = Path(args.output or DEFAULT_OUTPUT)
    paths = []
    for mock, solver, spec in specs:
        # This command owns its outputs: a rerun with another mesh replaces them.
        outcome = run_job(spec, output=str(directory / f"{mock}-{solver}.h5"), overwrite=True)
        if outcome.exit_status != EXIT_OK:
            return None
        paths.append((mock, solver, outcome.result_path))
    return paths


def _check_same_cube(stored: np.ndarray, prepared, layout, path: str) -> None:
    """The cube file read again must hold the spectra the run fitted (its /data): its noise
    is taken from that file (collective)."""
    from mpi4py import MPI

    from ...core.errors import InputError

    local = layout.local_part(prepared.cube.flux)
    same = np.allclose(stored, local, rtol=1e-10, atol=1e-12 * np.abs(local).max(initial=0))
    if not layout.comm.tompi4py().allreduce(same, op=MPI.LAND):
        raise InputError(("--result", f"{prepared.cube.source} now holds other spectra than "
                                      f"the run {path} fitted"))


def _local_cube(problem, prepared, path: str) -> tuple:
    """This rank's spectra of the result's cube and their noise sigma: an observed cube's
    from its variance, a mock's as it drew it (unit sigma for a noise-free mock)."""
    from .mock import noise_deviation

    operator = problem.operator
    pixels, thetas = operator.kernel.shape
    start, count = operator.spatial_layout.start, operator.spatial_layout.local_size
    cube = _stored_rows(path, "data", start, count, pixels)
    if prepared.cube is not None:
        _check_same_cube(cube, prepared, operator.spatial_layout, path)
        return cube, observed_noise(prepared, operator.spatial_layout)
    noise_level = prepared.values["noise_level"]
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
    cube, noise = _local_cube(problem, prepared, path)
    wavelengths = observed_wavelengths(prepared.mesh)
    template_wavelengths, templates = ppxf_templates(
        prepared.library, prepared.mesh, wavelengths, problem.attributes["flux_scale"])
    cube, noise, options = on_every_pixel(
        cube, noise, problem.fitted,
        fit_options(prepared.mesh, wavelengths, template_wavelengths, regul))
    # The spaxels the run left out are not fitted (their maps are NaN, gathered_products).
    layout = problem.operator.spatial_layout
    fitted_spaxels = problem.block_rows.fitted_spaxels
    fitted = np.ones(layout.local_size, dtype=bool) if fitted_spaxels is None else \
        np.asarray(layout.local_part(fitted_spaxels), dtype=bool)
    spectra = mpi.allreduce(int(fitted.sum()))
    faint = mpi.allreduce(int(np.sum(~fittable(cube[fitted]))))
    if mpi.rank == 0:
        print(f"hpcinv: fitting {spectra} spectra with pPXF on {mpi.size} rank(s)"
              + (f"; {faint} with a median flux <= 0 are left unfitted (NaN maps)"
                 if faint else ""), file=sys.stderr, flush=True)
    mpi.Barrier()
    clock = time.perf_counter()
    kinematics = np.zeros((layout.local_size, MOMENTS))
    kinematics[:, 1] = 1.0       # a left-out spaxel's placeholder: a valid, unused sigma
    weights = np.zeros((layout.local_size, *templates.shape[1:]))
    kinematics[fitted], weights[fitted] = fit_spectra(
        ppxf, templates, cube[fitted], noise[fitted], options,
        _progress_printer(mpi.rank, int(fitted.sum())))
    busy = time.perf_counter() - clock
    mpi.Barrier()
    seconds = time.perf_counter() - clock
    grid = problem.derived_grid
    velocity_averaging = problem.theta.averaging(LOSVD_POINTS_PER_INTERVAL)[0]
    products = gathered_products(ppxf_rows(kinematics, weights, grid, velocity_averaging),
                                 grid, problem.operator.spatial_layout)
    return {"products": products, "seconds": seconds, "spectra": spectra,
            "seconds_per_spectrum": mpi.allreduce(busy) / max(spectra, 1),
            "velocity_weights": grid.theta_weights[0]}


def _compare(ppxf, results: list, regul: float, comm) -> dict | None:
    """pPXF on each mock's cube (on every rank), compared with every solver's result on it;
    the report on rank 0, else None."""
    from importlib.metadata import PackageNotFoundError, version

    from ...core.io.results import read_products
    from ...core.mpi import agree

    mpi = comm.tompi4py()
    try:
        ppxf_version = version("ppxf")
    except PackageNotFoundError:     # a pPXF importable without package metadata
        ppxf_version = "unknown"
    report = {"regul": regul, "ppxf_version": ppxf_version, "runs": [], "ppxf": [],
              "rows": [], "losvd_rows": [], "summaries": []}
    fits_of = {}
    for mock, solver, path in results:
        spec, summary = agree(mpi, check_result, path)
        if summary["problem_attributes"].get("cube"):
            _compare_on_cube(ppxf, spec, summary, path, regul, comm, report)
            continue
        mock = mock or spec.problem["mock"]
        solver = solver or summary.get("solver_kind", "pnkr")
        if mock not in fits_of:   # the same mock's data for every solver: one pPXF fit
            fits_of[mock] = _ppxf_products(ppxf, spec, path, regul, comm)
            fits = fits_of[mock]
            report["ppxf"].append({"mock": mock, "seconds": fits["seconds"],
                                   "ranks": mpi.size, "spectra": fits["spectra"],
                                   "seconds_per_spectrum": fits["seconds_per_spectrum"]})
        if mpi.rank != 0:
            continue
        products, history, _ = read_products(path)
        weights = fits_of[mock]["velocity_weights"]
        rows = comparison(mock, solver, compare(fits_of[mock]["products"], products, weights),
                          compare(products, products, weights), products["losvd_positions"])
        report["rows"] += rows["rows"]
        report["losvd_rows"] += rows["losvd_rows"]
        report["summaries"].append(rows["summary"])
        report["runs"].append({"mock": mock, "solver": solver, "result": str(path),
                               "seconds": float(history["seconds"][-1]),
                               "ranks": summary["ranks"],
                               "iterations": summary["iterations"]})
    return report if mpi.rank == 0 else None


def _compare_on_cube(ppxf, spec, summary: dict, path: str, regul: float, comm,
                     report: dict) -> None:
    """pPXF's baseline for a run on an observed cube, added to ``report`` on rank 0."""
    from ...core.io.results import read_products

    mpi = comm.tompi4py()
    fits = _ppxf_products(ppxf, spec, path, regul, comm)
    if mpi.rank != 0:
        return
    products, history, _ = read_products(path)
    solver = summary.get("solver_kind", "pnkr")
    report.setdefault("cube_summaries", []).append(cube_summary(
        solver, summary["problem_attributes"]["cube"], fits["products"], products,
        fits["velocity_weights"]))
    report["ppxf"].append({"cube": summary["problem_attributes"]["cube"],
                           "seconds": fits["seconds"], "ranks": mpi.size,
                           "spectra": fits["spectra"],
                           "seconds_per_spectrum": fits["seconds_per_spectrum"],
                           "maps_fits": write_ppxf_maps(path, fits["products"],
                                                        report["ppxf_version"])})
    report["runs"].append({"cube": summary["problem_attributes"]["cube"], "solver": solver,
                           "result": str(path), "seconds": float(history["seconds"][-1]),
                           "ranks": summary["ranks"], "iterations": summary["iterations"]})


def _prepare(args, mpi) -> tuple:
    """Check the arguments and --result before installing anything; return pPXF and the
    jobs' (mock, solver, spec) (none with --result)."""
    from ...core.mpi import agree

    agree(mpi, _check_arguments, args)
    if args.result is not None:
        agree(mpi, check_result, args.result)
    specs = agree(mpi, _job_specs, args) if args.result is None else []
    return ppxf_on_every_rank(mpi), specs


def run(args) -> int:
    import json

    from ...core import petsc_env
    from ...core.errors import EXIT_INTERRUPTED, EXIT_OK
    from ...core.mpi import report_and_exit

    comm = petsc_env.initialize().COMM_WORLD
    mpi = comm.tompi4py()
    try:
        ppxf, specs = _prepare(args, mpi)
        results = _run_jobs(args, specs)
        report = _compare(ppxf, results, args.regul, comm) if results is not None else None
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, mpi)
    if results is None:
        return EXIT_INTERRUPTED
    if report is not None:
        if "cube_summaries" in report:     # no truth: no per-map error rows
            report = {key: value for key, value in report.items()
                      if key not in ("rows", "losvd_rows", "summaries")}
        table = format_cube_table if "cube_summaries" in report else format_table
        print(json.dumps(report, indent=2) if args.json else table(report))
    return EXIT_OK
