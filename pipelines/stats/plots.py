"""Kaplan-Meier and forest plots drawn from the result tables (matplotlib, Agg canvas).

Figures are built as bare :class:`matplotlib.figure.Figure` objects on an Agg canvas, not
through pyplot, so a long-running pipeline neither needs a display nor accumulates open
figures.  The plots read the same tables that are published, so a figure never disagrees
with the numbers beside it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import struct
import textwrap
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter

from pipelines import labels as words
from pipelines.labels import PLAIN, AnalysisLabels
from pipelines.stats.endpoint import EndpointResults
from pipelines.stats.frame import GROUP
from pipelines.stats.timevarying import EXPOSED, UNEXPOSED

_HR_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
_FOOTNOTE_SIZE = 8
_FOREST_PLOT_INCHES, _FOREST_TEXT_INCHES = 5.0, 3.6
# Okabe-Ito, the colour-blind-safe palette (Okabe & Ito 2008), yellow left out (unreadable on white)
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_NOTE_COLOUR = "#A33C00"
PNG_DPI = 300


def _number(value: float, decimals: int) -> str:
    if not np.isfinite(value):
        return "NR"
    return f"{value:.{decimals}f}" if 10**-decimals <= abs(value) < 1000 else f"{value:.2g}"


def _interval(estimate: float, lower: float, upper: float, decimals: int) -> str:
    """``estimate (lower-upper)``; a limit that is not reached or not defined shows as NR."""
    return f"{_number(estimate, decimals)} ({_number(lower, decimals)}–{_number(upper, decimals)})"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _hazard_ratio_label(cox: pd.DataFrame, label: str, kind: str) -> str:
    """The group's univariable HR against the reference, marked with what it is (``unadjusted``, or naive)."""
    univariable = cox[(cox["model"] == "univariable") & (cox["variable"] == GROUP)]
    if (univariable["reference"] == label).any():
        return "reference"
    row = univariable[univariable["level"] == label]
    if row.empty or row["status"].iloc[0] != "ok":
        return "HR not estimable"
    hr = row.iloc[0]
    return f"HR {_interval(hr['hr'], hr['hr_lower'], hr['hr_upper'], 2)} ({kind})"


WITHHELD = "supp."  # pipelines.disclosure.MARK: how every published output prints a withheld count


def _published(row: pd.Series, column: str) -> str:
    """A count as published: ``supp.`` where pipelines.disclosure flagged it (``<column>_suppressed``).

    A table without the flag prints nothing at all for the count (``?``) rather than risk an unchecked one.
    """
    flagged = row.get(f"{column}_suppressed")
    if flagged is None or pd.isna(flagged):
        return "?"
    return WITHHELD if flagged else str(int(row[column]))


def _legend_label(summary: pd.Series, hazard_ratio: str, labels: AnalysisLabels) -> str:
    group = labels.group(summary["group"])
    if summary["n"] == 0:
        return f"{group} (no subjects)"
    median = (
        _interval(summary["median"], summary["median_lower"], summary["median_upper"], 1)
        if summary["median_reached"]
        else "not reached"
    )
    n, events = (_published(summary, c) for c in ("n", "events"))
    return f"{group} (n={n}, events={events}): median {median}; {hazard_ratio}"


def _at_risk_row(
    ax: Axes, at_risk: pd.DataFrame, order: list[str], colours: dict[str, str], labels: AnalysisLabels
) -> None:
    """The numbers-at-risk table under the plot (subjects with time >= each tick), as suppressed.

    Each number is centred on its tick's x (data coordinates), so the table lines up with the axis.
    """
    ax.text(-0.035, -0.14, "At risk", transform=ax.transAxes, ha="right", va="top", fontsize=8.5, fontweight="bold")
    for line, label in enumerate(order, start=1):
        rows = at_risk[at_risk["group"] == label]
        y = -0.14 - 0.055 * line
        ax.text(
            -0.035,
            y,
            labels.group(label),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8.5,
            color=colours[label],
        )
        for _, row in rows.iterrows():
            ax.annotate(
                _published(row, "n_at_risk"),
                (row["time"], y),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="top",
                fontsize=8.5,
                annotation_clip=False,
            )


