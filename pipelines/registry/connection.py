"""Opening the registry file: one writing process at a time, so a second one waits, then says who holds it."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

T = TypeVar("T")


class RegistryLocked(RuntimeError):
    """Another process holds the registry file for longer than the wait allows; nothing was read or written."""


@contextmanager
def open_registry(path: str, config: dict, timeout_seconds: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection for the block, waiting up to ``timeout_seconds`` while another process writes.

    DuckDB's own file lock is not enough: DuckDB (2.0.0) reads the file's header before it takes that lock and
    does not read it again, so a process whose connect straddles another writer's last checkpoint and release
    starts from the old header, and its checkpoint writes over what the other had committed; both exit 0 (a new
    file is the same race, the header read being an empty file's).  So each writer first holds an
    exclusive ``flock`` on ``<path>.lock`` from before DuckDB opens the file until the connection is closed:
    DuckDB then reads the header only after the previous writer has closed.  The lock file stays (removing it
    would let two processes lock two different files) and names its holder's PID for the message.
    """
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    with lock_path.open("a+") as lock:
        _wait(lambda: fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB), deadline, path, timeout_seconds, lock_path)
        lock.truncate(0)
        lock.write(f"PID {os.getpid()}\n")
        lock.flush()
        con = _wait(lambda: duckdb.connect(path, config=config), deadline, path, timeout_seconds, lock_path)
        try:
            yield con
        finally:
            con.close()


def _wait(attempt: Callable[[], T], deadline: float, path: str, timeout_seconds: float, lock_path: Path) -> T:
    """``attempt()`` again after growing pauses while the lock file or DuckDB's own lock is held, until ``deadline``."""
    delay = 0.05
    while True:
        try:
            return attempt()
        except (BlockingIOError, duckdb.IOException) as err:
            # the other writer is another run of this code (it wrote its PID in the lock file) or any DuckDB process
            held_by = lock_path.read_text() if isinstance(err, BlockingIOError) else str(err)
            if isinstance(err, duckdb.IOException) and "lock" not in held_by.lower():
                raise
            if time.monotonic() + delay > deadline:
                holder = re.search(r"PID \d+", held_by)
                raise RegistryLocked(
                    f"the registry {path} is held by another writer ({holder.group(0) if holder else 'another process'}) and "
                    f"was not released within {timeout_seconds:g} s; nothing was read or written. Run again once that run "
                    "has finished (GIST_LOCK_TIMEOUT_SECONDS sets the wait)"
                ) from err
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
