"""Dagster's own SQLite storage (``dagster dev``, the daemon's runs) without an fsync on every event.

Dagster's SQLite event log opens an engine per operation and commits each event; with the journal in
WAL mode (Dagster sets it) and SQLite's default ``synchronous=FULL``, every commit waits on the disk.
An ingest run of one 2,500-patient site records ~460 events (its ~130 asset checks, their planned
events, the step events) and spent 35 of its 43 s in those commits and connects (measured 2026-12-04,
docs/scaling.md).  ``synchronous=NORMAL`` in WAL mode keeps the log consistent through a crash of the
process; a power cut may lose its last events, never the registry's data (DuckDB, with its own audit
tables).  Only the processes that import the code location (run workers, the code server) are changed.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

SYNCHRONOUS = "NORMAL"


def _relax_sync(connection: object, _record: object) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")


def relax_sqlite_sync() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on commits without waiting on the disk."""
    if not event.contains(Engine, "connect", _relax_sync):
        event.listen(Engine, "connect", _relax_sync)
