"""``hpcinv reproduce luiken-ch6``: Luiken's thesis, chapter 6.5 (relaxed regularization by
SR3; figures only, the thesis prints no numbers):

* ``iterations`` (Figs. 6.10-6.12): gravity (n = 512, depth 0.25, piecewise-constant truth,
  L = D) and parallel-beam tomography (128 x 128, 18 angles, L = [I (x) D; D (x) I]), no
  noise, constrained TV at the oracle tau = ||L x_true||_1: outer, mean inner and total LSQR
  steps, relative error, objective and seconds of inexact SR3 (Algorithm 8) and exact SR3
  (LSQR to 1e-6 every outer step) over a log range of kappa (the thesis gives none); ADMM
  on the original problem at rho = the median kappa; at the median kappa PyProximal's SR3
  and hpcinv's inexact SR3 in the equivalent penalised form (``luiken_ch6_study``);
* ``spectrum`` (Figs. 6.7-6.8): F_kappa's singular values from the GSVD against A L_A^+'s,
  and cond(H_kappa), on gravity and the thesis' 64 x 64 tomography;
* ``pareto`` (Fig. 6.9 and the ch. 6.1.1 examples): phi_inf(tau) and phi_kappa(tau) with
  their bounds at fractions of the oracle tau (``luiken_ch6_analysis``).
"""
from __future__ import annotations

import json

HELP = ("Luiken thesis ch. 6: SR3 inexact vs exact iterations over kappa, ADMM and "
        "PyProximal baselines, F_kappa spectra, Pareto curves")

EXPERIMENTS = ("iterations", "spectrum", "pareto")
PARETO_PROBLEMS = ("spiky-deconvolution", "compressed-sensing", "tv-deblurring", "gravity",
                   "tomography")


