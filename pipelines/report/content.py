"""What the registry report shows, read from the published ``published.v_*`` views.

The report only reads the views, so it shows exactly what analysts can query, with the
same small-count suppression.  Views with a layout below get readable columns; any other
``published.v_*`` view keyed by ``analysis_id`` is shown as it is, so a new results view
appears in the report without code here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.catalogue import Analysis
from pipelines.report.formatting import MISSING, cell, count, estimate_ci, number, p_or_floor, p_value

Row = dict[str, object]
Column = tuple[str, Callable[[Row, int], str]]


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    caption: str
    data_uri: str


@dataclass(frozen=True)
class EndpointSection:
    endpoint: str
    tables: list[Table]
    figures: list[Figure]


@dataclass(frozen=True)
class AnalysisSection:
    analysis: Analysis
    limits: Row  # design, confounders held and not held, clustering, immortal time (published.v_limits)
    tables: list[Table]  # Table 1 and views without an endpoint column
    endpoints: list[EndpointSection]
    few_event_groups: list[str]


def _text(column: str) -> Callable[[Row, int], str]:
    return lambda r, k: MISSING if r[column] is None else str(r[column])


def _count(column: str) -> Callable[[Row, int], str]:
    """A count as the view publishes it: its ``<column>_suppressed`` flag, else NULL, reads ``supp.``."""
    return lambda r, k: count(None if r.get(f"{column}_suppressed") else r[column], k)


LAYOUTS: dict[str, tuple[str, list[Column]]] = {
    "v_survival_summary": (
        "Kaplan-Meier summary (months)",
        [
            ("Group", _text("group")),
            ("n", _count("n")),
            ("Events", _count("events")),
            (
                "Median (95% CI)",
                lambda r, k: estimate_ci(
                    r["median_months"], r["median_lower"], r["median_upper"], 1, missing="not reached"
                ),
            ),
            ("Note", lambda r, k: "fewer than 10 events" if r["few_events"] else ""),
        ],
    ),
    "v_survival_at_landmarks": (
        "Survival at landmark times",
        [
            ("Group", _text("group")),
            ("Month", lambda r, k: number(r["time_months"], 0)),
            ("S(t) (95% CI)", lambda r, k: estimate_ci(r["survival"], r["lower"], r["upper"])),
            ("At risk", _count("n_at_risk")),
            ("Events so far", _count("n_events")),
        ],
    ),
    "v_logrank": (
        "Log-rank test",
        [
            ("Group", _text("group")),
            ("n", _count("n")),
            ("Observed", _count("observed")),
            ("Expected", lambda r, k: number(r["expected"], 1)),
            ("Chi-square (df)", lambda r, k: f"{number(r['statistic'])} ({r['df']})"),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _text("status")),
        ],
    ),
    "v_cumulative_incidence": (
        "Competing risks: cumulative incidence per cause at landmark times (Aalen-Johansen, cmprsk::cuminc)",
        [
            ("Group", _text("group")),
            ("Cause", _text("cause_label")),
            ("Month", lambda r, k: number(r["time_months"], 0)),
            ("F(t) (95% CI)", lambda r, k: estimate_ci(r["cumulative_incidence"], r["lower"], r["upper"])),
            ("At risk", _count("n_at_risk")),
            ("Cause events so far", _count("n_events")),
        ],
    ),
    "v_competing_risks": (
        "Competing risks: Gray's test, cause-specific Cox and Fine-Gray subdistribution hazard ratios",
        [
            ("Cause", _text("cause_label")),
            ("Model", _text("model")),
            ("Term", _text("term")),
            ("n", _count("n")),
            ("Cause events", _count("events")),
            ("HR (95% CI)", lambda r, k: estimate_ci(r["hr"], r["hr_lower"], r["hr_upper"])),
            ("Chi-square (df)", lambda r, k: f"{number(r['statistic'])} ({r['df']})" if r["df"] is not None else ""),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _text("status")),
        ],
    ),
    "v_hazard_ratios": (
        "Hazard ratios (Cox, Efron ties, Wald CI)",
        [
            ("Source", _text("source")),
            ("Model", _text("model")),
            ("Term", _text("term")),
            ("Reference", _text("reference")),
            ("n", _count("n")),
            ("Events", _count("events")),
            ("HR (95% CI)", lambda r, k: estimate_ci(r["hr"], r["hr_lower"], r["hr_upper"])),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _text("status")),
        ],
    ),
    "v_ph_tests": (
        "Proportional-hazards tests (score test as R's cox.zph, Kaplan-Meier time scale)",
        [
            ("Model", _text("model")),
            ("Term", _text("term")),
            ("Chi-square", lambda r, k: number(r["statistic"])),
            ("df", _text("df")),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _text("status")),
        ],
    ),
    "v_rmst": (
        "Restricted mean survival time (months; area under the Kaplan-Meier curve up to tau)",
        [
            ("Group", _text("group")),
            ("Tau, months", lambda r, k: number(r["tau"], 0)),
            ("n", _count("n")),
            ("RMST (95% CI)", lambda r, k: estimate_ci(r["rmst"], r["lower"], r["upper"], 1)),
            ("Status", _text("status")),
        ],
    ),
    "v_rmst_contrasts": (
        "RMST against the reference group (difference and ratio, survRM2's definitions)",
        [
            ("Group", _text("group")),
            ("Reference", _text("reference")),
            ("Tau, months", lambda r, k: number(r["tau"], 0)),
            (
                "Difference, months (95% CI)",
                lambda r, k: estimate_ci(r["difference"], r["difference_lower"], r["difference_upper"], 1),
            ),
            ("p (difference)", lambda r, k: p_value(r["difference_p"])),
            ("Ratio (95% CI)", lambda r, k: estimate_ci(r["ratio"], r["ratio_lower"], r["ratio_upper"])),
            ("p (ratio)", lambda r, k: p_value(r["ratio_p"])),
            ("Status", _text("status")),
        ],
    ),
    "v_binary_outcomes": (
        "Binary outcome (Fisher's exact test)",
        [
            ("Group", _text("group")),
            ("Within, months", lambda r, k: number(r["within_months"], 0)),
            ("n", _count("n")),
            ("Outcome unknown", _count("n_missing")),
            ("Events", _count("events")),
            ("Proportion (95% CI)", lambda r, k: estimate_ci(r["proportion"], r["lower"], r["upper"])),
            ("p", lambda r, k: p_or_floor(r["p"], r["p_display"])),
            ("Status", _text("status")),
        ],
    ),
    "v_registry_sites": (
        "Sites",
        [
            ("Site", _text("site_id")),
            ("Latest drop", _text("latest_drop_id")),
            ("Status", _text("latest_status")),
            ("Received (UTC)", lambda r, k: f"{r['latest_received_at']:%Y-%m-%d %H:%M}"),
            ("Patients", _count("patients")),
            ("TKI episodes", _count("tki_episodes")),
            ("Surgeries", _count("surgeries")),
            ("Progressions", _count("progressions")),
            ("Samples", _count("samples")),
            ("Quarantined rows", _text("quarantined_rows")),
            ("Message", lambda r, k: r["latest_message"] or ""),
            (
                "Validation report",
                lambda r, k: f"{r['archive_path']}/validation_report.html" if r["archive_path"] else MISSING,
            ),
        ],
    ),
    "v_quarantine_by_check": (
        "Quarantined rows by check",
        [
            ("Site", _text("site_id")),
            ("Table", _text("table_name")),
            ("Check", _text("check_id")),
            ("Rows", _text("rows")),
        ],
    ),
}
# The curve and its numbers at risk are drawn, not tabulated; limits fill their own box; Table 1 is pivoted
# (table_one_table).
NOT_TABULATED = {
    "v_comparison_summary",  # the report's opening table (pipelines/report/summary.py)
    "v_km_curve",
    "v_iptw_km_curve",
    "v_cumulative_incidence_curve",
    "v_numbers_at_risk",
    "v_registry_sites",
    "v_quarantine_by_check",
    "v_limits",
    "v_table_one",
}
KEYS = ("analysis_id", "endpoint")
PLOT_CAPTIONS = {
    "km": "Kaplan-Meier curves with 95% CI and numbers at risk",
    "forest": "Hazard ratios (forest plot)",
    "immortal_time": "Exposure effect: naive vs landmark vs time-varying Cox",
    "iptw_km": "IPTW-adjusted Kaplan-Meier curves (stabilised weights) with 95% CI",
    "love": "Covariate balance before and after IPTW (love plot, |SMD|, 0.1 threshold)",
    "cumulative_incidence": "Competing risks: cumulative incidence per cause (Aalen-Johansen, 95% CI; Gray's test)",
}


def results_views(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every ``published.v_*`` view with its columns: those with a layout in its order, then the rest by name."""
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE schema_name = 'published' AND starts_with(table_name, 'v_') "
        "GROUP BY table_name ORDER BY table_name"
    ).fetchall()
    order = list(LAYOUTS)
    return dict(sorted(rows, key=lambda row: order.index(row[0]) if row[0] in order else len(order)))


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list[object]) -> list[Row]:
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _table(view: str, columns: list[str], rows: list[Row], min_cell_count: int) -> Table:
    if view in LAYOUTS:
        caption, layout = LAYOUTS[view]
        return Table(caption, [h for h, _ in layout], [[fmt(r, min_cell_count) for _, fmt in layout] for r in rows])
    shown = [c for c in columns if c not in KEYS and not c.endswith("_suppressed")]
    caption = view.removeprefix("v_").replace("_", " ").capitalize()
    return Table(caption, shown, [[cell(c, r[c], min_cell_count) for c in shown] for r in rows])


