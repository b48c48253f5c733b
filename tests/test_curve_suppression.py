"""Step functions are withheld for a group with any withheld count, in every curve view alike.

Hand-written results rows: group "x" has every Kaplan-Meier count publishable, but 2 of its deaths
are from another cause.  Its all-cause curve beside its GIST-death curve would give those 2 back by
subtraction, so neither curve of "x" is published; group "y" keeps both.  The IPTW-weighted curves follow the
same rule on their own tables.
"""

from __future__ import annotations

import duckdb

from pipelines.registry.ddl import create_registry
from pipelines.sql_models import define_settings, run_layer
from tests.conftest import insert_results

K = 5
KEYS = {"analysis_id": "hand", "endpoint": "OS"}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    insert_results(con, table, [{**KEYS, **row} for row in rows])


def test_a_group_with_a_withheld_cause_count_publishes_neither_curve() -> None:
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, None, K)
    for group in ("x", "y"):
        _insert(con, "km_summary", [{"group": group, "n": 30, "events": 12, "censored": 18}])
        _insert(
            con,
            "km_curve",
            [
                {"group": group, "time": t, "n_at_risk": n, "survival": s, "lower": s - 0.1, "upper": s + 0.05}
                for t, n, s in ((0.0, 30, 1.0), (3.0, 28, 0.9), (8.0, 20, 0.7))
            ],
        )
        other_deaths = 2 if group == "x" else 6
        for cause, events, suppressed in ((1, 12 - other_deaths, False), (2, other_deaths, other_deaths < K)):
            _insert(
                con,
                "cumulative_incidence",
                [
                    {"group": group, "cause": cause, "cause_label": f"cause {cause}", "kind": kind, "time": 8.0,
                     "n_at_risk": 20, "n_events": events, "n_events_suppressed": suppressed and kind == "landmark",
                     "n_at_risk_suppressed": False, "cumulative_incidence": 0.1, "lower": 0.05, "upper": 0.2}
                    for kind in ("landmark", "curve")
                ],
            )  # fmt: skip
    run_layer(con, "results")
    km = {g for (g,) in con.execute('SELECT DISTINCT "group" FROM published.v_km_curve').fetchall()}
    cif = {g for (g,) in con.execute('SELECT DISTINCT "group" FROM published.v_cumulative_incidence_curve').fetchall()}
    assert km == cif == {"y"}
    assert con.execute(
        "SELECT n_events, n_events_suppressed FROM published.v_cumulative_incidence WHERE \"group\" = 'x' AND cause = 2"
    ).fetchall() == [(None, True)]


def test_a_weighted_curve_is_withheld_for_a_small_group_and_below_k_weights_at_risk() -> None:
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, None, K)
    for group, n in (("treated", 3), ("reference", 40)):
        _insert(con, "iptw_positivity", [{"group": group, "model": "iptw", "n": n, "n_suppressed": n < K}])
        _insert(
            con,
            "iptw_km_curve",
            [
                {"group": group, "model": "iptw", "time": t, "weighted_at_risk": at_risk, "survival": 0.9, "lower": 0.8, "upper": 1.0}
                for t, at_risk in ((1.0, 30.0), (4.0, 6.2), (9.0, 4.9))
            ],
        )  # fmt: skip
    run_layer(con, "results")
    assert con.execute('SELECT "group", time FROM published.v_iptw_km_curve ORDER BY time').fetchall() == [
        ("reference", 1.0),
        ("reference", 4.0),
    ]
