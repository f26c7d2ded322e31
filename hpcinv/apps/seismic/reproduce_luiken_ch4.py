"""``hpcinv reproduce luiken-ch4``: Luiken's thesis, chapter 4: frequency-domain MDD by block
Krylov.  On synthetic data with a known impulse response g (the ``mdd`` problem's hyperbolic
events, ``meshes/seismic/*.toml``; p = MDC(g, q) plus band-limited noise), per frequency:

* the numerical rank of the thesis' G (our Q_f, the down-going field) and D (our P_f, the
  data), Figs. 4.1 and 4.4: singular values above ``--rank-tolerance`` times the largest of
  that frequency, and above 1e-12 times the largest of all frequencies (so that a block
  that is zero up to rounding, like the wavelet's zero frequency, has rank 0); also the rank
  the block method's initial deflation keeps (pivoted QR at ``--deflation-tolerance``);
* the relative error ||G_f - G_f^true||_F / ||G_f^true||_F of block CG, column-by-column CG
  and PyLops' MDD (LSQR), Fig. 4.7;
* the seconds of each solve (thesis, all frequencies, mean of 10 runs: 1.1 s block GMRES vs
  23.1 s column-by-column GMRES, 21x; hardware not stated).

Iteration counts: block CG takes ``--block-iterations`` steps per frequency (the thesis:
1).  The column method takes ``--column-iterations`` steps, by default the fewest whose total
relative error of g is at most the block method's (found on a run with the truth, up to
``--max-column-iterations``; the least-error count when none reaches it), so that the two are
timed at equal error.  PyLops' LSQR takes ``--pylops-iterations`` steps, by default the count
of its least error within ``--max-pylops-iterations`` (found by stepping its LSQR with the
truth; the timed run is then ``MDD`` itself).  Seconds are solver time only (not building the
problem), the least of ``--repeats`` runs, the slowest rank's; a run longer than
LONG_RUN_SECONDS is not repeated (``least_time``).

Noise: the default data are noise-free (the thesis inverts modelled data).  With noise, a
block step on a full-rank block of right-hand sides is close to the least-squares solution
of that frequency, unregularised (measured on ``small`` at noise 0.01: relative error of g
33, column CG after one step 0.80).

PyLops runs on rank 0 on gathered arrays (it is serial); without it its row says how to
install it (``pylops_peer``).
"""
from __future__ import annotations

import time

import numpy as np

from ...core.mpi import global_max

HELP = ("Luiken thesis ch. 4 (Figs. 4.1, 4.4, 4.7): ranks of Q_f and P_f per frequency; block "
        "vs column-wise CG vs PyLops MDD against the true g, and their seconds")

MESHES = ("tiny", "small", "thesis-1x1", "thesis-1x4")
# Thesis section 4.4: all frequencies, mean of 10 runs.
THESIS_SECONDS = {"block": 1.1, "column": 23.1}
# Singular values below this fraction of the largest over all frequencies are rounding.
ROUNDING_FLOOR = 1e-12


