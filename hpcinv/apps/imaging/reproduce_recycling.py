"""``hpcinv reproduce recycling``: Ramlau, Soodhalter & Hutterer's experiments (§7) as tables.

The paper reports figures only; this prints, for plain steepest descent (SD) and augmented
SD (Algorithm 2), the iteration at which the discrepancy principle ||y - T x|| <= tau delta
first holds and the relative error ||x - x_true|| / ||x_true|| there, and the iteration of
least error within the run (its semiconvergence minimum; ``best_at_limit`` says when that is
the last iteration allowed, i.e. the minimum was not reached):

* ``blur`` (§7.1): the 500^2 Gaussian blur (sigma 6, reflective boundaries), data with and
  without the inverse crime, recycle vectors = 2 SD iterates of each narrower blur (sigma'
  0.5 .. 1.5) on the noise-free ("clean") or the noisy data;
* ``ao`` (§7.3): the 257^2 star field behind the AO-corrected PSF, 10% uniform noise, recycle
  space = the k leading eigenvectors of the diffraction-limited PSF_0 operator (Fourier modes
  applied in the spectrum when k takes whole modes, ``spectral`` true; the same iterates);
* ``sequence`` (§7.2's closed loop, on the deconvolution problem): frames of a frozen-flow
  PSF sequence with their own 1% Gaussian noise, each solved to the discrepancy principle by
  SD warm-started from the previous frame's solution, or by augmented SD (from zero)
  recycling the previous ``--window`` solutions.

Every run is collective; rows are the same on any number of ranks up to rounding.
"""
from __future__ import annotations

import json
import time

HELP = ("subspace recycling (Ramlau, Soodhalter & Hutterer): SD vs augmented SD on Gaussian "
        "deblurring, AO deconvolution and a closed-loop sequence")
PARTS = ("blur", "ao", "sequence")
KS = "0,1,2,5,10,20,37,50,100,198"


