"""Dagster's run-sharded SQLite event log with an engine per file kept (``dagster.yaml``; pipelines/defs/event_log.py).

Its own module, imported only by a Dagster instance configured with it: the code location does not import
Dagster's storage internals (importing them there made every CLI run end with nanobind's report of DuckDB
types still alive at exit).  It subclasses Dagster's storage class (the "internals" API; the lock file pins the
version it was measured and tested with).
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

OPEN_FILES = 16  # engines kept: the index, the run being written and the runs last read (a UI reads many)


def _default_base_dir() -> str:
    """Dagster's own place for the event log, ``$DAGSTER_HOME/history/runs``; without DAGSTER_HOME a temporary folder.

    Dagster itself runs some commands (``dagster definitions validate``) on a temporary instance made from the
    working directory's ``dagster.yaml`` with no DAGSTER_HOME set, which keeps nothing; ``dagster dev`` and the
    daemon set it (README, "Quick start").
    """
    home = os.environ.get("DAGSTER_HOME")
    return os.path.join(home, "history", "runs") if home else tempfile.mkdtemp(prefix="gist-dagster-events-")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with an engine per shard file kept for the most recent files.

    ``base_dir`` defaults to where Dagster's default storage keeps the event log (:func:`_default_base_dir`).
    Dagster's own lock still serialises the storage's operations, so a pooled connection is only ever used by one
    thread at a time; an engine dropped from the most recent files, or on ``wipe``, closes its connections.
    """

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or _default_base_dir(), inst_data)

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