def risk_table_times(last_time: float) -> np.ndarray:
    """The times of the Kaplan-Meier plot's numbers-at-risk row (its x ticks), from the last follow-up time."""
    last_time = last_time if np.isfinite(last_time) and last_time > 0 else 1.0
    ticks = MaxNLocator(nbins=8, steps=[1, 2, 3, 6, 10]).tick_values(0, last_time)
    return np.round(ticks[(ticks >= 0) & (ticks <= last_time * 1.02)], 9)


def ph_test_note(ph_test: pd.DataFrame, model: str) -> str:
    """The visible warning when the proportional-hazards test of ``model`` (its global test) fails at p < 0.05."""
    rows = ph_test[(ph_test["model"] == model) & (ph_test["term"] == "GLOBAL") & (ph_test["status"] == "ok")]
    if rows.empty or pd.isna(rows["p"].iloc[0]) or rows["p"].iloc[0] >= 0.05:
        return ""
    return (
        f"Proportional hazards rejected ({words.model(model)}, {_p_value(rows['p'].iloc[0])}): "
        "the HR averages a ratio that changes over follow-up"
    )


def _notes(ax: Axes, notes: Sequence[str]) -> None:
    """Notes that qualify the estimates shown (a failed PH test, the primary estimate), boxed inside the axes."""
    shown = [n for n in notes if n]
    if shown:
        ax.text(
            0.99,
            0.98,
            "\n".join(textwrap.fill(n, 60) for n in shown),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color=_NOTE_COLOUR,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": _NOTE_COLOUR, "alpha": 0.9},
        )


def _title(title: str, logrank: pd.DataFrame) -> str:
    test = logrank.iloc[0] if not logrank.empty else None
    if test is None or test["status"] != "ok":
        return f"{title}\nlog-rank test not estimable"
    return f"{title}\nlog-rank {_p_value(test['p'])} (chi-square {test['statistic']:.2f}, df {int(test['df'])})"


def km_figure(
    frame: pd.DataFrame | None,
    results: EndpointResults,
    *,
    title: str = "",
    time_label: str = "Months from origin",
    footnote: str = "",
    min_cell_count: int = 0,
    at_risk: pd.DataFrame | None = None,
    endpoint: str = "",
    labels: AnalysisLabels = PLAIN,
    hazard_ratio_kind: str = "unadjusted",
    notes: Sequence[str] = (),
) -> Figure:
    """Kaplan-Meier curves per group with CI bands, censor marks, dashed medians and numbers at risk.

    Parameters
    ----------
    frame
        Not used (the figure is drawn from ``results`` alone); kept for callers that pass it.
    results
        Output of :func:`pipelines.stats.endpoint.analyse_endpoint`, ideally as suppressed by
        :func:`pipelines.disclosure.suppress` (its ``<count>_suppressed`` flags); without the flags
        they are computed here for this endpoint alone with ``min_cell_count``.
    title
        First title line; the log-rank test is added below it.
    time_label
        x-axis label.
    footnote
        Text under the figure, e.g. the confounders the comparison cannot adjust for.
    min_cell_count
        The threshold of the suppression, when ``results`` is not suppressed yet (1 or less: none).
    at_risk
        The numbers at risk at the tick times, flagged (``km_at_risk`` of :func:`pipelines.disclosure.suppress`);
        computed with the flags when not given.
    endpoint
        PARAMCD: names the y axis (``Progression-free probability`` for PFS).
    labels
        The analysis's labels (groups in words).
    hazard_ratio_kind
        What the legend's HR is: ``unadjusted``, or the naive grouping's ``naive: immortal-time biased``.
    notes
        Boxed in the plot: a failed proportional-hazards test, the primary estimate where it is another model.

    The legend gives each group's n, events, median (95% CI) and univariable HR (95% CI)
    against the reference group; counts the suppression withheld print as ``supp.``.
    """
    if "n_suppressed" not in results.km_summary.columns or at_risk is None:
        results, at_risk = _suppressed(results, min_cell_count)
    order = results.km_summary["group"].tolist()
    footnote_inches = _footnote_inches(footnote)
    figure = Figure(figsize=(10, 6.5 + 0.35 * len(order) + footnote_inches))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    colours = {}
    for index, summary in results.km_summary.iterrows():
        colour = colours[summary["group"]] = _COLOURS[index % len(_COLOURS)]
        label = _legend_label(summary, _hazard_ratio_label(results.cox, summary["group"], hazard_ratio_kind), labels)
        curve = results.km_curve[results.km_curve["group"] == summary["group"]]
        if curve.empty:
            ax.plot([], [], color=colour, label=label)
            continue
        ax.step(curve["time"], curve["survival"], where="post", color=colour, label=label)
        ax.fill_between(curve["time"], curve["lower"], curve["upper"], step="post", color=colour, alpha=0.15, lw=0)
        censored = curve[curve["n_censored"] > 0]
        ax.plot(censored["time"], censored["survival"], "|", color=colour, markersize=8)
        if summary["median_reached"]:
            ax.plot([0, summary["median"], summary["median"]], [0.5, 0.5, 0], ls="--", lw=0.8, color=colour)
    last_time = float(results.km_curve["time"].max()) if len(results.km_curve) else 1.0
    ax.set_xticks(risk_table_times(last_time))
    ax.set_xlim(0, max(last_time * 1.02, 1e-9))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(time_label)
    ax.set_ylabel(words.survival_axis(endpoint))
    figure.suptitle(_title(title, results.logrank), fontsize=11)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=8.5, frameon=False)
    _notes(ax, notes)
    if len(results.km_curve):
        _at_risk_row(ax, at_risk, order, colours, labels)
    figure.tight_layout(rect=(0, footnote_inches / figure.get_figheight(), 1, 1))
    _write_footnote(figure, footnote)
    return figure


