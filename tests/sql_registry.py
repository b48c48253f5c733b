"""A registry in memory from contract-shaped tables, with the SQL layers built over it (for SQL tests)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import polars as pl

from pipelines.registry.ddl import create_registry
from pipelines.sql_models import define_settings, run_layer
from schemas.contract import polars_schema


def sql_registry(tables: dict[str, pl.DataFrame | list[dict]], cutoff: dt.date) -> duckdb.DuckDBPyConnection:
    """Core tables holding the given rows (missing contract columns are NULL), then the core and analysis layers.

    Rows may be polars frames in the contract's types (the fixtures generator's) or lists of dicts
    naming only the columns a test cares about; provenance columns are filled in.
    """
    con = duckdb.connect()
    create_registry(con)
    for table, rows in tables.items():
        # readable ids ("P_SURG") name the patients in assertions; the SQL treats the pseudonym (a UUID in the
        # registry) only as a key, and the end-to-end tests run the same layers on real pseudonyms
        con.execute(f"ALTER TABLE core.{table} ALTER patient_id TYPE VARCHAR")
        schema = polars_schema(table)
        frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows, schema={c: schema[c] for c in rows[0]})
        frame = frame.with_columns(
            [pl.lit(None, dtype=d).alias(c) for c, d in schema.items() if c not in frame.columns]
        )
        frame = frame.select(list(schema)).with_columns(
            site_id=pl.lit("site"),
            drop_id=pl.lit("drop"),
            source_file=pl.lit(f"{table}.csv"),
            line_number=pl.int_range(2, pl.len() + 2, dtype=pl.Int64),
        )
        con.register("_rows", frame.to_arrow())
        con.execute(f"INSERT INTO core.{table} BY NAME SELECT * FROM _rows")
        con.unregister("_rows")
    define_settings(con, cutoff, min_cell_count=5)
    run_layer(con, "core")
    run_layer(con, "analysis")
    return con


def frame_rows(con: duckdb.DuckDBPyConnection, view: str, paramcd: str | None = None) -> pd.DataFrame:
    """The rows of an analysis view (one PARAMCD), indexed by subject."""
    where = f" WHERE paramcd = '{paramcd}'" if paramcd else ""
    return con.execute(f"SELECT * FROM {view}{where} ORDER BY subject_id").df().set_index("subject_id")
