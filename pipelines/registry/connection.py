"""Opening the registry file: DuckDB allows one writing process, so a second one waits, then says who holds it."""

from __future__ import annotations

import re
import time

import duckdb


class RegistryLocked(RuntimeError):
    """Another process holds the registry file for longer than the wait allows; nothing was read or written."""


def open_registry(path: str, config: dict, timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    """A read-write connection, waiting up to ``timeout_seconds`` while another process holds the file's lock."""
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
                    "has finished (GIST_LOCK_TIMEOUT_SECONDS sets the wait)") from err
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
