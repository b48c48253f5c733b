"""The results views (small-count suppression) and the HTML report, on statistics of a small made-up cohort."""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.analyses import run_analysis
from pipelines.catalogue import Analysis
from pipelines.registry.ddl import create_registry
from pipelines.registry.results import replace_catalogue
from pipelines.report import render_report
from pipelines.report.formatting import count, estimate_ci, p_value
from pipelines.sql_models import define_settings, run_layer

ANALYSIS = Analysis(
    id="toy",
    title="Toy comparison of A and B",
    seed="000",
    endpoints=("OS",),
    groups=("A", "B"),
    reference="A",
    characteristics=("size_mm",),
    landmarks=(6.0, 12.0),
    confounders_not_held="everything",
)


@pytest.fixture
def con(settings):
    """A registry whose only results are one analysis: group A of 40 subjects, group B of 3 (a small cell)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "subject_id": [f"s{i}" for i in range(43)],
            "patient_id": [f"p{i}" for i in range(43)],
            "group_label": ["A"] * 40 + ["B"] * 3,
            "paramcd": "OS",
            "aval": rng.exponential(20, 43).round(1) + 0.1,
            "cnsr": rng.integers(0, 2, 43),
            "size_mm": rng.normal(60, 15, 43).round(),
        }
    )
    connection = duckdb.connect()
    create_registry(connection)
    connection.register("toy_frame", frame)
    connection.execute("CREATE TABLE analysis.toy AS SELECT * FROM toy_frame")
    define_settings(connection, settings.data_cutoff, settings.min_cell_count)
    run_analysis(connection, ANALYSIS, settings)
    replace_catalogue(connection, [ANALYSIS])
    run_layer(connection, "results")
    yield connection
    connection.close()


def test_counts_below_the_threshold_are_withheld_and_others_kept(con):
    rows = dict(con.execute('SELECT "group", n FROM published.v_survival_summary').fetchall())
    assert rows["B"] is None
    raw = dict(con.execute('SELECT "group", n FROM results.km_summary').fetchall())
    assert raw == {"A": 40, "B": 3}  # the internal table keeps the truth; only the published view hides it
    # A's 40 is withheld too: Table 1's (all) column publishes 43 subjects, and 43 - 40 would give B's 3 back
    assert con.execute("SELECT n, n_suppressed FROM published.v_survival_summary WHERE \"group\" = 'A'").fetchall() in (
        [(None, True)],
        [(40, False)],
    )
    at_risk = con.execute(
        "SELECT r.n_at_risk, v.n_at_risk, v.n_at_risk_suppressed FROM results.km_landmarks AS r "
        'JOIN published.v_survival_at_landmarks AS v ON v."group" = r."group" AND v.time_months = r.time '
        "WHERE r.\"group\" = 'B' AND r.n_at_risk > 0"
    ).fetchall()
    assert at_risk and all(published is None and flagged for _, published, flagged in at_risk)


def test_threshold_comes_from_the_settings(con, settings):
    run_analysis(con, ANALYSIS, dataclasses.replace(settings, min_cell_count=1000))  # every non-zero count is small
    assert con.execute(
        "SELECT bool_and(n IS NULL AND (events IS NULL OR events_suppressed)) FROM published.v_survival_summary"
    ).fetchone()[0]
    run_analysis(con, ANALYSIS, dataclasses.replace(settings, min_cell_count=1))  # 1: nothing is withheld
    assert not con.execute(
        "SELECT bool_or(n_suppressed OR events_suppressed OR censored_suppressed) FROM published.v_survival_summary"
    ).fetchone()[0]


def test_report_shows_every_analysis_with_suppressed_cells_marked(con, settings):
    report = render_report(con, [ANALYSIS], settings)
    assert ANALYSIS.title in report and "Not recorded by the registry, so not adjusted for: everything" in report
    assert "supp." in report and "&lt;5" not in report
    assert "Kaplan-Meier summary" in report and "Hazard ratios" in report and "Log-rank test" in report
    assert "Characteristics (Table 1)" in report and "size mm" in report and "size_mm" not in report
    assert report.count('loading="lazy"') == 2  # the KM curve and the forest plot of the one endpoint, as SVG files
    assert 'src="plots/toy_OS_km.svg"' in report  # relative to the report, so the folder moves as a whole


def test_formatting_reads_like_a_paper():
    assert count(None, 5) == "supp." and count(1234, 5) == "1,234"
    assert estimate_ci(12.34, 9.8, float("nan"), 1) == "12.3 (9.8–NR)"
    assert estimate_ci(None, None, None, missing="not reached") == "not reached"
    assert (p_value(0.0004), p_value(0.0456), p_value(None)) == ("<0.001", "0.046", "—")


def test_plots_print_small_numbers_at_risk_as_published(con, settings):
    """The KM figure's legend and at-risk row follow the same suppression as the views (group B has 3 subjects)."""
    from pipelines.stats import analyse_endpoint, km_figure

    frame = con.execute('SELECT group_label AS "group", aval AS time_months, 1 - cnsr AS event FROM analysis.toy').df()
    figure = km_figure(frame, analyse_endpoint(frame, reference_group="A"), min_cell_count=5)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert any("B (n=supp." in label for label in legend)
    row_b = [t.get_text() for t in figure.axes[0].texts]
    assert "At risk" in row_b and "supp." in row_b  # group B's row at time 0: 3 subjects
    assert "3" not in row_b