def _suppressed(results: EndpointResults, min_cell_count: int) -> tuple[EndpointResults, pd.DataFrame]:
    """One endpoint's tables flagged by pipelines.disclosure on their own (for a figure drawn outside the pipeline)."""
    from pipelines.disclosure import suppress  # here: pipelines.disclosure builds on the statistics package

    keys = {"analysis_id": "figure", "endpoint": "figure"}
    tables = suppress({name: frame.assign(**keys) for name, frame in results.tables().items()}, min_cell_count)
    clean = {name: tables[name].drop(columns=list(keys)) for name in results.tables()}
    return EndpointResults(**clean), tables["km_at_risk"].drop(columns=list(keys))


def forest_figure(
    cox: pd.DataFrame,
    *,
    model: str = "multivariable",
    title: str = "",
    footnote: str = "",
    labels: AnalysisLabels = PLAIN,
    notes: Sequence[str] = (),
) -> Figure:
    """Forest plot of one model's hazard ratios: log x-axis, 95% CIs, reference line at 1.

    Terms that could not be estimated are listed at their place with "not estimable" and the
    reason, so a missing bar is never mistaken for HR = 1.  ``footnote`` is printed under the plot,
    ``notes`` (a failed PH test) boxed in it.
    """
    rows = cox[cox["model"] == model].reset_index(drop=True)
    n_events = f" (n={_published(rows.iloc[0], 'n')}, events={_published(rows.iloc[0], 'events')})" if len(rows) else ""
    return _forest(
        rows,
        [labels.term(row["variable"], row["level"], row["reference"]) for _, row in rows.iterrows()],
        title=f"{title}\n{words.model(model)} model{n_events}",
        footnote=footnote,
        status=labels.status,
        notes=notes,
    )


def _exposure_label(row: pd.Series, labels: AnalysisLabels) -> str:
    """The model in words (naive ones marked as biased), the exposure kind where it is split, its n and events."""
    kind = "" if row["level"] == EXPOSED else f": {labels.group(row['level'])}"
    return f"{words.model(str(row['model']))}{kind} (n={_published(row, 'n')}, events={_published(row, 'events')})"


