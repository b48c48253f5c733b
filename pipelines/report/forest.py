"""The report's first-screen forest plot: every comparison's primary estimate beside its naive one, as inline SVG.

Drawn from the summary rows (``published.v_comparison_summary``), so the plot and the table beside it agree;
SVG with text kept as text, so the browser renders it sharp and a reader (or a test) can search its labels.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from pipelines.report.summary import SummaryRow

PRIMARY_COLOUR, NAIVE_COLOUR = "#0072B2", "#D55E00"  # Okabe-Ito blue and vermillion
_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10)


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) and v > 0 for v in values)


def summary_forest_figure(rows: Sequence[SummaryRow]) -> Figure:
    """One line per comparison (top to bottom as in the table): primary (filled) and naive (open) HR with 95% CI."""
    figure = Figure(figsize=(7.0, 0.9 + 0.3 * max(len(rows), 1)))
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.42, 0.9 / figure.get_figheight() * 0.8, 0.55, 1 - 1.15 / figure.get_figheight()))
    positions = list(range(len(rows)))[::-1]
    for offset, colour, filled, estimate, label in (
        (0.14, PRIMARY_COLOUR, True, "primary_ci", "primary estimate"),
        (-0.14, NAIVE_COLOUR, False, "naive_ci", "naive or unadjusted estimate"),
    ):
        shown = [(y, getattr(r, estimate)) for y, r in zip(positions, rows, strict=True)]
        shown = [(y, ci) for y, ci in shown if ci is not None and _finite(*ci)]
        if not shown:
            continue
        ys = [y + offset for y, _ in shown]
        hrs = [ci[0] for _, ci in shown]
        ax.errorbar(
            hrs,
            ys,
            xerr=[
                [hr - ci[1] for hr, (_, ci) in zip(hrs, shown, strict=True)],
                [ci[2] - hr for hr, (_, ci) in zip(hrs, shown, strict=True)],
            ],
            fmt="o",
            color=colour,
            markerfacecolor=colour if filled else "white",
            capsize=2,
            label=label,
        )
    ax.set_xscale("log")
    bounds = [v for r in rows for ci in (r.primary_ci, r.naive_ci) if ci and _finite(*ci) for v in ci[1:]]
    low, high = (min(bounds), max(bounds)) if bounds else (0.5, 2.0)
    ax.set_xlim(min(low, 0.5) / 1.2, max(high, 2.0) * 1.2)
    ax.set_xticks([t for t in _TICKS if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]])
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_yticks(positions, [r.label for r in rows], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("Hazard ratio (95% CI), log scale", fontsize=9)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=8, frameon=False)
    # the left margin fits the widest label, with room for a browser font wider than matplotlib's
    renderer = figure.canvas.get_renderer()
    label_inches = 1.2 * max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()), default=0)
    left = min(0.6, (label_inches / figure.dpi + 0.15) / figure.get_figwidth())
    box = ax.get_position()
    ax.set_position((left, box.y0, 0.97 - left, box.height))
    return figure


def svg_markup(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog), text as text."""
    out = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gist-registry"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]
