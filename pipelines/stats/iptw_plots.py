"""Figures of an IPTW comparison, drawn from its published tables: the love plot and the weighted Kaplan-Meier curves."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipelines import labels as words
from pipelines.labels import PLAIN, AnalysisLabels
from pipelines.stats.iptw import SMD_THRESHOLD
from pipelines.stats.plots import _COLOURS, _footnote_inches, _write_footnote


def _figure(height: float, footnote: str) -> tuple[Figure, float]:
    """A bare Agg figure with room for the footnote; returns it and the bottom margin as a fraction."""
    extra = _footnote_inches(footnote)
    figure = Figure(figsize=(10, height + extra))  # as wide as the other figures: their footnote wrap fits
    FigureCanvasAgg(figure)
    return figure, (0.12 * height + extra) / (height + extra)


def _wrapped(title: str, characters: int) -> str:
    """A long title (a landmark analysis names its design) on as many lines as its axes' width needs."""
    return textwrap.fill(title, characters)


def _heading_inches(heading: str) -> float:
    """Height of a 10-point title of that many lines."""
    return (heading.count("\n") + 1) * 10 * 1.3 / 72


def love_figure(
    balance: pd.DataFrame, *, title: str = "", footnote: str = "", labels: AnalysisLabels = PLAIN
) -> Figure:
    """|SMD| of every propensity term before (open, unadjusted) and after (filled) weighting, with the 0.1 line."""
    rows = balance.iloc[::-1].reset_index(drop=True)
    heading = f"{_wrapped(title, 75)}\nCovariate balance before and after weighting"
    figure, bottom = _figure(max(2.5, 0.35 * len(rows) + 1.5) + _heading_inches(heading), footnote)
    top = 1 - (_heading_inches(heading) + 0.1) / figure.get_figheight()
    ax = figure.add_axes((0.3, bottom, 0.65, top - bottom))
    y = np.arange(len(rows))
    ax.scatter(rows["smd_before"].abs(), y, facecolors="none", edgecolors=_COLOURS[1], label="unadjusted")
    ax.scatter(rows["smd_after"].abs(), y, color=_COLOURS[0], label="IPTW-adjusted")
    ax.axvline(SMD_THRESHOLD, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, [labels.term_text(t) for t in rows["term"]])
    ax.set_xlabel("|standardised mean difference|")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(heading, fontsize=10)
    _write_footnote(figure, footnote)
    return figure


def weighted_km_figure(
    curve: pd.DataFrame,
    *,
    title: str = "",
    time_label: str = "Months",
    footnote: str = "",
    endpoint: str = "",
    labels: AnalysisLabels = PLAIN,
) -> Figure:
    """IPTW-weighted Kaplan-Meier curves per group with their pointwise 95% CI (step functions from 1 at 0).

    The legend marks each curve IPTW-adjusted; the y axis is named for the ``endpoint`` (PARAMCD).
    """
    figure, bottom = _figure(4.5, footnote)
    ax = figure.add_axes((0.1, bottom, 0.86, 0.86 - bottom))
    for colour, (group, part) in zip(_COLOURS, curve.groupby("group", sort=False, observed=True), strict=False):
        time = np.concatenate([[0.0], part["time"].to_numpy(float)])
        for column, style in (("survival", "-"), ("lower", ":"), ("upper", ":")):
            values = np.concatenate([[1.0], part[column].to_numpy(float)])
            ax.step(
                time,
                values,
                where="post",
                color=colour,
                linestyle=style,
                label=f"{labels.group(group)} (IPTW-adjusted)" if column == "survival" else None,
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(time_label)
    ax.set_ylabel(f"{words.survival_axis(endpoint)}, IPTW-adjusted")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(
        f"{_wrapped(title, 110)}\nIPTW-weighted Kaplan-Meier (stabilised weights; dotted: 95% CI)", fontsize=10
    )
    _write_footnote(figure, footnote)
    return figure
