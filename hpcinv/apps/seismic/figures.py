"""Figures of ``mdd`` results (``hpcinv plot``), as the thesis' Figs. 4.5-4.7:

* ``<stem>-gathers.png``: g(t, r) for a few virtual sources v (first, middle, last), rows
  truth / estimate / estimate - truth when the truth is stored, all on one colour scale so
  that amplitudes compare; receiver position across, time down;
* ``<stem>-frequency-error.png``: ||G_f - G_true,f||_F / ||G_true,f||_F over the operator's
  frequencies (when the truth is stored);
* ``<stem>-cross-sections.png``, as the thesis' Fig. 5.13 (redatuming, ch. 5): g(t) at four
  (virtual source, receiver) pairs, estimate over truth (when stored), only when the virtual
  sources are the receivers (n_r = n_v).  The semiconvergence curve, the relative error per
  iteration, is in the convergence figure of every result with a truth.

``hpcinv reproduce luiken-ch5 --figures`` draws the same cross-sections for all three
formulations at their optima, and their semiconvergence curves (``write_figures``).

The solution is stored trace-major with grid shape (n_r, n_v, n_t); the sampling, origins
and frequencies are the problem's attributes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import check_count
from ...core.io.results import ResultProducts
from ...core.plotting import image_panel, pyplot, save

RECEIVER_LABEL = "receiver position [m]"
TIME_LABEL = "time [s]"
FREQUENCY_LABEL = "frequency [Hz]"
FREQUENCY_ERROR_LABEL = "relative error ||G_f - G_true,f||_F / ||G_true,f||_F"
AMPLITUDE_LABEL = "amplitude"
GATHERS = 3
# The thesis' Fig. 5.13: (virtual source, receiver) positions in m on its 3000 m line.
THESIS_LINE_M = 3000.0
THESIS_CROSS_SECTIONS_M = ((1500.0, 580.0), (180.0, 180.0), (1500.0, 180.0),
                           (1500.0, 1500.0))


def _sampling(result: ResultProducts) -> dict:
    return result.attributes.get("problem_attributes") or {}


def _field(result: ResultProducts, name: str) -> np.ndarray | None:
    values = result.vector(name)
    return None if values is None else values.reshape(result.grid_shape)


def virtual_sources(n_v: int, count: int = GATHERS) -> list[int]:
    """Up to ``count`` virtual sources spread over the line: first, middle, last."""
    return sorted({int(round(v)) for v in np.linspace(0, n_v - 1, min(count, n_v))})


def gathers_figure(result: ResultProducts):
    """g(t, r) panels: a column per virtual source, rows truth / estimate / difference."""
    estimate, truth = _field(result, "solution"), _field(result, "truth")
    sampling = _sampling(result)
    n_r, n_v, n_t = result.grid_shape
    dt, dr = sampling["dt"], sampling["dr"]
    x0 = sampling["receiver_origin"]
    extent = [x0 - dr / 2, x0 + (n_r - 0.5) * dr, n_t * dt, 0.0]
    rows = [("estimate", estimate)] if truth is None else \
        [("truth", truth), ("estimate", estimate), ("estimate - truth", estimate - truth)]
    spread = max(float(np.abs(values).max()) for _, values in rows[:2]) or 1.0
    sources = virtual_sources(n_v)
    plt = pyplot()
    figure, axes = plt.subplots(len(rows), len(sources), squeeze=False,
                                figsize=(3.6 * len(sources), 3.4 * len(rows)))
    for column, v in enumerate(sources):
        position = sampling["virtual_source_origin"] + v * dr
        for row, (name, values) in enumerate(rows):
            image_panel(axes[row, column], values[:, v, :].T,
                        title=f"{name}, virtual source at {position:g} m",
                        colorbar_label=AMPLITUDE_LABEL, xlabel=RECEIVER_LABEL,
                        ylabel=TIME_LABEL, extent=extent, aspect="auto", cmap="seismic",
                        vmin=-spread, vmax=spread, interpolation="nearest")
    return figure


def frequency_errors(estimate: np.ndarray, truth: np.ndarray, count: int) -> np.ndarray:
    """||G_f - G_true,f||_F / ||G_true,f||_F for the first ``count`` rfft bins of fields of
    shape (n_r, n_v, n_t); NaN where the truth has no energy."""
    spectra = [np.fft.rfft(field, axis=-1)[..., :count] for field in (estimate, truth)]
    error, norm = (np.sqrt(np.sum(np.abs(s) ** 2, axis=(0, 1)))
                   for s in (spectra[0] - spectra[1], spectra[1]))
    return np.divide(error, norm, out=np.full(count, np.nan), where=norm > 0)


def frequency_error_figure(result: ResultProducts):
    """The relative error per frequency, None without a stored truth."""
    truth = _field(result, "truth")
    if truth is None:
        return None
    frequencies = np.asarray(_sampling(result)["frequencies"])
    errors = frequency_errors(_field(result, "solution"), truth, frequencies.size)
    figure, axis = pyplot().subplots(figsize=(6.4, 4.0))
    axis.plot(frequencies, errors, marker=".", label="estimate")
    axis.set_xlabel(FREQUENCY_LABEL)
    axis.set_ylabel(FREQUENCY_ERROR_LABEL)
    axis.set_title("relative error of g per frequency")
    axis.grid(True, alpha=0.3)
    return figure


def cross_section_pairs(n_r: int, count: int = len(THESIS_CROSS_SECTIONS_M)) -> list:
    """(virtual source, receiver) indices of the first ``count`` pairs of the thesis' Fig.
    5.13 on a line of ``n_r`` receivers: the same fractions of the aperture (n_r - 1
    spacings), rounded to the nearest receiver (halves up).  Pairs that coincide on a short
    line are listed once."""
    n_r, count = check_count("n_r", n_r, 1), check_count("count", count, 1)
    pairs = []
    for positions in THESIS_CROSS_SECTIONS_M[:count]:
        pair = tuple(int(np.floor(x / THESIS_LINE_M * (n_r - 1) + 0.5)) for x in positions)
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def cross_sections_figure(result: ResultProducts):
    """g(t) of the ``cross_section_pairs``, a panel per pair with the truth (when stored)
    and the estimate; None unless the virtual sources are the receivers (n_r = n_v)."""
    n_r, n_v, n_t = result.grid_shape
    if n_r != n_v:
        return None
    estimate, truth = _field(result, "solution"), _field(result, "truth")
    sampling = _sampling(result)
    times = np.arange(n_t) * sampling["dt"]
    pairs = cross_section_pairs(n_r)
    columns = min(2, len(pairs))
    rows = -(-len(pairs) // columns)
    figure, axes = pyplot().subplots(rows, columns, squeeze=False,
                                     figsize=(5.2 * columns, 3.4 * rows))
    for axis, (v, r) in zip(axes.flat, pairs):
        if truth is not None:
            axis.plot(times, truth[r, v], color="k", label="truth")
        axis.plot(times, estimate[r, v], color="tab:red", linestyle="--", label="estimate")
        source = sampling["virtual_source_origin"] + v * sampling["dr"]
        receiver = sampling["receiver_origin"] + r * sampling["dr"]
        axis.set_title(f"virtual source at {source:g} m, receiver at {receiver:g} m")
        axis.set_xlabel(TIME_LABEL)
        axis.set_ylabel(AMPLITUDE_LABEL)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    for axis in axes.flat[len(pairs):]:
        axis.set_visible(False)
    return figure


def mdd_figures(result: ResultProducts, directory, stem: str) -> list[Path]:
    out = Path(directory)
    written = [save(gathers_figure(result), out / f"{stem}-gathers.png")]
    optional = {"frequency-error": frequency_error_figure(result),
                "cross-sections": cross_sections_figure(result)}
    written += [save(figure, out / f"{stem}-{suffix}.png")
                for suffix, figure in optional.items() if figure is not None]
    return written


# hpcinv reproduce luiken-ch5's figures -------------------------------------------------------

# The three optima are often close to identical: styles that let all three show.
LINE_STYLES = {"preconditioned": "-", "penalty": "--", "kkt": ":"}


def _stem(ratio: str) -> str:
    return "luiken-ch5-" + ratio.replace(":", "x")


def semiconvergence_figure(ratio: str, report: dict):
    from ...core.plotting import pyplot

    figure, axis = pyplot().subplots(figsize=(6.4, 4.0))
    for name, curve in report["curves"].items():
        axis.plot(np.arange(len(curve)), curve, label=name)
    axis.set_xlabel("iteration")
    axis.set_ylabel("relative error ||g - g_true|| / ||g_true||")
    axis.set_title(f"semiconvergence without Tikhonov, {ratio} (thesis Fig. 5.12)")
    axis.set_ylim(0, min(1.5, max(max(curve) for curve in report["curves"].values())))
    axis.grid(True, alpha=0.3)
    axis.legend()
    return figure


def cross_section_figure(ratio: str, report: dict, arrays: dict):
    from ...core.plotting import pyplot
    from .figures import cross_section_pairs

    dr = report["dr"]
    time = np.arange(report["sizes"]["n_t"]) * report["dt"]
    pairs = cross_section_pairs(report["sizes"]["n_r"])
    figure, axes = pyplot().subplots(1, len(pairs), figsize=(4.0 * len(pairs), 3.6),
                                     squeeze=False)
    for axis, (source, receiver) in zip(axes[0], pairs):
        axis.plot(time, arrays["truth"][:, receiver, source], color="black", lw=2,
                  label="truth")
        for name, g in arrays["iterates"].items():
            axis.plot(time, g[:, receiver, source], LINE_STYLES[name], lw=1.2,
                      label=f"{name}, {arrays['iterations'][name]} iterations")
        axis.set_title(f"virtual source {source * dr:g} m, receiver {receiver * dr:g} m")
        axis.set_xlabel("time [s]")
        axis.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("g")
    axes[0, 0].legend(fontsize="small")
    figure.suptitle(f"g at the Table-5.1 optimum, {ratio} (thesis Fig. 5.13)")
    return figure


def write_figures(directory: str, ratio: str, report: dict, arrays: dict) -> list[str]:
    from ...core.plotting import save

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return [str(save(semiconvergence_figure(ratio, report),
                     out / f"{_stem(ratio)}-semiconvergence.png")),
            str(save(cross_section_figure(ratio, report, arrays),
                     out / f"{_stem(ratio)}-cross-sections.png"))]
