"""Run the SQL models in ``sql/`` layer by layer (core -> analysis -> results)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("core", "analysis", "results")


def model_files(layer: str) -> list[Path]:
    return sorted((SQL_DIR / layer).glob("*.sql"))


def define_settings(con: duckdb.DuckDBPyConnection, cutoff: dt.date | None, min_cell_count: int) -> None:
    """The configuration the SQL models read, as macros, so a model never hard-codes it.

    ``core.data_cutoff()`` is the configured cut-off date (today when none is set);
    ``results.min_cell_count()`` is the smallest count the results views publish.
    """
    value = f"DATE '{cutoff.isoformat()}'" if cutoff else "current_date"
    con.execute(f"CREATE OR REPLACE MACRO core.data_cutoff() AS {value}")
    con.execute(f"CREATE OR REPLACE MACRO results.min_cell_count() AS {int(min_cell_count)}")


def run_layer(con: duckdb.DuckDBPyConnection, layer: str) -> list[str]:
    """Execute every model of ``layer``; returns the files run, for metadata."""
    ran = []
    for path in model_files(layer):
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as err:
            raise RuntimeError(f"sql/{layer}/{path.name}: {err}") from err
        ran.append(f"sql/{layer}/{path.name}")
    return ran