def view_table(
    con: duckdb.DuckDBPyConnection, view: str, columns: list[str], min_cell_count: int, **keys: str
) -> Table | None:
    """The rows of a view (filtered by ``keys``) as a formatted table; None when it has none."""
    where = " AND ".join(f"{k} = ?" for k in keys) or "true"
    rows = _rows(con, f"SELECT * FROM published.{view} WHERE {where}", list(keys.values()))
    return _table(view, columns, rows, min_cell_count) if rows else None


def _caption(kind: str) -> str:
    """A figure's caption; an IPTW figure of a landmark frame (``love_landmark_12``) names its landmark."""
    base, _, landmark = kind.partition("_landmark_")
    if landmark and base in PLOT_CAPTIONS:
        return f"{PLOT_CAPTIONS[base]}: landmark at {landmark} months (exposed by then vs not, among the event-free)"
    return PLOT_CAPTIONS.get(kind, kind.replace("_", " "))


def _figures(plots_dir: Path, analysis_id: str, endpoint: str) -> list[Figure]:
    """The analysis's PNGs for one endpoint (``<id>_<endpoint>_<kind>.png``), known kinds first."""
    prefix = f"{analysis_id}_{endpoint}_"
    kinds = {p.stem.removeprefix(prefix): p for p in plots_dir.glob(f"{prefix}*.png")}
    order = [k for k in PLOT_CAPTIONS if k in kinds] + sorted(set(kinds) - set(PLOT_CAPTIONS))
    return [
        Figure(
            _caption(kind),
            "data:image/png;base64," + base64.b64encode(kinds[kind].read_bytes()).decode(),
        )
        for kind in order
    ]