def exposure_forest_figure(
    immortal: pd.DataFrame, *, title: str = "", footnote: str = "", labels: AnalysisLabels = PLAIN
) -> Figure:
    """The exposure's hazard ratio in every immortal-time model (naive, landmarks, time-varying, split), one bar each.

    Reads the ``immortal_time`` table: the ``group=exposed`` rows, and the ``exposure=<kind>`` rows of the split
    model, so the biased naive estimate (labelled so) is always shown beside its corrections; each label gives
    the model's own n and events.
    """
    rows = immortal[immortal["variable"].isin([GROUP, "exposure"])].reset_index(drop=True)
    return _forest(
        rows,
        [_exposure_label(row, labels) for _, row in rows.iterrows()],
        title=f"{title}\n{labels.group(EXPOSED)} vs {labels.group(UNEXPOSED)}: "
        "naive (immortal-time biased), landmark and time-varying Cox models",
        footnote=footnote,
        status=labels.status,
    )


def _forest(
    rows: pd.DataFrame,
    labels: list[str],
    *,
    title: str,
    footnote: str,
    status: Callable[[str], str],
    notes: Sequence[str] = (),
) -> Figure:
    footnote_inches = _footnote_inches(footnote)
    figure = Figure(figsize=(10, 1.5 + 0.45 * max(len(rows), 1) + footnote_inches))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    estimable = rows["status"].eq("ok") & np.isfinite(rows["hr"].astype(float))
    positions = np.arange(len(rows))[::-1]
    hr, lower, upper = (rows.loc[estimable, c].to_numpy(float) for c in ("hr", "hr_lower", "hr_upper"))
    ax.errorbar(
        hr,
        positions[estimable.to_numpy()],
        xerr=[hr - lower, upper - hr],  # arrays: matplotlib reads a one-row Series as float(Series), deprecated
        fmt="s",
        color="black",
        ecolor="black",
        capsize=3,
    )
    ax.set_xscale("log")
    bounds = rows.loc[estimable, ["hr_lower", "hr_upper"]].to_numpy(float)
    low, high = (bounds.min(), bounds.max()) if bounds.size else (0.5, 2.0)
    ax.set_xlim(min(low, 0.5) / 1.5, max(high, 2.0) * 1.5)
    ax.set_xticks([t for t in _HR_TICKS if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]])
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    for position, (_, row) in zip(positions, rows.iterrows(), strict=True):
        text = (
            f"HR {_interval(row['hr'], row['hr_lower'], row['hr_upper'], 2)}, {_p_value(row['p'])}"
            if row["status"] == "ok"
            else status(row["status"])
        )
        ax.text(
            1.02,
            position,
            text,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=9,
            color="black" if row["status"] == "ok" else "firebrick",
        )
    ax.set_yticks(positions, labels)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("Hazard ratio (95% CI), log scale")
    ax.set_title(title, fontsize=11)
    _notes(ax, notes)
    # margins in inches: the widest term label on the left, the HR text on the right, two title lines above,
    # tick labels and axis label below; measured here so that saving needs no tight bounding box pass
    renderer = figure.canvas.get_renderer()
    label_inches = max(t.get_window_extent(renderer).width for t in ax.get_yticklabels()) / figure.dpi + 0.2
    figure.set_figwidth(label_inches + _FOREST_PLOT_INCHES + _FOREST_TEXT_INCHES)
    width, height = figure.get_figwidth(), figure.get_figheight()
    figure.subplots_adjust(
        left=label_inches / width,
        right=(label_inches + _FOREST_PLOT_INCHES) / width,
        top=1 - 0.6 / height,
        bottom=(0.6 + footnote_inches) / height,
    )
    _write_footnote(figure, footnote)
    return figure