def add_arguments(parser) -> None:
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of "
                        f"{', '.join(PARTS)} (all)")
    parser.add_argument("--tau", type=float, default=1.02, help="discrepancy factor (1.02)")
    parser.add_argument("--blur-n", type=int, default=500, help="blur image side (500)")
    parser.add_argument("--blur-sigma", type=float, default=6.0, help="blur PSF width (6)")
    parser.add_argument("--blur-noise", type=float, default=0.01,
                        help="blur relative Gaussian noise (0.01, IR Tools' default)")
    parser.add_argument("--blur-drop-tolerance", type=float, default=1e-3,
                        help="drop a recycle vector keeping less than this fraction of ||T u|| "
                             "after orthogonalisation (1e-3)")
    parser.add_argument("--blur-max-iterations", type=int, default=4000, help="(4000)")
    parser.add_argument("--ao-n", type=int, default=257, help="AO image side (257)")
    parser.add_argument("--ao-pupil-pixels", type=int, default=64,
                        help="AO aperture diameter in pupil samples (64)")
    parser.add_argument("--ao-noise", default="uniform", choices=("uniform", "gaussian"),
                        help="AO noise at 10%%: uniform (MATLAB rand, the paper's; its mean "
                             "is most of it) or gaussian (uniform)")
    parser.add_argument("--ks", default=KS, help=f"AO recycle dimensions ({KS})")
    parser.add_argument("--eigen-solver", default="fourier", choices=("fourier", "slepc"),
                        help="eigenvectors of PSF_0: exact Fourier modes or SLEPc EPS (fourier)")
    parser.add_argument("--ao-max-iterations", type=int, default=2000, help="(2000)")
    parser.add_argument("--frames", type=int, default=8, help="sequence frames (8)")
    parser.add_argument("--frame-exposures", type=int, default=10,
                        help="sub-exposures per frame (10)")
    parser.add_argument("--wind-pixels", type=int, default=4,
                        help="frozen-flow shift per sub-exposure in pupil samples (4)")
    parser.add_argument("--sequence-noise", type=float, default=0.01,
                        help="sequence relative Gaussian noise (0.01; at the single problem's "
                             "10%% every frame's previous solution already meets the DP)")
    parser.add_argument("--window", type=int, default=3,
                        help="previous solutions recycled per frame (3)")
    parser.add_argument("--sequence-max-iterations", type=int, default=3000, help="(3000)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _parse(args) -> tuple[list[str], list[int]]:
    from ...core.errors import InputError

    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise InputError(("--parts", f"unknown part(s) {', '.join(unknown) or '(none)'}; "
                                     f"known: {', '.join(PARTS)}"))
    try:
        ks = [int(k) for k in args.ks.split(",")]
    except ValueError:
        raise InputError(("--ks", f"expected comma-separated integers, got {args.ks!r}")) from None
    if any(k < 0 for k in ks):
        raise InputError(("--ks", "recycle dimensions must be >= 0"))
    if not args.tau >= 1.0:
        raise InputError(("--tau", f"must be >= 1, got {args.tau}"))
    if not 0 <= args.sequence_noise <= 1:
        raise InputError(("--sequence-noise", f"must be in [0, 1], got {args.sequence_noise}"))
    if args.wind_pixels < 0:
        raise InputError(("--wind-pixels", "must be >= 0"))
    for name in ("blur_n", "ao_n", "frames", "frame_exposures", "window", "blur_max_iterations",
                 "ao_max_iterations", "sequence_max_iterations"):
        if getattr(args, name) < 1:
            raise InputError((f"--{name.replace('_', '-')}", "must be >= 1"))
    if not 4 <= args.ao_pupil_pixels <= args.ao_n // 2:
        raise InputError(("--ao-pupil-pixels", f"must be in [4, --ao-n // 2 = "
                                               f"{args.ao_n // 2}]"))
    if max(ks) > args.ao_n ** 2:
        raise InputError(("--ks", f"{max(ks)} exceeds the {args.ao_n ** 2} unknowns"))
    return parts, ks


def _row(problem: str, method: str, k: int, result, seconds: float, **extra) -> dict:
    """The issue's row from a SolveResult."""
    errors = result.history["relative_error"]
    iterations = result.history["iteration"]
    dp = result.discrepancy_iteration
    row = {"problem": problem, "method": method, "k": k,
           "iterations_dp": dp, "error_dp": float(errors[dp]) if dp is not None else None,
           "iterations_best": None, "error_best": None, "best_at_limit": None,
           "iterations_run": int(iterations[-1]), "seconds": round(seconds, 4), **extra}
    best = result.semiconvergence_iteration
    if best is not None and result.reason != "discrepancy":
        row.update(iterations_best=best, error_best=float(errors[best]),
                   best_at_limit=bool(best == iterations[-1]
                                      and result.reason == "max_iterations"))
    return row


def _solve(problem, space, args, max_iterations: int, stop_at_discrepancy: bool, x0=None):
    from ...solvers.framework.stopping import Discrepancy
    from ...solvers.recycling.augmented import AugmentedSteepestDescent

    started = time.perf_counter()
    method = AugmentedSteepestDescent(
        problem.operator, problem.data, space, x0, max_iterations=max_iterations,
        stopping=Discrepancy(args.tau, problem.noise_norm, stop=stop_at_discrepancy))
    result = method.run(truth=problem.truth)
    return result, time.perf_counter() - started


def blur_rows(comm, args, say) -> list[dict]:
    from . import gaussian_blur_problem
    from ...solvers.recycling.builders import sd_iterates
    from ...solvers.recycling.capabilities import AuxiliaryOperators
    from ...solvers.recycling.space import RecycleSpace

    rows = []
    for crime in (False, True):
        data_name = "inverse-crime" if crime else "no-inverse-crime"
        problem = gaussian_blur_problem(comm, n=args.blur_n, sigma=args.blur_sigma,
                                        inverse_crime=crime, noise_level=args.blur_noise)
        for method, data in (("sd", None), ("augmented-sd-clean", problem.noise_free_data),
                             ("augmented-sd-noisy", problem.data)):
            auxiliary = problem.require(AuxiliaryOperators).operators
            vectors = [] if data is None else sd_iterates(auxiliary, data, 2, all_iterates=True)
            space = RecycleSpace(problem.operator, vectors, args.blur_drop_tolerance)
            result, seconds = _solve(problem, space, args, args.blur_max_iterations, False)
            rows.append(_row("blur", method, space.k, result, seconds, data=data_name,
                             candidates=len(vectors)))
            say(f"blur {data_name} {method}: k = {space.k} of {len(vectors)}, DP at "
                f"{rows[-1]['iterations_dp']}, {seconds:.1f} s")
    return rows


def ao_rows(comm, args, ks, say) -> list[dict]:
    from . import ao_problem
    from ...solvers.recycling.sources import reference_eigen_space
    from ...solvers.recycling.space import RecycleSpace
    from ...solvers.recycling.spectral import FourierRecycleSpace

    problem = ao_problem(comm, n=args.ao_n, pupil_pixels=args.ao_pupil_pixels,
                         noise=args.ao_noise)
    rows = []
    for k in ks:
        started = time.perf_counter()
        space = (reference_eigen_space(problem, k, args.eigen_solver) if k
                 else RecycleSpace(problem.operator, []))
        setup = time.perf_counter() - started
        result, seconds = _solve(problem, space, args, args.ao_max_iterations, False)
        rows.append(_row("ao", "sd" if k == 0 else "augmented-sd", space.k, result, seconds,
                         setup_seconds=round(setup, 3), strehl=problem.attributes["strehl"],
                         spectral=isinstance(space, FourierRecycleSpace)))
        say(f"ao k = {k}: DP at {rows[-1]['iterations_dp']}, least error at "
            f"{rows[-1]['iterations_best']}, {seconds:.1f} s")
    return rows


def sequence_rows(comm, args, say) -> list[dict]:
    """Frame 0 has nothing to reuse, so one SD run serves both methods there."""
    from . import ao_problem
    from ...solvers.recycling.builders import SlidingWindow
    from ...solvers.recycling.space import RecycleSpace

    rows = []
    window = SlidingWindow(args.window)
    warm = None
    for frame in range(args.frames):
        problem = ao_problem(comm, n=args.ao_n, pupil_pixels=args.ao_pupil_pixels, frame=frame,
                             exposures=args.frame_exposures, wind_pixels=args.wind_pixels,
                             noise="gaussian", noise_level=args.sequence_noise)
        result, seconds = _solve(problem, RecycleSpace(problem.operator, []), args,
                                 args.sequence_max_iterations, True, x0=warm)
        warm = result.x
        rows.append(_row("sequence", "warm-start", 0, result, seconds, frame=frame))
        recycled = 0
        if frame:
            space = RecycleSpace(problem.operator, window.vectors())
            recycled = space.k
            result, seconds = _solve(problem, space, args, args.sequence_max_iterations, True)
        rows.append(_row("sequence", "recycle", recycled, result, seconds, frame=frame))
        window.push(result.x)
        say(f"sequence frame {frame}: warm start {rows[-2]['iterations_dp']}, recycling "
            f"{rows[-1]['iterations_dp']} iterations to the DP")
    return rows


def _number(value, form: str) -> str:
    return "-" if value is None else format(value, form)


def table(rows, args) -> str:
    titles = {"blur": f"blur (sec. 7.1): {args.blur_n}^2 Gaussian, sigma {args.blur_sigma:g}, "
                      f"reflective, noise {args.blur_noise:g}",
              "ao": f"AO deconvolution (sec. 7.3): {args.ao_n}^2, 10% {args.ao_noise} noise, "
                    f"k eigenvectors of PSF_0 ({args.eigen_solver})",
              "sequence": f"closed-loop sequence: {args.ao_n}^2, iterations per frame to the "
                          f"DP, window {args.window}, wind {args.wind_pixels} px, noise "
                          f"{args.sequence_noise:g}"}
    lines = []
    for part in PARTS:
        mine = [row for row in rows if row["problem"] == part]
        if not mine:
            continue
        lines.append("")
        lines.append(titles[part])
        lines.append(f"{'data/frame':>16s} {'method':>19s} {'k':>4s} | {'DP it':>6s} "
                     f"{'error':>7s} | {'best it':>8s} {'error':>7s} | {'s/it':>7s}")
        for row in mine:
            label = str(row.get("data", row.get("frame", "")))
            best = _number(row["iterations_best"], "d") + ("+" if row["best_at_limit"] else "")
            per_iteration = row["seconds"] / max(row["iterations_run"], 1)
            lines.append(f"{label:>16s} {row['method']:>19s} {row['k']:>4d} | "
                         f"{_number(row['iterations_dp'], 'd'):>6s} "
                         f"{_number(row['error_dp'], '.4f'):>7s} | {best:>8s} "
                         f"{_number(row['error_best'], '.4f'):>7s} | {per_iteration:>7.4f}")
    lines.append("")
    lines.append("'+': the least error is at the iteration limit (no minimum reached); "
                 "s/it includes the error against the truth at every iteration.")
    return "\n".join(lines)


def run(args) -> int:
    from ...core import petsc_env
    from ...core.errors import EXIT_OK
    from ...core.mpi import report_and_exit
    from ...core.reporting import json_safe, rank0_progress

    parts, ks = _parse(args)
    comm = petsc_env.initialize().COMM_WORLD

    say = rank0_progress(comm, args.quiet)

    try:
        rows = []
        if "blur" in parts:
            rows += blur_rows(comm, args, say)
        if "ao" in parts:
            rows += ao_rows(comm, args, ks, say)
        if "sequence" in parts:
            rows += sequence_rows(comm, args, say)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm.tompi4py())
    if comm.rank == 0:
        if args.json:
            print(json.dumps({"ranks": comm.size, "tau": args.tau,
                              "rows": [json_safe(row) for row in rows]}, indent=1))
        else:
            print(f"Ramlau, Soodhalter & Hutterer: steepest descent vs augmented steepest "
                  f"descent, tau = {args.tau:g}, {comm.size} rank(s)")
            print(table(rows, args))
    return EXIT_OK

