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
licence forbids redistributing it: ``ensure_ppxf`` installs it from PyPI on first use.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..io.templates import SPEED_OF_LIGHT

HELP = "pPXF (Gauss-Hermite order 6, same templates) against PNKR on the mock galaxy"

# Pure Python; --no-deps because numpy/scipy/matplotlib/astropy come from Debian and pip
# must not replace the numpy petsc4py was built against.  ppxf 9.5.2 needs capfit.
PPXF_REQUIREMENTS = ("ppxf==9.5.2", "capfit==2.7.1")
MOMENTS = 6                 # V, sigma, h3, h4, h5, h6 (the paper's order)
VELSCALE_RATIO = 2          # templates at half the data's velocity scale, as in the kernel
# pPXF checks that the templates cover the data shifted by the velocity bounds +- 900 km/s.
TEMPLATE_MARGIN = 1000.0    # km/s
# Where the truth mass is below this fraction of its peak, every map is a ratio of two
# near-zero numbers: those sky positions are left out, for both methods alike.
MASS_FLOOR = 0.01
DEFAULT_OUTPUT = "results/pnkr-vs-ppxf.h5"
MAP_UNITS = {"mass": "relative", "mean_age": "Gyr", "mean_metallicity": "dex",
             "mu_v": "km/s", "sigma_v": "km/s", "h3": "", "h4": "", "h5": ""}


def add_arguments(parser) -> None:
    parser.add_argument("--result", help="a finished PNKR run on a galaxy mock (e.g. "
                        "results/galaxy-demo.h5); default: run the demo job first")
    parser.add_argument("--mesh", help="galaxy mesh for the demo job (default: the demo's)")
    parser.add_argument("--max-iterations", type=int,
                        help="cap the demo job's loops (default: the demo job's)")
    parser.add_argument("--output", help=f"the demo job's result (default {DEFAULT_OUTPUT})")
    parser.add_argument("--regul", type=float, default=0.0,
                        help="pPXF's regularisation of the template weights (default 0: none)")


# --- pPXF on demand -------------------------------------------------------------------------

def ensure_ppxf():
    """pPXF's fitting class; installed with pip into this interpreter's environment first
    when it is missing."""
    try:
        from ppxf.ppxf import ppxf
    except ImportError:
        _install_ppxf()
        from ppxf.ppxf import ppxf
    return ppxf


