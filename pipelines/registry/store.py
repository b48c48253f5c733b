"""Atomic writes to the registry and its ledger of drops (``audit.drops``).

A transaction either commits every statement or none; the ledger has one row per step of a drop
(``received``, ``loaded``, ``rejected``, ``not_processed``) and is how each step knows what the site's
rows in raw and core come from.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def latest_drop(con: duckdb.DuckDBPyConnection, site_id: str, status: str) -> tuple[str, str | None] | None:
    """(drop id, profile checksum) of the site's latest drop that reached ``status`` ('received' = raw, 'loaded' = core)."""
    rows = con.execute(
        "SELECT drop_id, profile_sha256 FROM audit.drops WHERE site_id = ? AND status = ? "
        "ORDER BY received_at DESC LIMIT 1",
        [site_id, status],
    ).fetchall()
    return rows[0] if rows else None


def latest_entry(con: duckdb.DuckDBPyConnection, site_id: str) -> tuple | None:
    """(drop id, profile checksum, status, message) of the site's newest ledger entry."""
    rows = con.execute(
        "SELECT drop_id, profile_sha256, status, message FROM audit.drops WHERE site_id = ? "
        "ORDER BY received_at DESC LIMIT 1",
        [site_id],
    ).fetchall()
    return rows[0] if rows else None


def insert_frame(con: duckdb.DuckDBPyConnection, target: str, frame: pl.DataFrame, **constants: str) -> None:
    """Insert the frame's columns that ``target`` has, plus constant columns, by name.

    The constants travel as query parameters, not as frame columns: a million copies of a drop id
    would be built in polars and converted through Arrow only to be compressed back to one value.
    """
    columns = [c[0] for c in con.execute(f"DESCRIBE {target}").fetchall()]
    selected = [c for c in columns if c in frame.columns and c not in constants] + [f"${k} AS {k}" for k in constants]
    con.register("_incoming", frame)
    try:
        con.execute(f"INSERT INTO {target} BY NAME SELECT {', '.join(selected)} FROM _incoming", constants)
    finally:
        con.unregister("_incoming")


def record_drop(
    con: duckdb.DuckDBPyConnection,
    site_id: str,
    drop_id: str | None,
    status: str,
    *,
    files: dict | None = None,
    message: str | None = None,
    counts: dict | None = None,
    extra: dict | None = None,
    archive_path: str | None = None,
    profile_sha256: str | None = None,
    not_stored: dict | None = None,
) -> None:
    """One ledger row; ``status``: received | loaded | rejected (by the data) | not_processed (anything else)."""
    con.execute(
        "INSERT INTO audit.drops BY NAME SELECT ? AS drop_id, ? AS site_id, ? AS received_at, ? AS status, ? AS message, "
        "? AS files, ? AS row_counts, ? AS extra_columns, ? AS archive_path, ? AS profile_sha256, "
        "? AS site_columns_not_stored",
        [
            drop_id,
            site_id,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            status,
            message,
            json.dumps(files or {}),
            json.dumps(counts or {}),
            json.dumps(extra or {}),
            archive_path,
            profile_sha256,
            json.dumps(not_stored or {}),
        ],
    )


@dataclass(frozen=True)
class ReceivedDrop:
    """What ``audit.drops`` says about the drop the site's raw rows come from."""

    site_id: str
    drop_id: str
    files: dict[str, dict]  # table -> {file, sha256, bytes}
    counts: dict[str, dict]  # table -> {input_rows, blank_rows}
    extra_columns: dict[str, list[str]]
    archive_path: Path
    profile_sha256: str | None
    not_stored: dict[str, dict[str, str]]  # table -> unmapped column -> why it is not a site column

    @property
    def sources(self) -> dict[str, str]:
        return {table: spec["file"] for table, spec in self.files.items()}

    def archived(self, table: str) -> Path:
        spec = self.files[table]
        return self.archive_path / f"{spec['sha256']}__{spec['file']}"


def received_drop(con: duckdb.DuckDBPyConnection, site_id: str) -> ReceivedDrop | None:
    """The drop the site's raw rows come from (None if no drop was received)."""
    rows = con.execute(
        "SELECT drop_id, files, row_counts, extra_columns, archive_path, profile_sha256, site_columns_not_stored "
        "FROM audit.drops "
        "WHERE site_id = ? AND status = 'received' ORDER BY received_at DESC LIMIT 1",
        [site_id],
    ).fetchall()
    if not rows:
        return None
    drop_id, files, counts, extra, archive_path, profile_sha256, not_stored = rows[0]
    return ReceivedDrop(
        site_id,
        drop_id,
        json.loads(files),
        json.loads(counts),
        json.loads(extra),
        Path(archive_path),
        profile_sha256,
        json.loads(not_stored or "{}"),
    )
