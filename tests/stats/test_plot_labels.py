"""Every plot kind reads in words: axis named for the endpoint, legend marked unadjusted / naive / IPTW-adjusted,
groups and terms from the label catalogue, a failed PH test noted; SVG beside PNG, redrawn only when inputs change.

The tables are written by hand, with the catalogue's codes as group names (``focal_progression``) and a
proportional-hazards test that fails, a shape the project's generator never produces on purpose.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from pipelines.labels import AnalysisLabels
from pipelines.stats import analyse_endpoint, km_figure, ph_test_note, save_figure
from pipelines.stats.iptw_plots import love_figure, weighted_km_figure
from pipelines.stats.plots import (
    _COLOURS,
    FigureWriter,
    cumulative_incidence_figure,
    exposure_forest_figure,
    forest_figure,
    png_bytes,
)
from pipelines.stats.timevarying import NAIVE_LABEL

LABELS = AnalysisLabels("status_at_surgery")
CODES = ("focal_progression", "disease_status", "log2_tumour_count", "death_gist", "time_varying")
OKABE_ITO = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}


def _texts(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text"))]


def _no_codes(figure: Figure) -> None:
    text = "\n".join(_texts(figure))
    assert not [c for c in CODES if c in text], text


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "group": pd.Categorical(["responsive"] * 30 + ["focal_progression"] * 30),
            "time_months": np.r_[rng.exponential(30, 30), rng.exponential(12, 30)].round(1) + 0.1,
            "event": rng.integers(0, 2, 60),
        }
    )
    return analyse_endpoint(frame, reference_group="responsive", groups=["responsive", "focal_progression"])


FAILED_PH = pd.DataFrame(
    {"model": ["univariable"], "term": ["GLOBAL"], "statistic": [14.2], "df": [1], "p": [0.0002], "status": ["ok"]}
)


def test_ph_note_names_the_model_and_p_only_when_the_test_fails() -> None:
    assert ph_test_note(FAILED_PH, "univariable") == (
        "Proportional hazards rejected (unadjusted Cox, p < 0.001): the HR averages a ratio that changes over follow-up"
    )
    assert ph_test_note(FAILED_PH.assign(p=0.4), "univariable") == ""
    assert ph_test_note(FAILED_PH, "multivariable") == ""


@pytest.mark.parametrize(
    ("endpoint", "axis"), [("PFS", "Progression-free probability"), ("OS", "Overall survival probability")]
)
def test_km_axis_legend_and_notes_in_words(results, endpoint, axis) -> None:
    figure = km_figure(
        None,
        results,
        title="Disease status at surgery",
        endpoint=endpoint,
        labels=LABELS,
        min_cell_count=1,
        notes=(ph_test_note(FAILED_PH, "univariable"),),
    )
    ax = figure.axes[0]
    assert ax.get_ylabel() == axis
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("Responsive disease (n=30") and legend[0].endswith("reference")
    assert legend[1].startswith("Focal progression (n=30") and "(unadjusted)" in legend[1]
    assert any(t.startswith("Proportional hazards rejected") for t in _texts(figure))
    assert {line.get_color() for line in ax.get_lines()} <= OKABE_ITO
    _no_codes(figure)


def test_km_of_a_naive_grouping_says_so_in_the_legend(results) -> None:
    figure = km_figure(None, results, labels=LABELS, min_cell_count=1, hazard_ratio_kind=NAIVE_LABEL)
    assert "(naive: immortal-time biased)" in figure.axes[0].get_legend().get_texts()[1].get_text()


def test_at_risk_numbers_sit_on_the_x_ticks(results) -> None:
    figure = km_figure(None, results, labels=LABELS, min_cell_count=1)
    ax = figure.axes[0]
    ticks = set(np.round(ax.get_xticks(), 6))
    numbers = [a for a in ax.texts if getattr(a, "xy", None) is not None]
    assert numbers and {round(a.xy[0], 6) for a in numbers} <= ticks
    assert {a.get_horizontalalignment() for a in numbers} == {"center"}


def test_forest_terms_and_model_in_words(results) -> None:
    cox = pd.DataFrame(
        {
            "model": ["multivariable"] * 2,
            "variable": ["disease_status", "log2_tumour_count"],
            "level": ["focal_progression", None],
            "reference": ["responsive", None],
            "n": [60, 60],
            "events": [30, 30],
            "n_suppressed": [False, False],
            "events_suppressed": [False, False],
            "hr": [1.8, 1.2],
            "hr_lower": [1.1, 0.9],
            "hr_upper": [2.9, 1.6],
            "p": [0.01, 0.2],
            "status": ["ok", "ok"],
        }
    )
    ph = FAILED_PH.assign(model="multivariable")
    figure = forest_figure(cox, labels=LABELS, notes=(ph_test_note(ph, "multivariable"),))
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Disease status at surgery: focal progression vs responsive disease",
        "Number of tumours (log2, per doubling) (per unit)",
    ]
    assert "multivariable Cox model (n=60, events=30)" in ax.get_title()
    assert ax.get_xlabel() == "Hazard ratio (95% CI), log scale"
    assert "Proportional hazards rejected (multivariable Cox, p < 0.001)" in " ".join(_texts(figure)).replace("\n", " ")
    _no_codes(figure)


def test_exposure_forest_marks_the_naive_model() -> None:
    immortal = pd.DataFrame(
        {
            "model": ["naive", "landmark_12_adjusted", "time_varying_split"],
            "variable": ["group", "group", "exposure"],
            "level": ["exposed", "exposed", "continued"],
            "n": [100, 80, 100],
            "events": [50, 40, 50],
            "n_suppressed": [False] * 3,
            "events_suppressed": [False] * 3,
            "hr": [0.6, 1.1, 1.2],
            "hr_lower": [0.4, 0.8, 0.9],
            "hr_upper": [0.9, 1.5, 1.6],
            "p": [0.01, 0.5, 0.3],
            "status": ["ok"] * 3,
        }
    )
    figure = exposure_forest_figure(immortal, labels=AnalysisLabels("surgery_after_imatinib"))
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == [
        "naive: immortal-time biased (n=100, events=50)",
        "landmark at 12 months, covariate-adjusted (n=80, events=40)",
        "time-varying surgery, by TKI continued or stopped: TKI continued after surgery (n=100, events=50)",
    ]
    assert "Surgery on imatinib vs Imatinib alone" in figure.axes[0].get_title()


def test_cumulative_incidence_causes_and_groups_in_words() -> None:
    curve = pd.DataFrame(
        {
            "kind": "curve",
            "group": ["responsive", "responsive", "focal_progression", "focal_progression"] * 2,
            "cause": [1, 1, 1, 1, 2, 2, 2, 2],
            "cause_label": ["death_gist"] * 4 + ["death_other"] * 4,
            "time": [0.0, 5.0, 0.0, 3.0] * 2,
            "cumulative_incidence": [0.0, 0.2, 0.0, 0.4] * 2,
            "lower": [0.0, 0.1, 0.0, 0.2] * 2,
            "upper": [0.0, 0.3, 0.0, 0.6] * 2,
        }
    )
    gray = pd.DataFrame({"cause": [1, 2], "p": [0.02, 0.6], "status": ["ok", "ok"]})
    figure = cumulative_incidence_figure(curve, gray, labels=LABELS)
    assert [ax.get_title() for ax in figure.axes] == [
        "Death from GIST\nGray's test p = 0.020",
        "Death from another cause\nGray's test p = 0.600",
    ]
    assert figure.axes[0].get_ylabel() == "Cumulative incidence"
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "Responsive disease",
        "Focal progression",
    ]
    _no_codes(figure)


def test_iptw_figures_mark_adjusted_and_unadjusted() -> None:
    balance = pd.DataFrame(
        {"term": ["disease_status=focal_progression", "sex=male"], "smd_before": [0.3, 0.2], "smd_after": [0.05, 0.02]}
    )
    love = love_figure(balance, labels=LABELS)
    assert [t.get_text() for t in love.axes[0].get_legend().get_texts()] == ["unadjusted", "IPTW-adjusted"]
    assert [t.get_text() for t in love.axes[0].get_yticklabels()] == [
        "Sex: male",
        "Disease status at surgery: focal progression",
    ]
    curve = pd.DataFrame(
        {
            "group": ["responsive", "focal_progression"],
            "time": [2.0, 3.0],
            "survival": [0.8, 0.7],
            "lower": [0.6, 0.5],
            "upper": [0.9, 0.9],
        }
    )
    km = weighted_km_figure(curve, endpoint="RFS", labels=LABELS)
    assert km.axes[0].get_ylabel() == "Recurrence-free probability, IPTW-adjusted"
    assert [t.get_text() for t in km.axes[0].get_legend().get_texts()] == [
        "Responsive disease (IPTW-adjusted)",
        "Focal progression (IPTW-adjusted)",
    ]
    _no_codes(love)
    _no_codes(km)
    assert set(_COLOURS) == OKABE_ITO


def test_save_figure_writes_svg_with_text_and_png_and_skips_unchanged_inputs(results, tmp_path) -> None:
    table = pd.DataFrame({"x": [1, 2]})
    draw = lambda: km_figure(None, results, endpoint="PFS", labels=LABELS, min_cell_count=1)  # noqa: E731
    png = save_figure(tmp_path / "a_km", draw, table, "title")
    svg = png.with_suffix(".svg").read_text()
    assert "Progression-free probability" in svg and "Focal progression" in svg  # text kept as text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000  # 300 dpi

    def fail() -> Figure:
        raise AssertionError("redrawn although nothing changed")

    assert save_figure(tmp_path / "a_km", fail, table, "title") == png
    with pytest.raises(AssertionError, match="redrawn"):
        save_figure(tmp_path / "a_km", fail, table.assign(x=[1, 3]), "title")


def test_figure_writer_writes_the_same_files_as_drawing_in_the_caller(results, tmp_path) -> None:
    draws = {
        "a_km": partial(km_figure, None, results, endpoint="PFS", labels=LABELS, min_cell_count=1),
        "a_forest": partial(forest_figure, results.cox, model="univariable", labels=LABELS, footnote="Observed."),
    }
    for name, draw in draws.items():
        save_figure(tmp_path / "serial" / name, draw, name)
    with FigureWriter(workers=2) as writer:
        for name, draw in draws.items():
            assert save_figure(tmp_path / "pool" / name, draw, name, writer=writer) == tmp_path / "pool" / f"{name}.png"
    for name in draws:
        for suffix in (".svg", ".png"):
            serial, pool = (tmp_path / where / f"{name}{suffix}" for where in ("serial", "pool"))
            assert pool.read_bytes() == serial.read_bytes(), f"{name}{suffix}"
        assert (tmp_path / "pool" / f".{name}.sha256").read_text() == (
            tmp_path / "serial" / f".{name}.sha256"
        ).read_text()


def test_figure_writer_raises_a_failed_drawing_in_the_caller(tmp_path) -> None:
    with pytest.raises(ValueError, match="not a figure"), FigureWriter(workers=1) as writer:
        save_figure(tmp_path / "broken", partial(int, "not a figure"), "inputs", writer=writer)
    assert not (tmp_path / ".broken.sha256").exists()  # nothing marks it drawn, so the next refresh tries again


def test_iptw_figures_keep_a_long_title_and_footnote_inside_the_figure() -> None:
    """A landmark analysis's title and the full confounding footnote were cut off at the figure's right edge."""
    title = (
        "Cytoreductive surgery on first-line imatinib vs imatinib alone — Overall survival "
        "[landmark 12 months: surgery by then vs not]"
    )
    footnote = " ".join(["Observational registry data, treatment not randomised: groups may differ by selection."] * 6)
    curve = pd.DataFrame({"group": ["responsive"], "time": [2.0], "survival": [0.8], "lower": [0.6], "upper": [0.9]})
    balance = pd.DataFrame({"term": ["sex=male"], "smd_before": [0.3], "smd_after": [0.05]})
    for figure in (
        weighted_km_figure(curve, title=title, footnote=footnote, labels=LABELS),
        love_figure(balance, title=title, footnote=footnote, labels=LABELS),
    ):
        figure.canvas.draw()  # places the axis labels
        renderer = figure.canvas.get_renderer()
        page = figure.bbox
        axes = figure.axes[0]
        for text in [*figure.texts, axes.title, axes.xaxis.label, axes.yaxis.label, *axes.get_legend().get_texts()]:
            box = text.get_window_extent(renderer)
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, text.get_text()[:60]
            assert page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, text.get_text()[:60]


def test_png_bytes_are_savefigs_pixels_at_the_stated_dpi(results) -> None:
    """The project's PNG encoder (unfiltered rows) decodes to the very pixels matplotlib's savefig writes."""
    import io

    from PIL import Image

    def draw() -> Figure:
        return km_figure(None, results, endpoint="PFS", labels=LABELS, min_cell_count=1)

    reference = io.BytesIO()
    draw().savefig(reference, format="png", dpi=120)
    ours = Image.open(io.BytesIO(png_bytes(draw(), 120)))
    theirs = Image.open(reference)
    assert ours.size == theirs.size and ours.mode == theirs.mode == "RGBA"
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    assert [round(d) for d in ours.info["dpi"]] == [120, 120]
