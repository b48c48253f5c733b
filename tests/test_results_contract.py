"""The results contract (schemas/results.py): it types the tables, refuses frames that differ, and documents itself."""

import re

import duckdb
import pandas as pd
import pytest

from pipelines.registry.ddl import create_registry
from pipelines.registry.results import replace_tables
from pipelines.sql_models import model_files
from schemas.results import DOCS_PATH, RESULTS, declare, render


def test_committed_results_dictionary_is_current():
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), "run: uv run python -m schemas.results"


def test_declared_readers_are_the_views_that_read_each_table():
    """Parsed from the SQL: a view reads the tables it names after FROM or JOIN, and those of the table macros it calls."""
    statements = [
        statement
        for path in model_files("results")
        for statement in re.split(r"(?=CREATE OR REPLACE (?:VIEW|MACRO))", path.read_text(encoding="utf-8"))
    ]
    macros = {
        macro.group(1): set(re.findall(r"(?:FROM|JOIN) results\.(\w+)\b(?!\()", statement))
        for statement in statements
        if (macro := re.match(r"CREATE OR REPLACE MACRO results\.(\w+)\(\) AS TABLE", statement))
    }
    assert macros, "the suppression's table macros are not found: the parsing is stale"
    readers: dict[str, set[str]] = {}
    for statement in statements:
        view = re.match(r"CREATE OR REPLACE VIEW \w+\.(v_\w+)", statement)
        if not view:
            continue
        read = set(re.findall(r"(?:FROM|JOIN) results\.(\w+)\b(?!\()", statement))
        for macro in re.findall(r"(?:FROM|JOIN) results\.(\w+)\(\)", statement):
            read |= macros[macro]
        for table in read:
            readers.setdefault(table, set()).add(view.group(1))
    assert {t.name: set(t.views) for t in RESULTS.values() if t.views} == readers


@pytest.fixture
def registry_con():
    con = duckdb.connect()
    create_registry(con)
    yield con
    con.close()


def test_tables_take_their_types_from_the_declaration(registry_con):
    types = dict(
        registry_con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'results' AND table_name = 'cox'"
        ).fetchall()
    )
    assert types["n_clusters"] == "BIGINT" and types["hr"] == "DOUBLE" and types["n_suppressed"] == "BOOLEAN"
    assert (
        registry_con.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'results' AND table_name = 'km_curve'"
        )
        .fetchone()[0]
        .startswith("Grain: one step of the Kaplan-Meier curve")
    )


def _limits_row(**extra: object) -> pd.DataFrame:
    row = {c: "x" for c in RESULTS["limits"].column_names} | {"analysis_id": "a1", "endpoint": "OS"}
    return pd.DataFrame([row | extra])


def test_a_frame_with_an_undeclared_column_is_refused_naming_table_and_column(registry_con):
    assert replace_tables(registry_con, "a1", {"limits": [_limits_row()]}) == {"limits": 1}
    with pytest.raises(ValueError, match=r"results\.limits: .*undeclared \['surprise'\]"):
        replace_tables(registry_con, "a1", {"limits": [_limits_row(surprise=1)]})
    with pytest.raises(ValueError, match=r"results\.limits: .*missing \['footnote'\]"):
        replace_tables(registry_con, "a1", {"limits": [_limits_row().drop(columns="footnote")]})
    assert registry_con.execute("SELECT count(*) FROM results.limits").fetchone() == (1,)  # the good rows stay


def test_a_table_whose_declaration_changed_is_rebuilt(registry_con):
    registry_con.execute("DROP TABLE results.logrank")
    registry_con.execute("CREATE TABLE results.logrank (analysis_id VARCHAR, endpoint VARCHAR, old BIGINT)")
    create_registry(registry_con)
    columns = [c[0] for c in registry_con.execute("DESCRIBE results.logrank").fetchall()]
    assert columns == RESULTS["logrank"].column_names


def test_a_declaration_must_say_what_every_column_means():
    with pytest.raises(ValueError, match=r"results\.new: columns without a meaning \['b'\]"):
        declare("new", ("analysis_id",), "thing", {"a": "string", "b": "float64"}, {"a": "A."})


def test_a_frame_with_two_rows_for_one_subject_and_endpoint_breaks_its_grain():
    from pipelines.registry.integrity import FRAME_GRAIN, describe_grain, grain_problems

    con = duckdb.connect()
    con.execute("CREATE SCHEMA analysis")
    con.execute(
        "CREATE VIEW analysis.bad AS SELECT * FROM (VALUES ('s1', 'OS', 3.0), ('s1', 'PFS', 2.0), ('s1', 'OS', 4.0), "
        "('s2', 'OS', NULL)) AS t(subject_id, paramcd, time_months)"
    )
    con.execute(
        "CREATE VIEW analysis.good AS SELECT * FROM analysis.bad WHERE time_months <> 4.0 OR time_months IS NULL"
    )
    problems = grain_problems(con, {"analysis.bad": FRAME_GRAIN, "analysis.good": FRAME_GRAIN})
    assert [(p["relation"], p["duplicated_keys"]) for p in problems] == [("analysis.bad", 1)]
    assert "analysis.bad has 1 duplicated (subject_id, paramcd), e.g. {'subject_id': s1, 'paramcd': OS}" == (
        describe_grain(problems)
    )


def test_every_results_table_and_frame_of_the_sample_registry_holds_its_grain(registry):
    from pipelines.catalogue import load_catalogue
    from pipelines.registry.integrity import FRAME_GRAIN, grain_problems

    con, _ = registry
    grains = {f"results.{t.name}": t.grain for t in RESULTS.values()} | {a.frame: FRAME_GRAIN for a in load_catalogue()}
    assert grain_problems(con, grains) == []
    assert con.execute("SELECT count(*) FROM results.km_summary").fetchone()[0] > 0
    missing = con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND NOT internal AND comment IS NULL ORDER BY ALL"
    ).fetchall()
    assert missing == []  # every column of every schema: raw, core, audit, intermediate, analysis, results, published


def test_every_sql_model_states_its_grain():
    for layer in ("core", "analysis", "results"):
        for path in model_files(layer):
            header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("--")]
            assert any(re.match(r"-- .*\bgrain:", line, re.IGNORECASE) for line in header), f"sql/{layer}/{path.name}"