def add_arguments(parser) -> None:
    parser.add_argument("--mesh", default="small",
                        help="meshes/seismic/NAME.toml (tiny, small, thesis-1x1, thesis-1x4) "
                             "or a mesh file (default small)")
    parser.add_argument("--noise-level", type=float, default=0.0,
                        help="relative noise ||e|| / ||p|| (default 0: modelled data, as "
                             "the thesis'; see the module's note on noise)")
    parser.add_argument("--max-frequency", type=float, default=None,
                        help="highest frequency (Hz) of the blocks (default 3 x the mesh's "
                             "Ricker peak frequency, where its spectrum is 3e-3 of the peak)")
    parser.add_argument("--block-iterations", type=int, default=1,
                        help="block CG steps per frequency (default 1, as the thesis)")
    parser.add_argument("--column-iterations", type=int, default=0,
                        help="column CG steps (default 0: the fewest reaching the block "
                             "method's error)")
    parser.add_argument("--max-column-iterations", type=int, default=50,
                        help="search limit of --column-iterations 0 (default 50)")
    parser.add_argument("--pylops-iterations", type=int, default=0,
                        help="PyLops LSQR steps (default 0: those of its least error)")
    parser.add_argument("--max-pylops-iterations", type=int, default=100,
                        help="search limit of --pylops-iterations 0 (default 100)")
    parser.add_argument("--deflation-tolerance", type=float, default=1e-6,
                        help="pivoted-QR deflation tolerance of the block method (1e-6)")
    parser.add_argument("--rank-tolerance", type=float, default=1e-3,
                        help="numerical rank: singular values above this times the "
                             "frequency's largest (default 1e-3)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs of each method; the least counts (default 1; a run "
                             f"over {LONG_RUN_SECONDS:g} s is not repeated)")
    parser.add_argument("--no-pylops", action="store_true", help="skip the PyLops peer")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def resolve_mesh(name: str) -> str:
    from ...core.errors import InputError
    from ...core.paths import resolve_input

    path = resolve_input(f"meshes/seismic/{name}.toml") if name in MESHES else \
        resolve_input(name) or resolve_input(f"meshes/seismic/{name}.toml")
    if path is None:
        raise InputError(("--mesh", f"no mesh file {name} and no meshes/seismic/{name}.toml "
                                    f"(known: {', '.join(MESHES)})"))
    return path


def check_arguments(args) -> None:
    from ...core.errors import InputError

    problems = [(f"--{name.replace('_', '-')}", "must be >= 1") for name in
                ("block_iterations", "max_column_iterations", "max_pylops_iterations",
                 "repeats") if getattr(args, name) < 1]
    problems += [(f"--{name.replace('_', '-')}", "must be >= 0") for name in
                 ("column_iterations", "pylops_iterations") if getattr(args, name) < 0]
    if not 0 <= args.noise_level < 1:
        problems.append(("--noise-level", f"must be in [0, 1), got {args.noise_level}"))
    for name in ("deflation_tolerance", "rank_tolerance"):
        if not 0 <= getattr(args, name) < 1:
            problems.append((f"--{name.replace('_', '-')}", "must be in [0, 1)"))
    if args.max_frequency is not None and not args.max_frequency > 0:
        problems.append(("--max-frequency", "must be positive"))
    if problems:
        raise InputError(problems)


# Per-frequency measures -------------------------------------------------------------------------

def numerical_ranks(blocks: np.ndarray, tolerance: float, comm) -> np.ndarray:
    """Per block of this rank's (n_f_local, m, n) stack: the singular values above
    ``tolerance`` times its largest and above ROUNDING_FLOOR times the largest of all
    frequencies (collective)."""
    singular = [np.linalg.svd(block, compute_uv=False) for block in blocks]
    largest = global_max(comm, max((float(s[0]) for s in singular if s.size), default=0.0))
    return np.array([int(np.count_nonzero((s > tolerance * s[0]) & (s > ROUNDING_FLOOR
                                                                    * largest)))
                     if s.size else 0 for s in singular], dtype=int)



# The machines are shared and noisy; a run this long is timed once, since the noise is small
# next to it and repeating the column and PyLops baselines would triple a long benchmark.
LONG_RUN_SECONDS = 10.0


def least_time(run, repeats: int, mpi=None):
    """(the last result of ``run()``, its least seconds over up to ``repeats`` runs; each
    run's seconds are the slowest rank's when ``mpi`` is given (collective)).  Stops
    repeating after a run over LONG_RUN_SECONDS."""
    best, result = float("inf"), None
    for _ in range(repeats):
        if mpi is not None:
            mpi.Barrier()
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        if mpi is not None:
            seconds = global_max(mpi, seconds)
        best = min(best, seconds)
        if seconds > LONG_RUN_SECONDS:
            break
    return result, best