def add_arguments(parser) -> None:
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS),
                        help="comma-separated: iterations, spectrum, pareto (default all)")
    parser.add_argument("--problems", default="gravity,tomography",
                        help="the iterations experiment's problems (default both)")
    parser.add_argument("--kappas", default="1e-2,1e-1,1,10,100",
                        help="kappa sweep, odd count: the middle one is the median "
                             "(default 1e-2,1e-1,1,10,100)")
    parser.add_argument("--gravity-n", type=int, default=512, help="gravity size (512)")
    parser.add_argument("--tomography-n", type=int, default=128,
                        help="tomography grid side of the iterations experiment (128)")
    parser.add_argument("--small-tomography-n", type=int, default=64,
                        help="tomography grid side of the spectrum and Pareto experiments "
                             "(64, the thesis' GSVD grid)")
    parser.add_argument("--pareto-problems", default=",".join(PARETO_PROBLEMS),
                        help=f"default {','.join(PARETO_PROBLEMS)}")
    parser.add_argument("--pareto-fractions", default="0.25,0.5,1,1.5",
                        help="tau / ||L x_true||_1 (default 0.25,0.5,1,1.5)")
    parser.add_argument("--pareto-kappas", default="1,100", help="default 1,100")
    parser.add_argument("--max-outer", type=int, default=20000,
                        help="outer iteration limit per run (20000)")
    parser.add_argument("--max-inner", type=int, default=10000,
                        help="LSQR steps per outer iteration at most (10000)")
    parser.add_argument("--no-peer", action="store_true",
                        help="skip PyProximal (else installed on first use)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _names(flag: str, text: str, allowed) -> list:
    from ...core.errors import InputError

    names = [name.strip() for name in text.split(",") if name.strip()]
    bad = [name for name in names if name not in allowed]
    if bad or not names:
        raise InputError((flag, f"choose from {', '.join(allowed)}; got {text!r}"))
    return names


def _positive_numbers(flag: str, text: str) -> list:
    from ...core.errors import InputError

    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or not all(value > 0 for value in values):
        raise InputError((flag, f"comma-separated positive numbers, got {text!r}"))
    return values


def parse(args) -> dict:
    """The checked choices, before any work (exit 2 naming the flag)."""
    from ...core.errors import InputError

    kappas = sorted(_positive_numbers("--kappas", args.kappas))
    if len(kappas) % 2 == 0:
        raise InputError(("--kappas", f"needs an odd count so that one is the median, got "
                                      f"{len(kappas)}"))
    for flag in ("gravity_n", "tomography_n", "small_tomography_n", "max_outer", "max_inner"):
        if getattr(args, flag) < 2:
            raise InputError((f"--{flag.replace('_', '-')}", "must be >= 2"))
    return {"experiments": _names("--experiments", args.experiments, EXPERIMENTS),
            "problems": _names("--problems", args.problems, ("gravity", "tomography")),
            "pareto_problems": _names("--pareto-problems", args.pareto_problems,
                                      PARETO_PROBLEMS),
            "kappas": kappas, "median": kappas[len(kappas) // 2],
            "fractions": _positive_numbers("--pareto-fractions", args.pareto_fractions),
            "pareto_kappas": _positive_numbers("--pareto-kappas", args.pareto_kappas)}


def _size(args, name: str, small: bool = False) -> int:
    if name == "gravity":
        return args.gravity_n
    return args.small_tomography_n if small else args.tomography_n


def iteration_rows(comm, args, choices, say) -> list:
    from ...core.mpi import on_root_quietly
    from .luiken_ch6_study import (Setting, admm_row, build_problem, pyproximal_row,
                                   sr3_row)

    limits = {"max_outer": args.max_outer, "max_inner": args.max_inner}
    rows = []
    for name in choices["problems"]:
        size = _size(args, name)
        setting = Setting(name, build_problem(comm, name, size))
        for kappa in choices["kappas"]:
            for inexact in (True, False):
                rows.append(sr3_row(setting, kappa, inexact=inexact, **limits))
                say(_progress(rows[-1]))
        rows.append(admm_row(setting, choices["median"], **limits))
        say(_progress(rows[-1]))
        median = choices["median"]
        threshold = next(row["threshold"] for row in rows if row["problem"] == name
                         and row["method"] == "sr3-inexact" and row["kappa"] == median)
        weight = median * threshold   # the penalised twin (a nearby problem: see the study)
        rows.append(sr3_row(setting, median, inexact=True, weight=weight, **limits))
        say(_progress(rows[-1]))
        if not args.no_peer:
            rows.append(on_root_quietly(comm.tompi4py(), pyproximal_row, name, size, median,
                                        weight, **limits))
            say(_progress(rows[-1]))
    return rows


def _progress(row) -> str:
    return (f"{row['problem']} {row['method']} ({row['form']}) kappa {row['kappa']:g}: "
            f"{row['outer']} outer, {row['total']} LSQR steps, error "
            f"{row['relative_error']:.3e}, {row['seconds']:.1f} s")


def _number(value, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def iteration_table(rows, median: float) -> str:
    lines = [f"{'problem':10s} {'method':15s} {'form':11s} {'kappa':>7s} {'outer':>6s} "
             f"{'inner':>7s} {'total':>8s} {'rel. error':>10s} {'f / f(0)':>9s} "
             f"{'seconds':>8s} reason"]
    for row in rows:
        lines.append(f"{row['problem']:10s} {row['method']:15s} {row['form']:11s} "
                     f"{row['kappa']:7.0e} {row['outer']:6d} {row['inner']:7.1f} "
                     f"{row['total']:8d} {row['relative_error']:10.3e} "
                     f"{row['relative_objective']:9.2e} {row['seconds']:8.1f} {row['reason']}")
    for problem in dict.fromkeys(row["problem"] for row in rows):
        pick = {(row["method"], row["form"]): row for row in rows
                if row["problem"] == problem and row["kappa"] == median}
        inexact, exact = pick.get(("sr3-inexact", "constrained")), \
            pick.get(("sr3-exact", "constrained"))
        if inexact and exact:
            lines.append(f"{problem}: at the median kappa {median:g} inexact SR3 takes "
                         f"{inexact['total'] / exact['total']:.2f} of exact SR3's LSQR steps "
                         f"(target <= 1/3); objectives differ by "
                         f"{abs(inexact['relative_objective'] - exact['relative_objective']):.1e} "
                         f"of f(0), errors {inexact['relative_error']:.3e} / "
                         f"{exact['relative_error']:.3e}")
        ours, peer = pick.get(("sr3-inexact", "penalized")), \
            pick.get(("pyproximal-sr3", "penalized"))
        if ours and peer:
            lines.append(f"{problem}: penalised twin, PyProximal / hpcinv seconds "
                         f"{peer['seconds'] / ours['seconds']:.2f} (target >= 3 on "
                         f"tomography); objectives {ours['objective']:.6e} / "
                         f"{peer['objective']:.6e}")
    return "\n".join(lines)


def spectrum_table(rows) -> str:
    lines = [f"{'problem':16s} {'operator':8s} {'kappa':>7s} {'values':>6s} "
             f"{'singular values at 0, 1/4, 1/2, 3/4, 1 of the order':>52s} "
             f"{'cond':>9s} {'=sqrt(k)':>8s} {'zeros':>5s} {'cond(H)':>9s}"]
    for row in rows:
        quantiles = " ".join(f"{value:9.2e}" for value in row["quantiles"])
        lines.append(f"{row['problem']:16s} {row['operator']:8s} "
                     f"{_number(row['kappa'], '7.0e'):>7s} {row['values']:6d} "
                     f"{quantiles:>52s} {row['condition']:9.2e} "
                     f"{_number(row.get('at_sqrt_kappa'), 'd'):>8s} "
                     f"{_number(row.get('zeros'), 'd'):>5s} "
                     f"{_number(row.get('condition_h'), '9.2e'):>9s}")
    return "\n".join(lines)


def pareto_table(rows) -> str:
    lines = [f"{'problem':20s} {'tau/tau*':>8s} {'original':>8s} {'its':>6s} "
             f"{'phi_inf':>10s} {'lower':>10s} {'kappa':>6s} {'its':>6s} {'phi_kappa':>10s} "
             f"{'lower':>10s} {'slope':>10s} {'||Ax-b||':>10s} below"]
    for row in rows:
        lines.append(f"{row['problem']:20s} {row['fraction']:8.2f} "
                     f"{row['original_method']:>8s} {row['original_iterations']:6d} "
                     f"{row['phi_original']:10.3e} "
                     f"{_number(row['phi_original_lower'], '10.3e'):>10s} "
                     f"{row['kappa']:6.0e} {row['relaxed_iterations']:6d} "
                     f"{row['phi_relaxed']:10.3e} {row['phi_relaxed_lower']:10.3e} "
                     f"{row['slope_relaxed']:10.3e} {row['relaxed_misfit']:10.3e} "
                     f"{'yes' if row['below'] else 'NO'}")
    return "\n".join(lines)


def run(args) -> int:
    from ...core import petsc_env
    from ...core.errors import EXIT_OK
    from ...core.mpi import report_and_exit
    from ...core.reporting import json_safe, rank0_progress

    choices = parse(args)
    comm = petsc_env.initialize().COMM_WORLD
    say = rank0_progress(comm, args.quiet)
    results = {}
    try:
        if "iterations" in choices["experiments"]:
            results["iterations"] = iteration_rows(comm, args, choices, say)
        if "spectrum" in choices["experiments"]:
            from .luiken_ch6_analysis import spectrum_rows

            results["spectrum"] = []
            for name in ("gravity", "tomography"):
                results["spectrum"] += spectrum_rows(comm, name, _size(args, name, True),
                                                     choices["kappas"])
                say(f"spectrum of {name} done")
        if "pareto" in choices["experiments"]:
            from .luiken_ch6_analysis import pareto_rows

            results["pareto"] = []
            for name in choices["pareto_problems"]:
                results["pareto"] += pareto_rows(
                    comm, name, _size(args, name, True), choices["fractions"],
                    choices["pareto_kappas"], max_outer=args.max_outer,
                    max_inner=args.max_inner)
                say(f"Pareto points of {name} done")
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm.tompi4py())
    if comm.rank == 0:
        if args.json:
            print(json.dumps({"ranks": comm.size, "kappas": choices["kappas"],
                              **{key: [json_safe(row) for row in rows]
                                 for key, rows in results.items()}}, indent=1))
        else:
            print(f"Luiken ch. 6 on {comm.size} rank(s); noise-free, constrained TV at the "
                  f"oracle tau = ||L x_true||_1")
            if "iterations" in results:
                print(iteration_table(results["iterations"], choices["median"]))
            if "spectrum" in results:
                print(spectrum_table(results["spectrum"]))
            if "pareto" in results:
                print(pareto_table(results["pareto"]))
    return EXIT_OK
