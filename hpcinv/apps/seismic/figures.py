"""Figures of ``mdd`` results (``hpcinv plot``), as the thesis' Figs. 4.5-4.7:

* ``<stem>-gathers.png``: g(t, r) for a few virtual sources v (first, middle, last), rows
  truth / estimate / estimate - truth when the truth is stored, all on one colour scale so
  that amplitudes compare; receiver position across, time down;
* ``<stem>-frequency-error.png``: ||G_f - G_true,f||_F / ||G_true,f||_F over the operator's
  frequencies (when the truth is stored).

The solution is stored trace-major with grid shape (n_r, n_v, n_t); the sampling, origins
and frequencies are the problem's attributes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.io.results import ResultProducts
from ...core.plotting import image_panel, pyplot, save

RECEIVER_LABEL = "receiver position [m]"
TIME_LABEL = "time [s]"
FREQUENCY_LABEL = "frequency [Hz]"
FREQUENCY_ERROR_LABEL = "relative error ||G_f - G_true,f||_F / ||G_true,f||_F"
AMPLITUDE_LABEL = "amplitude"
GATHERS = 3


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


def mdd_figures(result: ResultProducts, directory, stem: str) -> list[Path]:
    out = Path(directory)
    written = [save(gathers_figure(result), out / f"{stem}-gathers.png")]
    errors = frequency_error_figure(result)
    if errors is not None:
        written.append(save(errors, out / f"{stem}-frequency-error.png"))
    return written
