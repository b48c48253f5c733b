"""What the registry report shows, read from the published ``published.v_*`` views.

The report only reads the views, so it shows exactly what analysts can query, with the
same small-count suppression.  Views with a layout below get readable columns; any other
``published.v_*`` view keyed by ``analysis_id`` is shown as it is, so a new results view
appears in the report without code here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import labels as words
from pipelines.catalogue import Analysis
from pipelines.report.flow import Flow, cohort_flow
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
    src: str  # the SVG, relative to the report (loaded lazily: the report itself stays light)
    png: str  # the 300-dpi PNG beside it, for a paper


@dataclass(frozen=True)
class EndpointSection:
    endpoint: str  # PARAMCD: the anchor
    title: str  # in words
    tables: list[Table]
    figures: list[Figure]


@dataclass(frozen=True)
class AnalysisSection:
    analysis: Analysis
    limits: Row  # design, confounders held and not held, clustering, immortal time (published.v_limits)
    tables: list[Table]  # Table 1 and views without an endpoint column
    endpoints: list[EndpointSection]
    few_event_groups: list[str]
    groups: list[str]  # in words, in display order
    reference: str
    endpoint_names: list[str]
    flow: Flow | None  # the cohort flow diagram, where the analysis publishes one


def _text(column: str) -> Callable[[Row, int], str]:
    return lambda r, k: MISSING if r[column] is None else str(r[column])


def _group(column: str) -> Callable[[Row, int], str]:
    """A group (or reference group) of the row's analysis, in words."""
    return lambda r, k: (
        MISSING if r[column] is None else words.AnalysisLabels(str(r.get("analysis_id") or "")).group(r[column])
    )


def _model(r: Row, k: int) -> str:
    return MISSING if r["model"] is None else words.model(r["model"])


def _term(r: Row, k: int) -> str:
    """A Cox term in words; the global proportional-hazards test reads as such."""
    if r["term"] is None:
        return MISSING
    if r["term"] == "GLOBAL":
        return "global test"
    return words.AnalysisLabels(str(r.get("analysis_id") or "")).term_text(r["term"])


def _status(r: Row, k: int) -> str:
    return words.AnalysisLabels(str(r.get("analysis_id") or "")).status(r["status"] or "")


def _check(check_id: str) -> str:
    """An ingest check in the registrar's words: its message (pipelines.ingest.checks), not its id."""
    from pipelines.ingest.checks import all_checks  # here: the ingest package is heavy and only this table needs it

    check = all_checks().get(check_id)
    return check.message[:1].upper() + check.message[1:] if check else check_id.replace("_", " ").replace(".", ": ")


def _count(column: str) -> Callable[[Row, int], str]:
    """A count as the view publishes it: its ``<column>_suppressed`` flag, else NULL, reads ``supp.``."""
    return lambda r, k: count(None if r.get(f"{column}_suppressed") else r[column], k)


