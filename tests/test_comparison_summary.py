"""The report's opening answer, from hand-written results rows: which estimate leads, what qualifies it."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.registry.ddl import create_registry
from pipelines.report.summary import summary_rows
from pipelines.sql_models import define_settings, run_layer
from tests.conftest import insert_results

K = 5


def _cox(analysis: str, model: str, hr: float, p: float, **extra) -> dict:
    return {
        "analysis_id": analysis, "endpoint": "OS", "model": model, "term": "group=b", "variable": "group",
        "level": "b", "reference": "a", "n": 60, "events": 30, "hr": hr, "hr_lower": hr / 2, "hr_upper": hr * 2,
        "p": p, "status": "ok", **extra,
    }  # fmt: skip


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, None, K)
    insert_results(
        con,
        "analyses",
        [
            {"id": "plain", "title": "B vs A, as grouped"},
            {"id": "weighted", "title": "B vs A, IPTW declared"},
            {"id": "exposure", "title": "Exposed vs not", "exposure": "surgery_months", "primary": "time_varying"},
        ],
    )
    insert_results(con, "cox", [_cox("plain", "univariable", 2.0, 0.01), _cox("plain", "multivariable", 1.5, 0.2)])
    insert_results(
        con, "cox", [_cox("weighted", "univariable", 3.0, 0.001), _cox("weighted", "multivariable", 2.5, 0.01)]
    )
    insert_results(con, "iptw_cox", [_cox("weighted", "iptw", 1.8, 0.04)])
    insert_results(
        con,
        "iptw_positivity",
        [
            {
                "analysis_id": "weighted",
                "endpoint": "OS",
                "model": "iptw",
                "group": g,
                "n": 30,
                "n_extreme_weights": 0,
                "n_outside_overlap": outside,
            }
            for g, outside in (("a", 1), ("b", 4))
        ],
    )  # 4 of 30 outside the overlap: more than 10 %
    naive = {
        **_cox("exposure", "naive", 0.6, 0.0004),
        "term": "group=exposed",
        "level": "exposed",
        "reference": "unexposed",
    }
    insert_results(con, "immortal_time", [naive, {**naive, "model": "time_varying", "hr": 0.9, "p": 0.5}])
    insert_results(con, "ph_test", [
        {"analysis_id": "plain", "endpoint": "OS", "model": "multivariable", "term": "GLOBAL", "p": 0.01, "status": "ok"},
        {"analysis_id": "weighted", "endpoint": "OS", "model": "univariable", "term": "GLOBAL", "p": 0.6, "status": "ok"},
    ])  # fmt: skip
    insert_results(con, "km_summary", [
        {"analysis_id": a, "endpoint": "OS", "group": g, "n": 30, "events": 3 if (a, g) == ("exposure", "b") else 15,
         "censored": 15, "few_events": (a, g) == ("exposure", "b"), "n_suppressed": False,
         "events_suppressed": (a, g) == ("exposure", "b"), "censored_suppressed": False}
        for a in ("plain", "weighted", "exposure") for g in ("a", "b")
    ])  # fmt: skip
    run_layer(con, "results")
    return con


def test_the_primary_estimate_leads_and_the_naive_one_stands_beside_it(con) -> None:
    rows = {r.analysis_id: r for r in summary_rows(con, K)}
    assert [r.analysis_id for r in summary_rows(con, K)] == ["plain", "weighted", "exposure"]  # catalogue order
    assert rows["plain"].primary_design == "primary: multivariable Cox" and rows["plain"].primary.startswith(
        "HR 1.50 (0.75–3.00)"
    )
    assert rows["plain"].naive == "HR 2.00 (1.00–4.00), p = 0.010" and rows["plain"].naive_design == "unadjusted"
    assert rows["weighted"].primary_design == "primary: IPTW-adjusted" and rows["weighted"].primary.startswith(
        "HR 1.80"
    )
    assert rows["exposure"].primary_design == "primary: time-varying surgery" and rows["exposure"].primary.startswith(
        "HR 0.90"
    )
    assert rows["exposure"].naive == "HR 0.60 (0.30–1.20), p < 0.001"
    assert rows["exposure"].naive_design == "naive: immortal-time biased"


def test_the_light_names_what_qualifies_the_answer(con) -> None:
    rows = {r.analysis_id: r for r in summary_rows(con, K)}
    assert rows["plain"].light == "red" and rows["plain"].reasons[0].startswith("proportional hazards rejected")
    assert rows["weighted"].light == "red" and rows["weighted"].reasons[0].startswith("IPTW positivity")
    assert rows["exposure"].light == "amber"
    assert rows["exposure"].reasons == [
        "a group with fewer than 10 events",
        "counts withheld (small-count suppression)",
    ]
    assert "b: n = 30, supp. events" in rows["exposure"].groups  # withheld as published


def test_the_forest_plot_labels_every_comparison_and_both_estimates(con) -> None:
    from pipelines.report.forest import summary_forest_figure, svg_markup

    rows = summary_rows(con, K)
    figure = summary_forest_figure(rows)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in rows]  # top to bottom as the table
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["primary estimate", "naive or unadjusted estimate"]
    primary, naive = (c for c in ax.containers)
    assert sorted(primary.lines[0].get_xdata()) == sorted(r.primary_ci[0] for r in rows)
    assert sorted(naive.lines[0].get_xdata()) == sorted(r.naive_ci[0] for r in rows)
    svg = svg_markup(figure)
    assert svg.startswith("<svg") and all(f">{r.label}</text>" in svg for r in rows)


def test_the_wide_table_one_prints_each_group_in_its_column_as_the_report_does(con) -> None:
    """Hand-written Table 1 rows of the catalogue's groups focal / multifocal: one row per characteristic and level,
    the cell as printed, a withheld count as supp., and every catalogue group has its column."""
    from pipelines.catalogue import load_catalogue

    def row(variable, level, group, kind, **values):
        flags = {"n_suppressed": False, "n_missing_suppressed": False, "count_suppressed": False}
        return {
            "analysis_id": "pattern",
            "variable": variable,
            "level": level,
            "group": group,
            "kind": kind,
            "n_missing": 0,
            "test": "fisher_exact",
            "p": 0.5,
            "smd_max": 0.2,
            **flags,
            **values,
        }

    insert_results(con, "table_one", [
        row("age", None, "focal", "continuous", n=20, median=61.0, q1=55.5, q3=70.25, test="mann_whitney"),
        row("age", None, "multifocal", "continuous", n=3, n_suppressed=True, median=50.0, q1=45.0, q3=52.0),
        row("age", None, "(all)", "continuous", n=23, median=60.0, q1=52.0, q3=69.0),
        row("sex", "male", "focal", "categorical", n=20, count=12, percent=60.0),
        row("sex", "male", "multifocal", "categorical", n=3, count=2, count_suppressed=True, percent=66.7),
        row("sex", "male", "(all)", "categorical", n=23, count=14, percent=60.9),
    ])  # fmt: skip
    run_layer(con, "results")
    columns = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE published.v_table_one_wide)").fetchall()]
    assert {g for a in load_catalogue() for g in a.groups} <= set(columns)
    rows = con.execute(
        "SELECT variable, level, focal, multifocal, all_groups, imatinib_alone FROM published.v_table_one_wide "
        "WHERE analysis_id = 'pattern' ORDER BY variable"
    ).fetchall()
    assert rows == [
        ("age", None, "61.0 (55.5–70.2)", "n supp.", "60.0 (52.0–69.0)", None),
        ("sex", "male", "12 (60%)", "supp.", "14 (61%)", None),
    ]
