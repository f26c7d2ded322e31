"""The redatuming figure of ``hpcinv plot`` (the thesis' Fig. 5.13): g(t) at the thesis'
four (virtual source, receiver) pairs, placed on this line as on the thesis' 3000 m line;
written for mdd results whose virtual sources are the receivers (n_r = n_v), and only then.

The results come from tiny jobs run with the hpcinv command, as a user would."""
import numpy as np
import pytest

from hpcinv.apps.seismic.arrays import write_npz
from hpcinv.apps.seismic.figures import (AMPLITUDE_LABEL, TIME_LABEL, cross_section_pairs,
                                         cross_sections_figure)
from hpcinv.core.errors import ArgumentError
from hpcinv.core.io.results import read_result
from hpcinv.report.convergence import OTHER_CURVES, convergence_figure
from helpers import ROOT, hpcinv, write_job

ERROR_LABEL = dict(OTHER_CURVES)["relative_error"]
TINY = ROOT / "meshes/seismic/tiny.toml"     # 6 receivers at 20 m, 64 samples of 8 ms
REDATUMING = """[problem]
kind = "mdd"
data = "layered"
mesh = "{mesh}"
noise_level = 0.05
[solver]
kind = "redatuming"
velocity = 1800.0
stop = "iterations"
max_iterations = 10
[output]
path = "{path}"
"""
# Measured fields with 3 virtual sources and 5 receivers: MDD, but not redatuming.
FILES = """[problem]
kind = "mdd"
data = "file"
downgoing = "{fields}"
upgoing = "{fields}"
[solver]
kind = "lsqr"
max_iterations = 3
[output]
path = "{path}"
"""


def _run_and_plot(directory, name: str, job: str) -> tuple:
    """(the result file, the names of the files ``hpcinv plot`` wrote)."""
    result = directory / f"{name}.h5"
    ran = hpcinv(["run", write_job(directory, f"{name}.toml", job.format(path=result)),
                  "--quiet"])
    assert ran.returncode == 0, ran.stderr
    plots = directory / "plots"
    plotted = hpcinv(["plot", result, "--out", plots])
    assert plotted.returncode == 0, plotted.stderr
    return result, sorted(path.name for path in plots.iterdir())


def test_the_thesis_line_gives_the_thesis_receivers():
    # 151 receivers at 20 m, 0 to 3000 m: (1500, 580), (180, 180), (1500, 180) and
    # (1500, 1500) m are receivers 75, 29, 9 and 75 exactly.
    assert cross_section_pairs(151) == [(75, 29), (9, 9), (75, 9), (75, 75)]
    assert cross_section_pairs(151, count=2) == [(75, 29), (9, 9)]


@pytest.mark.parametrize("n_r, pairs", [
    (6, [(3, 1), (0, 0), (3, 0), (3, 3)]),          # 2.5 -> 3, 0.97 -> 1, 0.3 -> 0
    (31, [(15, 6), (2, 2), (15, 2), (15, 15)]),     # 5.8 -> 6, 1.8 -> 2
])
def test_small_lines_round_to_the_nearest_receivers(n_r, pairs):
    assert cross_section_pairs(n_r) == pairs


def test_lines_of_four_or_more_receivers_give_four_distinct_pairs_in_range():
    for n_r in range(4, 400):
        pairs = cross_section_pairs(n_r)
        assert len(set(pairs)) == 4, n_r
        assert all(0 <= index < n_r for pair in pairs for index in pair), n_r


def test_pairs_that_coincide_on_a_short_line_are_listed_once():
    assert cross_section_pairs(2) == [(1, 0), (0, 0), (1, 1)]
    assert cross_section_pairs(1) == [(0, 0)]


@pytest.mark.parametrize("arguments", [(0,), (6, 0), (6.0,)])
def test_bad_counts_are_argument_errors(arguments):
    with pytest.raises(ArgumentError):
        cross_section_pairs(*arguments)


@pytest.fixture(scope="module")
def redatuming(tmp_path_factory):
    directory = tmp_path_factory.mktemp("redatuming")
    return _run_and_plot(directory, "layered", REDATUMING.format(mesh=TINY, path="{path}"))


def test_hpcinv_plot_writes_the_cross_sections_of_a_redatuming_result(redatuming):
    result, written = redatuming
    assert "layered-cross-sections.png" in written
    # The semiconvergence curve is the convergence figure's relative error per iteration.
    assert "layered-convergence.png" in written
    products = read_result(str(result))
    curves = {line.get_label(): line.get_ydata()
              for line in convergence_figure(products).axes[0].get_lines()}
    np.testing.assert_array_equal(curves[ERROR_LABEL], products.history["relative_error"])


def test_cross_sections_overlay_estimate_and_truth_at_the_chosen_pairs(redatuming):
    result = read_result(str(redatuming[0]))
    estimate = result.vector("solution").reshape(6, 6, 64)
    truth = result.vector("truth").reshape(6, 6, 64)
    panels = cross_sections_figure(result).axes
    assert [axis.get_title() for axis in panels] == [
        "virtual source at 60 m, receiver at 20 m", "virtual source at 0 m, receiver at 0 m",
        "virtual source at 60 m, receiver at 0 m", "virtual source at 60 m, receiver at 60 m"]
    assert {axis.get_xlabel() for axis in panels} == {TIME_LABEL}
    assert {axis.get_ylabel() for axis in panels} == {AMPLITUDE_LABEL}
    for axis, (v, r) in zip(panels, cross_section_pairs(6)):
        lines = {line.get_label(): line for line in axis.get_lines()}
        np.testing.assert_allclose(lines["truth"].get_xdata(), 0.008 * np.arange(64))
        np.testing.assert_array_equal(lines["truth"].get_ydata(), truth[r, v])
        np.testing.assert_array_equal(lines["estimate"].get_ydata(), estimate[r, v])


def test_no_cross_sections_when_the_virtual_sources_are_not_the_receivers(tmp_path):
    fields = tmp_path / "fields.npz"
    random = np.random.default_rng(1)
    write_npz(str(fields), {"q": random.standard_normal((32, 3, 4)),
                            "p": random.standard_normal((32, 5, 4))}, dt=0.008, dr=20.0)
    result, written = _run_and_plot(tmp_path, "files", FILES.format(fields=fields,
                                                                    path="{path}"))
    assert written == ["files-convergence.png", "files-gathers.png"]
    assert cross_sections_figure(read_result(str(result))) is None
