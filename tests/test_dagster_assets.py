"""The Dagster graph at table grain: each registry table its own asset key, its column schema the table's own."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
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
    checks = {key.asset_key: key for key in defs.resolve_asset_graph().asset_check_keys}
    for table in CONTRACT:
        assert [dep.asset_key for dep in graph[dg.AssetKey(["core", table])].deps] == [dg.AssetKey(["raw", table])]
        check = checks[dg.AssetKey(["core", table])]
        assert check.name == "every_line_accounted_for"
        assert defs.resolve_asset_graph().get_check_spec(check).blocking
