"""Opening the registry file: DuckDB allows one writing process, so a second one waits, then says who holds it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import duckdb


class RegistryLocked(RuntimeError):
    """Another process holds the registry file for longer than the wait allows; nothing was read or written."""


def _create_once(path: str) -> None:
    """Make sure the database file exists, created by exactly one process.

    Two processes that both find no file would each create one and the later would write over what
    the first had already committed (seen with twenty ingests started at once).  So a new registry is
    made under a private name and linked into place: ``link`` fails if the file appeared meanwhile.
    """
    target = Path(path)
    if path == ":memory:" or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    private = target.with_name(f".{target.name}.{os.getpid()}.new")
    duckdb.connect(str(private)).close()
    try:
        os.link(private, target)
    except FileExistsError:
        pass
    finally:
        private.unlink()


def open_registry(path: str, config: dict, timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    """A read-write connection, waiting up to ``timeout_seconds`` while another process holds the file's lock."""
    _create_once(path)
    deadline, delay = time.monotonic() + timeout_seconds, 0.05
    while True:
        try:
            return duckdb.connect(path, config=config)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            if time.monotonic() + delay > deadline:
                holder = re.search(r"PID \d+", str(err))
                raise RegistryLocked(
                    f"the registry {path} is held by another writer ({holder.group(0) if holder else 'another process'}) and "
                    f"was not released within {timeout_seconds:g} s; nothing was read or written. Run again once that run "
                    "has finished (GIST_LOCK_TIMEOUT_SECONDS sets the wait)"
                ) from err
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
