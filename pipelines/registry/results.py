"""Write statistics to ``results.*``: one table per kind of result, rows keyed by analysis and endpoint.

Results are derived data, so an analysis's rows are simply replaced on every
refresh; a table whose columns changed with the code is rebuilt.
"""

from __future__ import annotations

import dataclasses

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


def replace_results(con: duckdb.DuckDBPyConnection, analysis_id: str, per_endpoint: dict[str, object]) -> dict[str, int]:
    """Store every DataFrame field of each endpoint's result dataclass; returns rows per table."""
    tables: dict[str, list[pd.DataFrame]] = {}
    for endpoint, result in per_endpoint.items():
        for field in dataclasses.fields(result):
            frame = getattr(result, field.name)
            if isinstance(frame, pd.DataFrame):
                keyed = frame.copy()
                keyed.insert(0, "endpoint", endpoint)
                keyed.insert(0, "analysis_id", analysis_id)
                tables.setdefault(field.name, []).append(keyed)
    with transaction(con):
        for table, frames in tables.items():
            _write(con, table, pd.concat(frames, ignore_index=True), analysis_id)
    return {table: sum(len(f) for f in frames) for table, frames in tables.items()}


def replace_catalogue(con: duckdb.DuckDBPyConnection, analyses: list) -> int:
    """``results.analyses``: the catalogue entries the results came from, so the database explains itself."""
    frame = pd.DataFrame([dataclasses.asdict(a) for a in analyses])
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, tuple)).any():
            frame[column] = frame[column].map(list)
    with transaction(con):
        con.register("_catalogue", frame)
        try:
            con.execute("CREATE OR REPLACE TABLE results.analyses AS SELECT * FROM _catalogue")
        finally:
            con.unregister("_catalogue")
    return len(frame)