def cumulative_incidence_figure(
    cumulative_incidence: pd.DataFrame,
    gray_test: pd.DataFrame,
    *,
    title: str = "",
    time_label: str = "Months from origin",
    footnote: str = "",
    labels: AnalysisLabels = PLAIN,
) -> Figure:
    """Cumulative incidence (Aalen-Johansen) per group, one panel per cause (the cause of interest first).

    Each panel shares the y axis (0 to 1), so the causes' incidences can be read against each other; its title
    names the cause and Gray's test between the groups.  CI bands are the pointwise 95% intervals.
    """
    curves = cumulative_incidence[cumulative_incidence["kind"] == "curve"]
    causes = list(dict.fromkeys(zip(curves["cause"], curves["cause_label"], strict=True)))
    footnote_inches = _footnote_inches(footnote)
    figure = Figure(figsize=(4.2 * max(len(causes), 1) + 1, 5.2 + footnote_inches))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, max(len(causes), 1), sharey=True, squeeze=False)[0]
    groups = list(dict.fromkeys(curves["group"]))
    last_time = float(curves["time"].max()) if len(curves) else 1.0
    for ax, (cause, label) in zip(axes, causes, strict=False):
        for index, group in enumerate(groups):
            curve = curves[(curves["group"] == group) & (curves["cause"] == cause)]
            colour = _COLOURS[index % len(_COLOURS)]
            ax.step(curve["time"], curve["cumulative_incidence"], where="post", color=colour, label=labels.group(group))
            ax.fill_between(curve["time"], curve["lower"], curve["upper"], step="post", color=colour, alpha=0.15, lw=0)
        test = gray_test[gray_test["cause"] == cause]
        tested = (
            f"Gray's test {_p_value(test['p'].iloc[0])}"
            if len(test) and test["status"].iloc[0] == "ok"
            else "Gray's test not estimable"
        )
        ax.set_title(f"{words.cause(label)}\n{tested}", fontsize=10)
        ax.set_xticks(risk_table_times(last_time))
        ax.set_xlim(0, max(last_time * 1.02, 1e-9))
        ax.set_xlabel(time_label)
    axes[0].set_ylim(0, 1.02)
    axes[0].set_ylabel("Cumulative incidence")
    axes[0].legend(loc="upper left", fontsize=8.5, frameon=False)
    figure.suptitle(f"{title}\ncompeting risks: cumulative incidence per cause", fontsize=11)
    figure.tight_layout(rect=(0, footnote_inches / figure.get_figheight(), 1, 1))
    _write_footnote(figure, footnote)
    return figure


def few_events_note(km_summary: pd.DataFrame, labels: AnalysisLabels = PLAIN) -> str:
    """The footnote sentence flagging groups with fewer than 10 events (empty when there are none).

    Each group's events are given as published (``events_suppressed``: ``supp.``); a summary without
    the flags names the groups only.
    """
    few = km_summary[km_summary["few_events"]]
    if few.empty:
        return ""
    flagged = "events_suppressed" in few.columns
    listed = ", ".join(
        f"{labels.group(row['group'])} ({_published(row, 'events')})" if flagged else labels.group(row["group"])
        for _, row in few.iterrows()
    )
    return f"Fewer than 10 events, estimates unstable (read as descriptive): {listed}."


def _footnote_inches(footnote: str, fontsize: float = _FOOTNOTE_SIZE) -> float:
    """Height of the footnote strip along the bottom edge (0 without a footnote)."""
    return (textwrap.fill(footnote, 150).count("\n") + 1) * fontsize * 1.3 / 72 + 0.1 if footnote else 0.0


def _write_footnote(figure: Figure, footnote: str) -> None:
    """The footnote in the strip the layout left free, so a saved figure is drawn once (no tight bounding box pass)."""
    if footnote:
        figure.text(
            0.01, 0.01, textwrap.fill(footnote, 150), fontsize=_FOOTNOTE_SIZE, va="bottom", ha="left", style="italic"
        )


