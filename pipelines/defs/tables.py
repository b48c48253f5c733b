"""Asset specs at table grain: one asset key per registry table, its column schema and description from the contract.

Dagster shows each table as its own node (``raw/patients``, ``core/patients``, ...) with the
columns, types and meanings of ``schemas/contract.py``, so lineage and checks attach to a table,
not to the step that happens to write several.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.columns import PSEUDONYM_TYPE
from pipelines.registry.ddl import DUCKDB_TYPE, PROVENANCE_COMMENTS
from schemas.contract import CONTRACT, polars_schema

COLUMN_SCHEMA = "dagster/column_schema"
ROW_COUNT = "dagster/row_count"


def contract_schema(table: str, *, as_received: bool = False) -> dg.TableSchema:
    """The contract table's DuckDB columns (raw: every value as text, as received) after the provenance columns."""
    required = dg.TableColumnConstraints(nullable=False)
    columns = [
        dg.TableColumn(name, "BIGINT" if name == "line_number" else "VARCHAR", description=text, constraints=required)
        for name, text in PROVENANCE_COMMENTS.items()
    ]
    types = polars_schema(table)
    for name, column in CONTRACT[table].to_schema().columns.items():
        stored = PSEUDONYM_TYPE if name == "patient_id" else "VARCHAR" if as_received else DUCKDB_TYPE[types[name]]
        columns.append(
            dg.TableColumn(
                name,
                stored,
                description=f"{column.description}{' (as received)' if as_received else ''}",
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable or as_received)),
            )
        )
    return dg.TableSchema(columns=columns)


def table_specs(layer: str, **spec: object) -> list[dg.AssetSpec]:
    """One spec per contract table in ``layer`` (``raw`` or ``core``), e.g. ``core/patients``."""
    return [
        dg.AssetSpec(
            dg.AssetKey([layer, table]),
            description=(
                f"`{layer}.{table}`: {CONTRACT[table].__doc__.strip()}"
                + (" Every value as received, as text, with file and line provenance." if layer == "raw" else "")
            ),
            metadata={COLUMN_SCHEMA: contract_schema(table, as_received=layer == "raw")},
            **spec,
        )
        for table in CONTRACT
    ]


def site_row_counts(con: duckdb.DuckDBPyConnection, layer: str, site_id: str) -> dict[str, int]:
    """Rows per contract table of ``layer`` held for one site (the partition's row count in Dagster)."""
    return {
        table: con.execute(f"SELECT count(*) FROM {layer}.{table} WHERE site_id = ?", [site_id]).fetchall()[0][0]
        for table in CONTRACT
    }
