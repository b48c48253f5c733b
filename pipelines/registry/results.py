"""Write statistics to ``results.*``: one table per kind of result, rows keyed by analysis and endpoint.

Callers pass frames whose leading columns are the keys (``analysis_id``, ``endpoint``), e.g. from
``EndpointResults.tables(analysis_id=..., endpoint=...)``; ``endpoint`` is NULL for per-analysis
tables such as Table 1.

Results are derived data, so an analysis's rows are simply replaced on every
refresh; a table whose columns changed with the code is rebuilt.
"""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pandas as pd

from pipelines.registry.store import transaction


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, analysis_id: str) -> None:
    con.register("_result", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS results.{table} AS SELECT * FROM _result LIMIT 0")
        existing = [c[0] for c in con.execute(f"DESCRIBE results.{table}").fetchall()]
        if existing != list(frame.columns):
            con.execute(f"DROP TABLE results.{table}")
            con.execute(f"CREATE TABLE results.{table} AS SELECT * FROM _result LIMIT 0")
        con.execute(f"DELETE FROM results.{table} WHERE analysis_id = ?", [analysis_id])
        con.execute(f"INSERT INTO results.{table} BY NAME SELECT * FROM _result")
    finally:
        con.unregister("_result")


def replace_tables(
    con: duckdb.DuckDBPyConnection, analysis_id: str, tables: dict[str, list[pd.DataFrame]]
) -> dict[str, int]:
    """Replace an analysis's rows in ``results.<table>`` by the given frames (already keyed), in one transaction.

    Every frame must start with the key columns ``analysis_id`` and ``endpoint``; returns rows per table.
    """
    for table, frames in tables.items():
        for frame in frames:
            if list(frame.columns[:2]) != ["analysis_id", "endpoint"]:
                raise ValueError(
                    f"results.{table}: frames must start with analysis_id, endpoint (got {list(frame.columns[:2])})"
                )
    keys = {"analysis_id": "string", "endpoint": "string"}  # typed even when empty or all NULL (Table 1's endpoint)
    with transaction(con):
        for table, frames in tables.items():
            _write(con, table, pd.concat(frames, ignore_index=True).astype(keys), analysis_id)
    return {table: sum(len(f) for f in frames) for table, frames in tables.items()}


def replace_catalogue(con: duckdb.DuckDBPyConnection, analyses: list) -> int:
    """``results.analyses``: the catalogue entries the results came from, so the database explains itself."""
    frame = pd.DataFrame([dataclasses.asdict(a) for a in analyses])
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, tuple)).any():
            frame[column] = frame[column].map(list)
        if frame[column].map(lambda v: isinstance(v, dict)).any():  # e.g. exposure_split: JSON text, keys differ
            frame[column] = frame[column].map(lambda v: None if v is None else json.dumps(v))
    with transaction(con):
        con.register("_catalogue", frame)
        try:
            con.execute("CREATE OR REPLACE TABLE results.analyses AS SELECT * FROM _catalogue")
        finally:
            con.unregister("_catalogue")
    return len(frame)