def save_png(figure: Figure, path: Path, *, dpi: int = PNG_DPI) -> Path:
    """Write a figure as PNG (parent folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(figure, dpi))
    return path


def png_bytes(figure: Figure, dpi: int) -> bytes:
    """The figure rasterised by Agg at ``dpi`` as a PNG: rows unfiltered, zlib level 1, the dpi in ``pHYs``.

    The same pixels as ``savefig(..., dpi=dpi)``, encoded in a third of the time: PIL's encoder filters every
    row (0.11 s for a 300-dpi Kaplan-Meier figure whatever the zlib level), this one does not (0.035 s; files
    within 1 %).  The figure keeps the new dpi (it is drawn for the last time).
    """
    figure.dpi = dpi
    rgba, (width, height) = FigureCanvasAgg(figure).print_to_buffer()
    rows = np.empty((height, 1 + 4 * width), np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = np.frombuffer(rgba, np.uint8).reshape(height, 4 * width)
    per_metre = round(dpi / 0.0254)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),  # 8-bit RGBA
            chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            chunk(b"IEND", b""),
        ]
    )


def _digest(inputs: Sequence[object]) -> str:
    """A figure's inputs and the drawing code, hashed: equal digests draw equal figures."""
    digest = hashlib.sha256(_CODE)
    for value in inputs:
        if isinstance(value, pd.DataFrame):
            digest.update(repr(list(value.dtypes.astype(str).items())).encode())
            for _, column in value.items():  # typed columns hash as they are; only mixed objects go through text
                hashed = column.astype(str) if column.dtype == object else column
                digest.update(pd.util.hash_pandas_object(hashed, index=False).to_numpy().tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def _code() -> bytes:
    """The source of everything that decides how a figure looks (this module, the IPTW figures, the labels)."""
    here = Path(__file__).parent
    return b"".join(p.read_bytes() for p in (here / "plots.py", here / "iptw_plots.py", words.LABELS_PATH))


_CODE = _code()


class FigureWriter:
    """Draws figures in ``os.cpu_count()`` worker processes while the caller goes on; leaving the block waits.

    A full redraw is CPU in matplotlib (SVG, then the 300-dpi raster and its PNG encoding); the statistics of the
    next analysis run meanwhile.  Workers come from a forkserver with this module preloaded, never by forking the
    caller (it holds a DuckDB connection and its threads); each job carries its data (a picklable ``draw``).
    """

    def __init__(self, workers: int | None = None) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "pipelines.stats.iptw_plots"])
        self._pool = ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=context)
        self._pending: list[Future[Path]] = []

    def submit(self, stem: Path, draw: Callable[[], Figure], digest: str) -> None:
        self._pending.append(self._pool.submit(_render, stem, draw, digest))

    def __enter__(self) -> FigureWriter:
        return self

    def __exit__(self, *_: object) -> None:
        try:
            for future in self._pending:
                future.result()  # a figure that failed to draw raises here, in the caller
        finally:
            self._pool.shutdown(cancel_futures=True)


def _render(stem: Path, draw: Callable[[], Figure], digest: str) -> Path:
    """Draw once, write ``<stem>.svg`` (text as text) and ``<stem>.png`` (300 dpi), then the inputs' digest."""
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    figure = draw()
    stem.parent.mkdir(parents=True, exist_ok=True)
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gist-registry"}):
        figure.savefig(svg, format="svg", metadata={"Date": None})
    save_png(figure, png)
    stem.with_name(f".{stem.name}.sha256").write_text(digest)
    return png


def save_figure(stem: Path, draw: Callable[[], Figure], *inputs: object, writer: FigureWriter | None = None) -> Path:
    """``<stem>.svg`` (for the report) and ``<stem>.png`` at 300 dpi; returns the PNG's path.

    ``inputs`` are everything ``draw`` reads: where both files exist from the same inputs and code
    (``.<name>.sha256`` beside them), nothing is drawn, so a refresh redraws only the figures that changed.
    With a ``writer`` the figure is drawn in its workers (the files exist once its block is left).
    """
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    sidecar = stem.with_name(f".{stem.name}.sha256")
    digest = _digest(inputs)
    if png.exists() and svg.exists() and sidecar.exists() and sidecar.read_text() == digest:
        return png
    if writer is None:
        return _render(stem, draw, digest)
    writer.submit(stem, draw, digest)
    return png
