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
- :class:`PooledSqliteEventLogStorage` (``dagster.yaml``) keeps one engine, and its connections, per database
  file instead of one per operation: the four sites' ingest runs 17.9 s -> 8.5 s.  Same files, same schema, so an
  instance's history carries over either way.  It subclasses Dagster's storage class (its "internals" API; the
  lock file pins the version it was measured and tested with).
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

INSTANCE_SETTINGS = Path(__file__).resolve().parents[2] / "dagster.yaml"
SYNCHRONOUS = "NORMAL"
OPEN_FILES = 16  # engines kept: the index, the run being written and the runs last read (a UI reads many)


def _relax_sync(connection: object, _record: object) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")


def relax_sqlite_sync() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on commits without waiting on the disk."""
    if not event.contains(Engine, "connect", _relax_sync):
        event.listen(Engine, "connect", _relax_sync)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with an engine per shard file kept for the most recent files.

    ``base_dir`` defaults to where Dagster's default storage keeps the event log, ``$DAGSTER_HOME/history/runs``.
    Dagster's own lock still serialises the storage's operations, so a pooled connection is only ever used by one
    thread at a time; an engine dropped from the most recent files, or on ``wipe``, closes its connections.
    """

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or os.path.join(os.environ["DAGSTER_HOME"], "history", "runs"), inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, str]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **dict(config_value or {}))

    def _engine(self, shard: str) -> Engine:
        url = self.conn_string_for_shard(shard)
        if url in self._engines:
            self._engines.move_to_end(url)
            return self._engines[url]
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        self._engines[url] = engine
        while len(self._engines) > OPEN_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before Dagster deletes the run files the connections point at
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def instance_settings(home: Path) -> dict:
    """The project's ``dagster.yaml`` as overrides of an instance in ``home`` (tests, the benchmark), its event log there."""
    settings = yaml.safe_load(INSTANCE_SETTINGS.read_text(encoding="utf-8"))
    settings["event_log_storage"]["config"] = {"base_dir": str(home / "history" / "runs")}
    return settings