def frequency_errors(estimate_blocks: np.ndarray, truth_blocks: np.ndarray) -> np.ndarray:
    """||G_f - G_f^true||_F / ||G_f^true||_F for this rank's frequencies (NaN where the truth
    is zero)."""
    difference = np.linalg.norm(estimate_blocks - truth_blocks, axis=(1, 2))
    scale = np.linalg.norm(truth_blocks, axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, difference / scale, np.nan)


# The methods ----------------------------------------------------------------------------------

class Experiment:
    """The problem on ``comm`` and what every method's row needs."""

    def __init__(self, comm, mesh_path: str, args):
        from . import mdd_problem
        from .mesh import load_seismic_mesh

        self.comm, self.mpi, self.args = comm, comm.tompi4py(), args
        self.mesh = load_seismic_mesh(mesh_path)
        max_frequency = args.max_frequency or 3.0 * self.mesh.peak_frequency
        self.problem = mdd_problem(comm, mesh=mesh_path, noise_level=args.noise_level,
                                   max_frequency=max_frequency)
        self.operator = self.problem.operator
        self.domain = self.operator.domain_transform
        self.truth_blocks = self.domain.to_frequency(self.problem.truth).copy()
        self.frequency_layout = self.domain.frequency_layout

    def gather(self, local) -> list:
        return self.frequency_layout.gather(np.asarray(local)).tolist()

    def ranks(self) -> dict:
        tolerance = self.args.rank_tolerance
        data_blocks = self.operator.range_transform.to_frequency(self.problem.data)
        ranks = {"rank_q": numerical_ranks(self.operator.model_blocks, tolerance, self.mpi),
                 "rank_p": numerical_ranks(data_blocks, tolerance, self.mpi)}
        return {name: [int(rank) for rank in self.gather(local)]
                for name, local in ranks.items()}

    def relative_error(self, g) -> float:
        difference = g.copy()
        difference.axpy(-1.0, self.problem.truth)
        return float(difference.norm() / self.problem.truth.norm())

    def krylov(self, method: str, iterations: int, truth=None):
        from ...solvers.krylov import BlockKrylovMDD, FrequencyBlockSystem

        solver = BlockKrylovMDD(FrequencyBlockSystem(self.operator), self.problem.data,
                                method=method, iterations=iterations,
                                deflation_tolerance=self.args.deflation_tolerance,
                                max_iterations=iterations)
        return solver.run(truth=truth)

    def timed_krylov(self, method: str, iterations: int):
        """(result, seconds) of ``least_time`` over --repeats runs."""
        return least_time(lambda: self.krylov(method, iterations), self.args.repeats, self.mpi)

    def krylov_row(self, method: str, iterations: int, note: str = "") -> dict:
        result, seconds = self.timed_krylov(method, iterations)
        errors = frequency_errors(self.domain.to_frequency(result.x), self.truth_blocks)
        row = {"method": method, "seconds": seconds,
               "relative_error": self.relative_error(result.x), "iterations": iterations,
               "frequency_relative_error": self.gather(errors),
               "deflated_rank": result.attributes["deflated_rank"]}
        if note:
            row["note"] = note
        return row

    def column_iterations(self, target: float) -> tuple[int, str]:
        """The fewest column steps with error <= target (or those of least error)."""
        if self.args.column_iterations:
            return self.args.column_iterations, "iterations given"
        limit = self.args.max_column_iterations
        errors = self.krylov("column", limit, truth=self.problem.truth) \
            .history["relative_error"][1:]                     # [k - 1]: after k steps
        reached = np.flatnonzero(errors <= target * (1 + 1e-12))
        if reached.size:
            return int(reached[0]) + 1, "fewest steps reaching the block method's error"
        return int(np.nanargmin(errors)) + 1, (f"least error within {limit} steps: never "
                                               f"reaches the block method's")


