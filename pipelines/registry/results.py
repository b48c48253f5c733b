"""Write statistics to ``results.*``: one table per kind of result, rows keyed by analysis and endpoint.

Callers pass frames whose leading columns are the keys (``analysis_id``, ``endpoint``), e.g. from
``EndpointResults.tables(analysis_id=..., endpoint=...)``; ``endpoint`` is NULL for per-analysis
tables such as Table 1.

Results are derived data, so an analysis's rows are simply replaced on every refresh. The tables are
created from their declaration in ``schemas/results.py`` (``pipelines/registry/ddl.py``); a frame whose
columns differ from it is refused, naming the table and the columns.
"""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pandas as pd

from pipelines.registry.store import transaction
from schemas.results import RESULTS


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, analysis_id: str) -> None:
    """Replace the analysis's rows; the frame must carry exactly the declared columns (schemas/results.py)."""
    check_columns(table, list(frame.columns))
    con.register("_result", frame)
    try:
        con.execute(f"DELETE FROM results.{table} WHERE analysis_id = ?", [analysis_id])
        con.execute(f"INSERT INTO results.{table} BY NAME SELECT * FROM _result")
    finally:
        con.unregister("_result")


def check_columns(table: str, columns: list[str]) -> None:
    """Raise naming the table and the columns when a frame differs from the table's declaration."""
    if table not in RESULTS:
        raise ValueError(f"results.{table}: not declared in schemas/results.py")
    declared = RESULTS[table].column_names
    if columns != declared:
        extra = [c for c in columns if c not in declared]
        missing = [c for c in declared if c not in columns]
        raise ValueError(
            f"results.{table}: columns differ from schemas/results.py: undeclared {extra}, missing {missing}"
            + ("" if extra or missing else f", order {columns} instead of {declared}")
        )


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
    check_columns("analyses", list(frame.columns))
    with transaction(con):
        con.register("_catalogue", frame)
        try:
            con.execute("DELETE FROM results.analyses")
            con.execute("INSERT INTO results.analyses BY NAME SELECT * FROM _catalogue")
        finally:
            con.unregister("_catalogue")
    return len(frame)
