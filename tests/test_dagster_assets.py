"""The Dagster graph at table grain: each registry table its own asset key, its column schema the table's own."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
from pipelines.ingest.checks import checks_for_table
from pipelines.registry.ddl import create_registry
from schemas.contract import CONTRACT


@pytest.fixture(scope="module")
def graph() -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


@pytest.mark.parametrize("layer", ["raw", "core"])
def test_each_contract_table_is_an_asset_whose_schema_is_the_tables_columns(graph, layer) -> None:
    con = duckdb.connect()
    create_registry(con)
    for table in CONTRACT:
        spec = graph[dg.AssetKey([layer, table])]
        schema = spec.metadata["dagster/column_schema"]
        stored = con.execute(f"DESCRIBE {layer}.{table}").fetchall()
        declared = [(c.name, c.type) for c in schema.columns]
        # raw also holds parse_error (the line's structural error), which is no contract column
        assert declared == [(name, kind) for name, kind, *_ in stored if name != "parse_error"], f"{layer}.{table}"
        assert all(c.description for c in schema.columns) and spec.description.startswith(f"`{layer}.{table}`")


def test_core_tables_descend_from_their_raw_table_and_carry_a_blocking_accounting_check(graph) -> None:
    checks = defs.resolve_asset_graph().asset_check_keys
    for table in CONTRACT:
        assert [dep.asset_key for dep in graph[dg.AssetKey(["core", table])].deps] == [dg.AssetKey(["raw", table])]
        check = dg.AssetCheckKey(dg.AssetKey(["core", table]), "every_line_accounted_for")
        assert check in checks and defs.resolve_asset_graph().get_check_spec(check).blocking
        quality = {key.name for key in checks if key.asset_key == check.asset_key} - {check.name}
        assert quality == {c.check_id.replace(".", "__") for c in checks_for_table(table)}


def test_each_results_table_is_an_asset_typed_by_the_results_contract_and_fed_by_the_frames_that_reach_it(graph):
    from pipelines.catalogue import load_catalogue
    from schemas.results import RESULTS

    con = duckdb.connect()
    create_registry(con)
    for table in RESULTS:
        spec = graph[dg.AssetKey(["results", table])]
        stored = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE results.{table}").fetchall()]
        assert [(c.name, c.type) for c in spec.metadata["dagster/column_schema"].columns] == stored, table
        assert spec.description.startswith(f"`results.{table}`: one row per {RESULTS[table].row}")
    frames = {dg.AssetKey(["analysis", a.id]): a for a in load_catalogue()}
    assert {dep.asset_key for dep in graph[dg.AssetKey(["results", "km_summary"])].deps} == set(frames)
    iptw = {dep.asset_key for dep in graph[dg.AssetKey(["results", "iptw_cox"])].deps}
    assert iptw == {key for key, a in frames.items() if a.adjust} and iptw < set(frames)


def test_sql_lineage_follows_the_files_from_and_join(graph):
    def deps(*path: str) -> set[str]:
        return {dep.asset_key.to_user_string() for dep in graph[dg.AssetKey(list(path))].deps}

    # through a file's helper views and the time_to_event and flow_patients macros, which are no assets of their own
    assert deps("analysis", "mutation_exon9_dose") == {
        "analysis/mutation",
        "core/progressions",
        "intermediate/int_follow_up",
        "intermediate/int_patient_characteristics",  # its cohort flow starts from every registry patient
    }
    assert deps("intermediate", "int_progression_context") == {"core/progressions", "intermediate/int_tki_lines"}
    assert deps("published", "v_competing_risks") == {"results/competing_cox", "results/gray_test"}
    assert deps("published", "v_registry_sites") == {f"core/{t}" for t in CONTRACT}  # audit.* is no asset
    assert {"published/v_hazard_ratios", "analysis/mutation", "core/patients"} <= deps("published_copy")


def test_a_sql_model_reading_a_relation_that_is_neither_model_nor_table_is_refused(monkeypatch, tmp_path):
    from pipelines import sql_models
    from pipelines.defs.tables import sql_assets

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "10_v_x.sql").write_text(
        "-- grain: one thing.\n-- from results.ghost in a comment is not read\n"
        "CREATE OR REPLACE VIEW published.v_x AS\nSELECT * FROM results.cox c\n  join Results.typo t USING (term);\n"
    )
    monkeypatch.setattr(sql_models, "SQL_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"results\.typo is read by a SQL model"):
        sql_assets("results")
