"""Registry tables, generated from the contract so the database cannot drift from it.

Schemas: ``raw`` (text as received; ``patient_id`` is the pseudonym, a UUID), ``core`` (typed, validated rows),
``audit`` (drops ledger, quarantine, issues), ``analysis`` (SQL views) and
``results`` (statistics written by the pipeline).
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.columns import PSEUDONYM_TYPE
from schemas.contract import CONTRACT, polars_schema

SCHEMAS = ("raw", "core", "audit", "analysis", "results")
DUCKDB_TYPE = {pl.Utf8: "VARCHAR", pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.Date: "DATE", pl.Boolean: "BOOLEAN"}
PROVENANCE = (
    "site_id VARCHAR NOT NULL, drop_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT NOT NULL"
)

AUDIT_TABLES = {
    "drops": """drop_id VARCHAR, site_id VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
        message VARCHAR, files JSON, row_counts JSON, extra_columns JSON, archive_path VARCHAR, profile_sha256 VARCHAR""",
    "quarantine": f"""{PROVENANCE}, table_name VARCHAR NOT NULL, check_id VARCHAR NOT NULL, column_name VARCHAR,
        message VARCHAR NOT NULL, all_messages VARCHAR[], raw_values JSON""",
    "issues": f"""{PROVENANCE}, table_name VARCHAR NOT NULL, check_id VARCHAR NOT NULL, category VARCHAR NOT NULL,
        severity VARCHAR NOT NULL, column_name VARCHAR, message VARCHAR NOT NULL, value VARCHAR""",
}


def column_type(name: str, dtype: pl.DataType, typed: bool) -> str:
    """The DuckDB type of a contract column in `core` (``typed``) or `raw`."""
    if name == "patient_id":  # the pseudonym, in both layers
        return PSEUDONYM_TYPE
    return DUCKDB_TYPE[dtype] if typed else "VARCHAR"


def _columns(table: str, typed: bool) -> str:
    return ", ".join(f"{name} {column_type(name, dtype, typed)}" for name, dtype in polars_schema(table).items())


def _pseudonyms_as_uuid(con: duckdb.DuckDBPyConnection) -> None:
    """Registries created before pseudonyms were UUIDs hold them as 32 hex characters, which cast losslessly."""
    text = con.execute(
        "SELECT schema_name, table_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name IN ('raw', 'core') AND list_contains(?, table_name) AND column_name = 'patient_id' "
        "AND data_type = 'VARCHAR'",
        [list(CONTRACT)],
    ).fetchall()
    for schema, table in text:
        con.execute(f"ALTER TABLE {schema}.{table} ALTER patient_id TYPE {PSEUDONYM_TYPE}")


def create_registry(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table that does not exist yet (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in CONTRACT:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS raw.{table} ({PROVENANCE}, parse_error VARCHAR, {_columns(table, typed=False)})"
        )
        con.execute(
            f"ALTER TABLE raw.{table} ADD COLUMN IF NOT EXISTS parse_error VARCHAR"
        )  # registries created before it existed
        con.execute(f"CREATE TABLE IF NOT EXISTS core.{table} ({PROVENANCE}, {_columns(table, typed=True)})")
    _pseudonyms_as_uuid(con)
    for name, columns in AUDIT_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS audit.{name} ({columns})")
    con.execute(
        "ALTER TABLE audit.drops ADD COLUMN IF NOT EXISTS profile_sha256 VARCHAR"
    )  # ledgers from before it existed