def gathered_arrays(experiment: Experiment):
    """(q, g, p, noise-free p) as whole arrays on every rank (collective), for the serial
    peer."""
    from .synthetic import HyperbolicSurvey

    domain, range_ = experiment.domain, experiment.operator.range_transform
    g = domain.gather_array(experiment.problem.truth)
    p = range_.gather_array(experiment.problem.data)
    clean = range_.gather_array(experiment.problem.noise_free_data)
    survey = HyperbolicSurvey(experiment.mesh)
    q = survey.downgoing(0, survey.n_v * survey.n_s).T.reshape(survey.n_t, survey.n_v,
                                                                   survey.n_s)
    return q, g, p, clean


def pylops_row(experiment: Experiment, q, g, p, clean, block_error: float) -> dict:
    """PyLops' MDD on rank 0's arrays (call on rank 0 only); ``clean`` is our noise-free
    MDC(g)."""
    from . import pylops_peer

    args, operator = experiment.args, experiment.operator
    n_f, dt, dr = operator.frequencies.size, operator.dt, operator.dr
    row = {"method": "pylops", "seconds": None, "relative_error": None, "iterations": None}
    if args.no_pylops:
        return {**row, "note": "skipped (--no-pylops)"}
    if not pylops_peer.available():
        return {**row, "note": "PyLops is not installed; install it (only for comparisons) "
                               f"with: {pylops_peer.install_command()}"}
    row["versions"] = pylops_peer.versions()
    product = pylops_peer.mdc(q, g, n_f, dt, dr)
    # The convention mapping of pylops_peer, checked on this data.
    row["mdc_agreement"] = float(np.linalg.norm(product - clean) / np.linalg.norm(clean))
    iterations = args.pylops_iterations
    if iterations == 0:
        history = pylops_peer.lsqr_history(q, p, g, n_f, dt, dr, args.max_pylops_iterations)
        errors = np.array(history["relative_error"])
        iterations = int(np.argmin(errors)) + 1
        reached = np.flatnonzero(errors <= block_error * (1 + 1e-12))
        row.update(least_error_iterations=iterations,
                   iterations_to_block_error=int(reached[0]) + 1 if reached.size else None,
                   seconds_to_block_error=history["seconds"][reached[0]] if reached.size
                   else None, lsqr_relative_error=history["relative_error"])
        row["note"] = (f"LSQR steps of least error within {args.max_pylops_iterations}; "
                       f"seconds_to_block_error from PyLops' LSQR stepped")
    estimate, best = least_time(lambda: pylops_peer.mdd_lsqr(q, p, n_f, dt, dr, iterations),
                                args.repeats)
    truth_spectrum = np.fft.rfft(g, axis=0)[:n_f]
    estimate_spectrum = np.fft.rfft(estimate, axis=0)[:n_f]
    row.update(seconds=best, iterations=iterations,
               relative_error=float(np.linalg.norm(estimate - g) / np.linalg.norm(g)),
               frequency_relative_error=frequency_errors(estimate_spectrum,
                                                         truth_spectrum).tolist())
    return row


def run_experiment(comm, mesh_path: str, args, say) -> dict:
    """The report (on every rank; the PyLops row filled on rank 0)."""
    experiment = Experiment(comm, mesh_path, args)
    operator = experiment.operator
    report = {"mesh": mesh_path, "ranks": comm.size,
              "sizes": {"n_t": operator.domain_transform.n_t,
                        "n_r": operator.domain_transform.n_a,
                        "n_v": operator.domain_transform.n_b,
                        "n_s": operator.range_transform.n_b},
              "dt": operator.dt, "dr": operator.dr, "noise_level": args.noise_level,
              "max_frequency": float(operator.frequencies[-1]),
              "rank_tolerance": args.rank_tolerance,
              "deflation_tolerance": args.deflation_tolerance,
              "frequencies": operator.frequencies.tolist(), **experiment.ranks()}
    say(f"block CG, {args.block_iterations} step(s)")
    block = experiment.krylov_row("block", args.block_iterations)
    say("column CG: choosing the step count")
    column_steps, note = experiment.column_iterations(block["relative_error"])
    say(f"column CG, {column_steps} step(s)")
    column = experiment.krylov_row("column", column_steps, note)
    report["deflated_rank"] = block.pop("deflated_rank")
    column.pop("deflated_rank")
    arrays = gathered_arrays(experiment)
    peer = None
    if comm.rank == 0:
        say("PyLops MDD")
        peer = pylops_row(experiment, *arrays, block["relative_error"])
    report["rows"] = [block, column, experiment.mpi.bcast(peer, root=0)]
    report["column_over_block"] = column["seconds"] / block["seconds"]
    report["thesis"] = {**THESIS_SECONDS,
                        "column_over_block": THESIS_SECONDS["column"] / THESIS_SECONDS["block"]}
    return report