def test_every_published_view_is_listed_in_the_sql_readme_with_an_example_that_runs(con):
    """sql/README.md lists each ``published.v_*`` view the results layer makes, with a query an analyst can copy."""
    import re

    from pipelines.sql_models import SQL_DIR

    made = {
        name
        for path in (SQL_DIR / "results").glob("*.sql")
        for name in re.findall(r"CREATE OR REPLACE VIEW published\.(v_\w+)", path.read_text(encoding="utf-8"))
    }
    listed = dict(re.findall(r"^\| `(v_\w+)` \|.*\| `(SELECT [^`]+)` \|$", (SQL_DIR / "README.md").read_text(), re.M))
    assert made and sorted(made - set(listed)) == [] and sorted(set(listed) - made) == []
    for view, query in listed.items():
        assert f"published.{view}" in query
        con.execute(query).fetchall()  # binds: every column it names exists


def test_every_published_column_has_a_comment(con):
    """Analysts browsing the catalogue (DBeaver, duckdb_columns()) read what every published column holds."""
    from pipelines.registry.ddl import comment_models

    comment_models(con, "results")
    bare = con.execute(
        "SELECT table_name || '.' || column_name FROM duckdb_columns() "
        "WHERE schema_name = 'published' AND (comment IS NULL OR comment = '') ORDER BY 1"
    ).fetchall()
    assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'published'").fetchone()[0] > 100
    assert bare == []


def test_each_analysis_with_a_flow_draws_it_in_words_with_the_analysed_n_of_its_results(con, settings):
    # 52 registry patients: 6 left at step 1, none at step 2 (drawn with its 0), 3 at step 3, the toy's 43 analysed
    con.execute(
        "CREATE MACRO analysis.toy_flow_steps() AS "
        "['registry_patients', 'not_first_line_imatinib', 'no_progression', 'primary_resistance']"
    )
    con.execute(
        "CREATE VIEW analysis.toy_flow AS SELECT 1 AS excluded_step, 'not_first_line_imatinib' AS excluded_reason "
        "FROM range(6) UNION ALL SELECT 3, 'primary_resistance' FROM range(3) UNION ALL SELECT NULL, NULL FROM range(43)"
    )
    run_analysis(con, ANALYSIS, settings)
    run_layer(con, "results")
    flow = con.execute('SELECT kind, "group", n FROM published.v_cohort_flow ORDER BY step, kind').fetchall()
    assert flow[0] == ("cohort", None, 52) and [k for k, _, _ in flow].count("excluded") == 4
    assert ("excluded", None, 0) in flow  # the step that excludes nobody: published as 0, not withheld
    assert ("analysed", "A", 40) in flow  # the analysed n is the analysis's own
    assert ("analysed", "B", None) in flow  # B's 3, withheld as in the survival summary
    report = render_report(con, [ANALYSIS], settings)
    drawn = report[
        report.index('<figure class="flow"') : report.index("</figure>", report.index('<figure class="flow"'))
    ]
    assert "Patients in the registry: n = 52" in drawn
    assert "Excluded: No first-line imatinib for advanced disease recorded (n = " in drawn
    assert "Excluded: Primary resistance: progression as best response to imatinib" in drawn
    assert "Excluded: No progression recorded (n = 0)" in drawn
    assert (
        "Analysed, B: n = supp." in drawn and "Patients remaining: n = " in drawn and "patients at each step" in drawn
    )
    assert "primary_resistance" not in drawn and "not_first_line" not in drawn