LAYOUTS: dict[str, tuple[str, list[Column]]] = {
    "v_survival_summary": (
        "Kaplan-Meier summary (months)",
        [
            ("Group", _group("group")),
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
            ("Group", _group("group")),
            ("Month", lambda r, k: number(r["time_months"], 0)),
            ("S(t) (95% CI)", lambda r, k: estimate_ci(r["survival"], r["lower"], r["upper"])),
            ("At risk", _count("n_at_risk")),
            ("Events so far", _count("n_events")),
        ],
    ),
    "v_logrank": (
        "Log-rank test",
        [
            ("Group", _group("group")),
            ("n", _count("n")),
            ("Observed", _count("observed")),
            ("Expected", lambda r, k: number(r["expected"], 1)),
            ("Chi-square (df)", lambda r, k: f"{number(r['statistic'])} ({r['df']})"),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _status),
        ],
    ),
    "v_cumulative_incidence": (
        "Competing risks: cumulative incidence per cause at landmark times (Aalen-Johansen, cmprsk::cuminc)",
        [
            ("Group", _group("group")),
            ("Cause", lambda r, k: words.cause(r["cause_label"])),
            ("Month", lambda r, k: number(r["time_months"], 0)),
            ("F(t) (95% CI)", lambda r, k: estimate_ci(r["cumulative_incidence"], r["lower"], r["upper"])),
            ("At risk", _count("n_at_risk")),
            ("Cause events so far", _count("n_events")),
        ],
    ),
    "v_competing_risks": (
        "Competing risks: Gray's test, cause-specific Cox and Fine-Gray subdistribution hazard ratios",
        [
            ("Cause", lambda r, k: words.cause(r["cause_label"])),
            ("Model", _model),
            ("Term", _term),
            ("n", _count("n")),
            ("Cause events", _count("events")),
            ("HR (95% CI)", lambda r, k: estimate_ci(r["hr"], r["hr_lower"], r["hr_upper"])),
            ("Chi-square (df)", lambda r, k: f"{number(r['statistic'])} ({r['df']})" if r["df"] is not None else ""),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _status),
        ],
    ),
    "v_hazard_ratios": (
        "Hazard ratios (Cox, Efron ties, Wald CI)",
        [
            ("Model", _model),
            ("Design", _text("design")),
            ("Term", _term),
            ("Reference", _group("reference")),
            ("n", _count("n")),
            ("Events", _count("events")),
            ("HR (95% CI)", lambda r, k: estimate_ci(r["hr"], r["hr_lower"], r["hr_upper"])),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _status),
        ],
    ),
    "v_iptw_hazard_ratios": (
        "IPTW-adjusted hazard ratios (stabilised weights, robust variance) with the E-value of unmeasured confounding",
        [
            ("Model", _model),
            ("Term", _term),
            ("n", _count("n")),
            ("Events", _count("events")),
            ("HR (95% CI)", lambda r, k: estimate_ci(r["hr"], r["hr_lower"], r["hr_upper"])),
            ("p", lambda r, k: p_value(r["p"])),
            ("Weighted log-rank p", lambda r, k: p_value(r["weighted_logrank_p"])),
            ("E-value (CI limit)", lambda r, k: f"{number(r['e_value'])} ({number(r['e_value_ci'])})"),
            ("Status", _status),
        ],
    ),
    "v_iptw_balance": (
        "Covariate balance before and after IPTW (standardised mean differences; above 0.1 is imbalanced)",
        [
            ("Model", _model),
            ("Term", _term),
            ("SMD unweighted", lambda r, k: number(r["smd_before"])),
            ("SMD weighted", lambda r, k: number(r["smd_after"])),
            ("Imbalanced after weighting", lambda r, k: "yes" if r["imbalanced_after"] else "no"),
        ],
    ),
    "v_iptw_positivity": (
        "IPTW positivity: propensity score range, overlap and weights per group",
        [
            ("Model", _model),
            ("Group", _group("group")),
            ("n", _count("n")),
            (
                "Propensity min / median / max",
                lambda r, k: " / ".join(number(r[c]) for c in ("ps_min", "ps_median", "ps_max")),
            ),
            ("Outside overlap", _count("n_outside_overlap")),
            ("Weights min–max", lambda r, k: f"{number(r['weight_min'])}–{number(r['weight_max'])}"),
            ("Extreme weights", _count("n_extreme_weights")),
            ("Effective n", lambda r, k: number(r["effective_n"], 1)),
        ],
    ),
    "v_ph_tests": (
        "Proportional-hazards tests (score test as R's cox.zph, Kaplan-Meier time scale)",
        [
            ("Model", _model),
            ("Term", _term),
            ("Chi-square", lambda r, k: number(r["statistic"])),
            ("df", _text("df")),
            ("p", lambda r, k: p_value(r["p"])),
            ("Status", _status),
        ],
    ),
    "v_rmst": (
        "Restricted mean survival time (months; area under the Kaplan-Meier curve up to tau)",
        [
            ("Group", _group("group")),
            ("Tau, months", lambda r, k: number(r["tau"], 0)),
            ("n", _count("n")),
            ("RMST (95% CI)", lambda r, k: estimate_ci(r["rmst"], r["lower"], r["upper"], 1)),
            ("Status", _status),
        ],
    ),
    "v_rmst_contrasts": (
        "RMST against the reference group (difference and ratio, survRM2's definitions)",
        [
            ("Group", _group("group")),
            ("Reference", _group("reference")),
            ("Tau, months", lambda r, k: number(r["tau"], 0)),
            (
                "Difference, months (95% CI)",
                lambda r, k: estimate_ci(r["difference"], r["difference_lower"], r["difference_upper"], 1),
            ),
            ("p (difference)", lambda r, k: p_value(r["difference_p"])),
            ("Ratio (95% CI)", lambda r, k: estimate_ci(r["ratio"], r["ratio_lower"], r["ratio_upper"])),
            ("p (ratio)", lambda r, k: p_value(r["ratio_p"])),
            ("Status", _status),
        ],
    ),
    "v_binary_outcomes": (
        "Binary outcome (Fisher's exact test)",
        [
            ("Group", _group("group")),
            ("Within, months", lambda r, k: number(r["within_months"], 0)),
            ("n", _count("n")),
            ("Outcome unknown", _count("n_missing")),
            ("Events", _count("events")),
            ("Proportion (95% CI)", lambda r, k: estimate_ci(r["proportion"], r["lower"], r["upper"])),
            ("p", lambda r, k: p_or_floor(r["p"], r["p_display"])),
            ("Status", _status),
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
            ("Response assessments", _count("responses")),
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
            ("Table", lambda r, k: words.table(r["table_name"])),
            ("Check", lambda r, k: _check(r["check_id"])),
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
    "v_cohort_flow",  # drawn as the section's flow diagram (pipelines/report/flow.py)
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
    return Table(
        caption,
        [c.replace("_", " ") for c in shown],
        [
            [_LABELLED[c](r, min_cell_count) if c in _LABELLED else cell(c, r[c], min_cell_count) for c in shown]
            for r in rows
        ],
    )


# Columns of a view without a layout that hold codes: shown in words all the same
_LABELLED: dict[str, Callable[[Row, int], str]] = {
    "group": _group("group"),
    "reference": _group("reference"),
    "model": _model,
    "term": _term,
    "variable": lambda r, k: MISSING if r["variable"] is None else words.variable(r["variable"]),
    "level": lambda r, k: MISSING if r["level"] is None else words.level(r["level"]),
    "cause_label": lambda r, k: MISSING if r["cause_label"] is None else words.cause(r["cause_label"]),
    "status": _status,
}


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


def _figures(plots_dir: Path, report_dir: Path, analysis_id: str, endpoint: str) -> list[Figure]:
    """The analysis's figures for one endpoint (``<id>_<endpoint>_<kind>.svg``), known kinds first.

    Referenced by relative path, not embedded: 70 figures inline (SVG or PNG) weigh 4-12 MB, the page without
    them a few hundred kB, and the browser loads each figure only as it scrolls into view.
    """
    prefix = f"{analysis_id}_{endpoint}_"
    kinds = {p.stem.removeprefix(prefix): p for p in plots_dir.glob(f"{prefix}*.svg")}
    order = [k for k in PLOT_CAPTIONS if k in kinds] + sorted(set(kinds) - set(PLOT_CAPTIONS))
    relative = lambda path: Path(os.path.relpath(path, report_dir)).as_posix()  # noqa: E731
    return [Figure(_caption(kind), relative(kinds[kind]), relative(kinds[kind].with_suffix(".png"))) for kind in order]


def table_one_table(con: duckdb.DuckDBPyConnection, analysis: Analysis, min_cell_count: int) -> Table | None:
    """Table 1 as a paper prints it: one row per characteristic (and level), one column per group."""
    rows = _rows(con, "SELECT * FROM published.v_table_one WHERE analysis_id = ?", [analysis.id])
    if not rows:
        return None
    groups = [*analysis.groups, "(all)"]
    labels = words.AnalysisLabels(analysis.id)
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
        label = words.variable(variable) if level is None else f"{words.variable(variable)}: {words.level(level)}"
        whole = by_group.get("(all)", first)
        missing = None if whole["n_missing_suppressed"] else whole["n_missing"]
        body.append(
            [
                label,
                *[value(by_group.get(g)) for g in groups],
                count(missing, min_cell_count),
                words.test(first["test"]) if first["test"] else "",
                p_or_floor(first["p"], first.get("p_display")),
                number(first.get("smd_max"), 2),
            ]
        )
    return Table(
        "Characteristics (Table 1): median (IQR) or n (%); SMD: largest standardised mean difference between groups",
        ["", *[labels.group(g) if g != "(all)" else "All" for g in groups], "Missing", "Test", "p", "SMD (max)"],
        body,
    )


def analysis_section(
    con: duckdb.DuckDBPyConnection,
    analysis: Analysis,
    views: dict[str, list[str]],
    plots_dir: Path,
    report_dir: Path,
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
            EndpointSection(
                endpoint,
                words.endpoint(endpoint),
                [t for t in tables if t],
                _figures(plots_dir, report_dir, analysis.id, endpoint),
            )
        )
    labels = words.AnalysisLabels(analysis.id)
    few = [
        (f"{words.endpoint(endpoint)}: {labels.group(group)}",)
        for endpoint, group in con.execute(
            'SELECT DISTINCT endpoint, "group" FROM published.v_survival_summary '
            "WHERE analysis_id = ? AND few_events ORDER BY ALL",
            [analysis.id],
        ).fetchall()
    ]
    limits = (
        _rows(con, "SELECT * FROM published.v_limits WHERE analysis_id = ? LIMIT 1", [analysis.id])
        if "v_limits" in views
        else []
    )
    return AnalysisSection(
        analysis,
        limits[0] if limits else {},
        [t for t in overall if t],
        endpoints,
        [f for (f,) in few],
        [labels.group(g) for g in analysis.groups],
        labels.group(analysis.reference),
        [words.endpoint(e) for e in analysis.endpoints],
        cohort_flow(con, analysis, min_cell_count) if "v_cohort_flow" in views else None,
    )