# Printing ---------------------------------------------------------------------------------------

def _number(value, form: str) -> str:
    return "-" if value is None else format(value, form)


def table(report: dict) -> str:
    sizes = report["sizes"]
    lines = [f"Luiken ch. 4: MDD on {report['mesh']} (n_t {sizes['n_t']}, n_r {sizes['n_r']}, "
             f"n_v {sizes['n_v']}, n_s {sizes['n_s']}; {len(report['frequencies'])} "
             f"frequencies up to {report['max_frequency']:.1f} Hz; noise "
             f"{report['noise_level']:g}), {report['ranks']} rank(s)",
             f"{'method':8s} {'steps':>6s} {'seconds':>9s} {'rel. error':>11s} | thesis seconds"]
    for row in report["rows"]:
        thesis = THESIS_SECONDS.get(row["method"])
        lines.append(f"{row['method']:8s} {_number(row['iterations'], 'd'):>6s} "
                     f"{_number(row['seconds'], '.3f'):>9s} "
                     f"{_number(row['relative_error'], '.3e'):>11s} | "
                     f"{'-' if thesis is None else thesis}"
                     + (f"   ({row['note']})" if row.get("note") else ""))
        if row["method"] == "pylops" and row.get("mdc_agreement") is not None:
            lines.append(f"{'':8s} PyLops MDC vs ours: relative difference "
                         f"{row['mdc_agreement']:.1e}; LSQR reaches the block error after "
                         f"{_number(row.get('iterations_to_block_error'), 'd')} steps, "
                         f"{_number(row.get('seconds_to_block_error'), '.3f')} s")
    lines.append(f"column / block seconds: {report['column_over_block']:.1f}x "
                 f"(thesis {report['thesis']['column_over_block']:.0f}x)")
    lines.append(f"per frequency (every {_stride(report)}th; ranks: singular values > "
                 f"{report['rank_tolerance']:g} x the frequency's largest; deflated: pivoted "
                 f"QR at {report['deflation_tolerance']:g}) - thesis Figs. 4.1, 4.4, 4.7:")
    lines.append(f"{'Hz':>7s} {'rank Q':>7s} {'rank P':>7s} {'deflated':>8s} "
                 + " ".join(f"{row['method'] + ' err':>12s}" for row in report["rows"]))
    for k in range(0, len(report["frequencies"]), _stride(report)):
        errors = []
        for row in report["rows"]:
            values = row.get("frequency_relative_error")
            errors.append(_number(values[k] if values else None, ".2e"))
        lines.append(f"{report['frequencies'][k]:7.2f} {report['rank_q'][k]:7d} "
                     f"{report['rank_p'][k]:7d} {report['deflated_rank'][k]:8d} "
                     + " ".join(f"{e:>12s}" for e in errors))
    return "\n".join(lines)


def _stride(report: dict) -> int:
    return max(1, len(report["frequencies"]) // 16)


def run(args) -> int:
    from ...core.reporting import run_reproduction

    check_arguments(args)
    mesh_path = resolve_mesh(args.mesh)
    return run_reproduction(args, lambda comm, say: run_experiment(comm, mesh_path, args, say),
                            table)