def table_one_table(con: duckdb.DuckDBPyConnection, analysis: Analysis, min_cell_count: int) -> Table | None:
    """Table 1 as a paper prints it: one row per characteristic (and level), one column per group."""
    rows = _rows(con, "SELECT * FROM published.v_table_one WHERE analysis_id = ?", [analysis.id])
    if not rows:
        return None
    groups = [*analysis.groups, "(all)"]
    lines: dict[tuple[str, object], dict[str, Row]] = {}
    for r in rows:
        lines.setdefault((r["variable"], r["level"]), {})[r["group"]] = r

    def value(r: Row | None) -> str:
        if r is None:
            return MISSING
        if r["kind"] == "continuous":
            if r["n_suppressed"]:
                return f"n {count(None, min_cell_count)}"
            return f"{number(r['median'], 1)} ({number(r['q1'], 1)}–{number(r['q3'], 1)})"
        if r["count_suppressed"]:
            return count(None, min_cell_count)
        if r["kind"] == "units":
            return count(r["count"], min_cell_count)
        return (
            f"{count(r['count'], min_cell_count)} ({number(r['percent'], 0)}%)"
            if r["percent"] is not None
            else count(r["count"], min_cell_count)
        )

    body = []
    for (variable, level), by_group in lines.items():
        first = next(iter(by_group.values()))
        label = variable if level is None else f"{variable}: {level}"
        whole = by_group.get("(all)", first)
        missing = None if whole["n_missing_suppressed"] else whole["n_missing"]
        body.append(
            [
                label,
                *[value(by_group.get(g)) for g in groups],
                count(missing, min_cell_count),
                first["test"] or "",
                p_or_floor(first["p"], first.get("p_display")),
                number(first.get("smd_max"), 2),
            ]
        )
    return Table(
        "Characteristics (Table 1): median (IQR) or n (%); SMD: largest standardised mean difference between groups",
        ["", *groups, "Missing", "Test", "p", "SMD (max)"],
        body,
    )


def analysis_section(
    con: duckdb.DuckDBPyConnection,
    analysis: Analysis,
    views: dict[str, list[str]],
    plots_dir: Path,
    min_cell_count: int,
) -> AnalysisSection:
    per_analysis = {v: c for v, c in views.items() if "analysis_id" in c and v not in NOT_TABULATED}
    overall = [
        table_one_table(con, analysis, min_cell_count) if "v_table_one" in views else None,
        *[
            view_table(con, v, c, min_cell_count, analysis_id=analysis.id)
            for v, c in per_analysis.items()
            if "endpoint" not in c
        ],
    ]
    endpoints = []
    for endpoint in analysis.endpoints:
        tables = [
            view_table(con, v, c, min_cell_count, analysis_id=analysis.id, endpoint=endpoint)
            for v, c in per_analysis.items()
            if "endpoint" in c
        ]
        endpoints.append(
            EndpointSection(endpoint, [t for t in tables if t], _figures(plots_dir, analysis.id, endpoint))
        )
    few = con.execute(
        "SELECT DISTINCT endpoint || ': ' || \"group\" FROM published.v_survival_summary "
        "WHERE analysis_id = ? AND few_events ORDER BY 1",
        [analysis.id],
    ).fetchall()
    limits = (
        _rows(con, "SELECT * FROM published.v_limits WHERE analysis_id = ? LIMIT 1", [analysis.id])
        if "v_limits" in views
        else []
    )
    return AnalysisSection(
        analysis, limits[0] if limits else {}, [t for t in overall if t], endpoints, [f for (f,) in few]
    )
