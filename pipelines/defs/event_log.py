"""Dagster's own SQLite storage (``dagster dev``, the daemon's runs): an engine per file kept, no fsync per event.

Dagster's SQLite event log makes a SQLAlchemy engine for every operation (~6 per event) and commits each
event; with the journal in WAL mode (Dagster sets it) and SQLite's default ``synchronous=FULL``, every
commit waits on the disk.  An ingest run of one 2,500-patient site records ~460 events (its ~130 asset
checks, their planned events, the step events).  Two changes, each measured on the 10k benchmark cohort
(docs/scaling.md):

- ``synchronous=NORMAL`` on every SQLite connection of the processes that load the code location (run
  workers, the code server): 35 of a run's 43 s were commits and connects.  In WAL mode it keeps the log
  consistent through a crash of the process; a power cut may lose its last events, never the registry's data
  (DuckDB, with its own audit tables).
- :class:`pipelines.defs.event_log_storage.PooledSqliteEventLogStorage` (``dagster.yaml``) keeps one engine, and its connections, per database
  file instead of one per operation: the four sites' ingest runs 17.9 s -> 8.5 s.  Same files, same schema, so an
  instance's history carries over either way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml
from sqlalchemy import event
from sqlalchemy.engine import Engine

INSTANCE_SETTINGS = Path(__file__).resolve().parents[2] / "dagster.yaml"
SYNCHRONOUS = "NORMAL"


def _relax_sync(connection: object, _record: object) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")


def relax_sqlite_sync() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on commits without waiting on the disk."""
    if not event.contains(Engine, "connect", _relax_sync):
        event.listen(Engine, "connect", _relax_sync)


def instance_settings(home: Path) -> dict:
    """The project's ``dagster.yaml`` as overrides of an instance in ``home`` (tests, the benchmark), its event log there."""
    settings = yaml.safe_load(INSTANCE_SETTINGS.read_text(encoding="utf-8"))
    settings["event_log_storage"]["config"] = {"base_dir": str(home / "history" / "runs")}
    return settings