def _install_ppxf() -> None:
    from ..runtime.errors import RuntimeFailure

    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", *PPXF_REQUIREMENTS]
    print(f"hpcinv: installing {' '.join(PPXF_REQUIREMENTS)} from PyPI for the pPXF baseline "
          f"(its licence forbids shipping it)", file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeFailure(f"pip could not install {' '.join(PPXF_REQUIREMENTS)} "
                             f"({' '.join(command)}): {result.stderr.strip()[-500:]}")
    importlib.invalidate_caches()   # the new site-packages entries must be seen by import


def _ppxf_on_every_rank(mpi):
    """Rank 0 installs pPXF if needed, then every rank imports it."""
    from ..runtime.mpi import agree

    agree(mpi, lambda: ensure_ppxf() if mpi.rank == 0 else None)
    return agree(mpi, ensure_ppxf)


# --- the PNKR result and its problem --------------------------------------------------------

def check_result(path: str):
    """The job spec that rebuilds ``path``'s galaxy problem and the result's summary; an
    InputError when the file is no finished run on the galaxy mock with s = 1."""
    from ..io.results import read_summary
    from ..jobspec import parse_spec
    from ..runtime.errors import InputError

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

    from ..runtime.errors import InputError

    with h5py.File(path, "r") as handle:
        stored = (handle["data"].shape[0], handle["truth"].shape[0])
    if stored != tuple(problem.operator.shape):
        raise InputError(("--result", f"{path} holds {stored[0]} data and {stored[1]} truth "
                                      f"values, but its mesh now gives "
                                      f"{tuple(problem.operator.shape)}: run PNKR again"))


def _demo_spec(args):
    from ..jobspec import parse_spec
    from ..paths import resolve_input
    from ..runtime.errors import InputError

    text = (Path(__file__).resolve().parent.parent / "demo.toml").read_text()
    spec = parse_spec(text, source="<demo>")
    if args.mesh is not None:
        spec.problem["mesh"] = resolve_input(args.mesh)
        if spec.problem["mesh"] is None:
            raise InputError(("--mesh", f"no such mesh file {args.mesh}"))
    if args.max_iterations is not None:
        if args.max_iterations < 1:
            raise InputError(("--max-iterations", f"must be >= 1, got {args.max_iterations}"))
        spec.solver["max_iterations"] = args.max_iterations
    return spec


def _check_arguments(args) -> None:
    from ..runtime.errors import InputError

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


# --- pPXF fits ------------------------------------------------------------------------------

def ppxf_templates(library, mesh, wavelengths: np.ndarray, flux_scale: float):
    """(wavelengths, spectra (pixels, n_metal, n_age)): the library log-rebinned at the
    data's velocity scale / VELSCALE_RATIO, divided by the kernel's one flux scale, so the
    pPXF weights are masses in f's units (the kernel's columns are the same spectra)."""
    from ..io.templates import log_grid, log_rebin

    v_low, v_high = mesh.velocity_range
    grid = log_grid(wavelengths[0] * np.exp(-(v_high + TEMPLATE_MARGIN) / SPEED_OF_LIGHT),
                    wavelengths[-1] * np.exp((TEMPLATE_MARGIN - v_low) / SPEED_OF_LIGHT),
                    mesh.velscale / VELSCALE_RATIO)
    spectra = log_rebin(library.wavelength, library.spectra, grid) / flux_scale
    return grid, np.moveaxis(spectra, -1, 0)


def _fit_options(mesh, wavelengths, template_wavelengths, regul: float) -> dict:
    v_low, v_high = mesh.velocity_range
    # pPXF's default bounds, except V: kept within the mesh's velocity range, the support
    # PNKR's f has too.  The start is mid-range, with a tenth of the range as sigma.
    bounds = [[v_low, v_high], [0.01 * mesh.velscale, 1000.0]] + [[-0.3, 0.3]] * (MOMENTS - 2)
    return {"velscale": mesh.velscale, "start": [(v_low + v_high) / 2, (v_high - v_low) / 10],
            "moments": MOMENTS, "degree": -1, "mdegree": 0, "lam": wavelengths,
            "lam_temp": template_wavelengths, "velscale_ratio": VELSCALE_RATIO,
            "bounds": bounds, "regul": regul, "quiet": True}


def fit_spectra(ppxf, templates, spectra, noise, options: dict, progress) -> tuple:
    """Fit each row of ``spectra``; return (kinematics (n, MOMENTS), weights (n, n_metal,
    n_age)).  Each spectrum is scaled to median 1 for the fit, as pPXF's regularisation
    expects, and its weights scaled back."""
    kinematics = np.empty((spectra.shape[0], MOMENTS))
    weights = np.empty((spectra.shape[0], *templates.shape[1:]))
    for index, (spectrum, sigma) in enumerate(zip(spectra, noise)):
        scale = np.median(spectrum)
        fit = ppxf(templates, spectrum / scale, sigma / scale, **options)
        kinematics[index] = fit.sol
        weights[index] = fit.weights.reshape(templates.shape[1:]) * scale
        progress(index + 1)
    return kinematics, weights


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


# --- maps from pPXF fits --------------------------------------------------------------------

def gauss_hermite_losvd(velocity: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """pPXF's LOSVD (V, sigma, h3, ...) at ``velocity`` (km/s, pPXF's ln-lambda velocity),
    one row per parameter set, with derived.py's (van der Marel & Franx) Hermite
    polynomials, which pPXF uses too."""
    from ..problems.galaxy.derived import hermite

    parameters = np.atleast_2d(parameters)
    mean, sigma = parameters[:, :1], parameters[:, 1:2]
    w = (velocity[None] - mean) / sigma
    series = 1 + sum(parameters[:, order - 1:order] * hermite(order, w)
                     for order in range(3, parameters.shape[1] + 1))
    return np.exp(-0.5 * w ** 2) / (np.sqrt(2 * np.pi) * sigma) * series


def gauss_hermite_integral(parameters: np.ndarray) -> np.ndarray:
    """int LOSVD dV for each parameter set: 1 + sum over even m >= 4 of h_m times
    int alpha H_m = sqrt(m!) / (2^(m/2) (m/2)!).  pPXF's weights multiply this, not 1."""
    from math import factorial

    parameters = np.atleast_2d(parameters)
    total = np.ones(parameters.shape[0])
    for order in range(4, parameters.shape[1] + 1, 2):
        total += parameters[:, order - 1] * np.sqrt(factorial(order)) / (
            2 ** (order // 2) * factorial(order // 2))
    return total


def ppxf_rows(kinematics: np.ndarray, weights: np.ndarray, grid,
              velocity_averaging) -> np.ndarray:
    """pPXF's fits as coefficient rows on the mesh, so derived.py makes their maps exactly as
    it makes PNKR's: f(v, z, t) = LOSVD(v) mass(z, t), with the LOSVD averaged over each
    velocity basis function like the truth (``velocity_averaging``: km/s points and the
    averaging weights, from Theta.averaging) and the template masses at the (z, t) basis
    points (s = 1: the templates).

    The kernel's Doppler factor 1 + v/c divides the template, which is exactly the Jacobian
    of pPXF's ln-lambda velocity V = c ln(1 + v/c), so f(v) = LOSVD(V(v)) with no factor.
    Negative Gauss-Hermite wings count as zero density, as negative coefficients do.
    """
    points, averaging = velocity_averaging
    w_v, w_z, w_t = grid.theta_weights
    ln_velocity = SPEED_OF_LIGHT * np.log1p(points / SPEED_OF_LIGHT)
    losvd = np.clip(gauss_hermite_losvd(ln_velocity, kinematics), 0, None) @ averaging.T
    losvd /= (losvd @ w_v)[:, None]
    mass = weights * gauss_hermite_integral(kinematics)[:, None, None] / np.outer(w_z, w_t)
    return (losvd[:, :, None, None] * mass[:, None]).reshape(kinematics.shape[0], -1)


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
    from ..problems.galaxy.derived import MAP_NAMES

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
    header = f"{'':18s} {'':9s} {'pPXF':>10s} {'PNKR':>10s}"
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
                  f"rank(s), {report['seconds_per_spectrum_ppxf']:.3f} s per spectrum; PNKR "
                  f"{report['seconds_pnkr']:.1f} s on {report['ranks_pnkr']} rank(s), "
                  f"{report['iterations_pnkr']} loops"]
    return "\n".join(lines)


# --- the experiment -------------------------------------------------------------------------

def _pnkr_result(args, demo_spec) -> str | None:
    """The result to compare with: --result, or the demo job's, run now (None: stopped)."""
    if demo_spec is None:
        return args.result
    from ..pipeline import run as run_job
    from ..runtime.errors import EXIT_OK

    outcome = run_job(demo_spec, output=args.output or DEFAULT_OUTPUT)
    return outcome.result_path if outcome.exit_status == EXIT_OK else None


def _local_cube(problem, path: str, noise_level: float) -> tuple:
    """This rank's spectra of the result's noisy cube and their noise sigma: noise_level x
    |noise-free value| per pixel, as the mock drew it (unit sigma for a noise-free mock)."""
    operator = problem.operator
    pixels, thetas = operator.kernel.shape
    start, count = operator.row_start, operator.local_rows
    cube = _stored_rows(path, "data", start, count, pixels)
    if noise_level == 0:
        return cube, np.ones_like(cube)
    noise_free = _stored_rows(path, "truth", start, count, thetas) @ operator.kernel.T
    return cube, noise_level * np.abs(noise_free)


def _ppxf_products(ppxf, spec, path: str, regul: float, comm) -> dict:
    """pPXF's maps and LOSVDs of the result's cube (replicated), its wall time and seconds
    per spectrum, and the velocity weights of the LOSVD errors."""
    from ..jobspec import PROBLEMS
    from ..problems.galaxy.derived import gathered_products
    from ..problems.galaxy.problem import MOCK_POINTS_PER_INTERVAL
    from ..runtime.mpi import agree

    mpi = comm.tompi4py()
    kind = PROBLEMS.get("galaxy", "problem.kind")
    prepared = agree(mpi, kind.prepare, spec.problem)
    problem = kind.build(prepared, comm)
    _check_same_sizes(problem, path)
    cube, noise = _local_cube(problem, path, spec.problem["noise_level"])
    template_wavelengths, templates = ppxf_templates(
        prepared.library, prepared.mesh, problem.wavelengths, problem.attributes["flux_scale"])
    options = _fit_options(prepared.mesh, problem.wavelengths, template_wavelengths, regul)
    spectra = problem.operator.spatial_size
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
    velocity_averaging = problem.theta.averaging(MOCK_POINTS_PER_INTERVAL)[0]
    products = gathered_products(ppxf_rows(kinematics, weights, grid, velocity_averaging),
                                 grid, mpi)
    return {"products": products, "seconds": seconds, "spectra": spectra,
            "seconds_per_spectrum": mpi.allreduce(busy) / spectra,
            "velocity_weights": grid.theta_weights[0]}


def _compare(ppxf, path: str, regul: float, comm) -> dict | None:
    """Fit the result's cube with pPXF on every rank; the report on rank 0, else None."""
    from importlib.metadata import version

    from ..figures import read_products
    from ..runtime.mpi import agree

    mpi = comm.tompi4py()
    spec, summary = agree(mpi, check_result, path)
    fits = _ppxf_products(ppxf, spec, path, regul, comm)
    if mpi.rank != 0:
        return None
    pnkr_products, history = read_products(path)
    return {"result": path, "spectra": fits["spectra"], "regul": regul,
            "ppxf_version": version("ppxf"),
            **comparison(fits["products"], pnkr_products, fits["velocity_weights"]),
            "seconds_ppxf": fits["seconds"], "ranks_ppxf": mpi.size,
            "seconds_per_spectrum_ppxf": fits["seconds_per_spectrum"],
            "seconds_pnkr": float(history["seconds"][-1]), "ranks_pnkr": summary["ranks"],
            "iterations_pnkr": summary["iterations"]}


def _prepare(args, mpi) -> tuple:
    """Check the arguments and --result before installing anything; return pPXF and the
    demo job's spec (None with --result)."""
    from ..runtime.mpi import agree

    agree(mpi, _check_arguments, args)
    if args.result is not None:
        agree(mpi, check_result, args.result)
    demo_spec = agree(mpi, _demo_spec, args) if args.result is None else None
    return _ppxf_on_every_rank(mpi), demo_spec


def run(args) -> int:
    import json

    from ..runtime import petsc_env
    from ..runtime.errors import EXIT_INTERRUPTED, EXIT_OK
    from ..runtime.mpi import report_and_exit

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
