"""The registry report: one static HTML file with every analysis's tables and plots.

It is built from the ``published.v_*`` views only (suppressed counts included).  The summary and its
forest plot are inline; the analyses' figures are SVGs beside it (``plots/``), referenced by relative path
and loaded lazily, so the report is mailed or archived with its ``plots`` folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import jinja2

from pipelines.catalogue import Analysis
from pipelines.report.content import analysis_section, results_views, view_table
from pipelines.report.forest import summary_forest_figure, svg_markup
from pipelines.report.summary import REASONS, summary_rows
from pipelines.settings import Settings

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def render_report(con: duckdb.DuckDBPyConnection, analyses: list[Analysis], settings: Settings) -> str:
    views = results_views(con)
    k = settings.min_cell_count
    registry = [view_table(con, v, views[v], k) for v in ("v_registry_sites", "v_quarantine_by_check") if v in views]
    summary = summary_rows(con, k) if "v_comparison_summary" in views else []
    return _TEMPLATES.get_template("report.html.j2").render(
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        data_cutoff=settings.data_cutoff.isoformat() if settings.data_cutoff else "none set (censored at today)",
        min_cell_count=k,
        demo=settings.demo,
        registry=[t for t in registry if t],
        summary=summary,
        summary_forest=svg_markup(summary_forest_figure(summary)) if summary else "",
        reasons=REASONS,
        analyses=[
            analysis_section(con, a, views, settings.plots_dir, settings.report_path.parent, k) for a in analyses
        ],
    )


def write_report(con: duckdb.DuckDBPyConnection, analyses: list[Analysis], settings: Settings) -> Path:
    """Render the report and replace ``settings.report_path`` atomically (a reader never sees half a file)."""
    path = settings.report_path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".html.partial")
    partial.write_text(render_report(con, analyses, settings), encoding="utf-8")
    partial.replace(path)
    return path
