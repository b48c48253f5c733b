"""Dagster resources: the DuckDB file and the registry settings.

The code location loads without any secret: the resources hold only the database's path and
connection settings; the pseudonymisation key is read from the environment by the steps that need
it, when they run (``RegistrySettings.get``), so it never passes through Dagster config or metadata,
and a run without it fails at its first step with the variable named.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.registry.connection import open_registry
from pipelines.settings import Settings, load_settings

# DuckDB allows one writer process; every asset that writes runs in this pool (limit 1, dagster.yaml).
WRITER_POOL = "duckdb_writer"


class RegistrySettings(dg.ConfigurableResource):
    """Access to the environment-defined settings (see README, 'Configuration')."""

    def get(self) -> Settings:
        return load_settings()


class RegistryDatabase(DuckDBResource):
    """The registry file: a second writing process waits for the lock (then fails naming the holder), and the
    connection is closed however the step ends, so a failed step never keeps the file locked."""

    lock_timeout_seconds: float = 120.0

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_registry(self.database, self.connection_config, self.lock_timeout_seconds) as con:
            yield con


def default_resources() -> dict[str, object]:
    settings = load_settings(with_key=False)
    return {
        "duckdb": RegistryDatabase(
            database=str(settings.duckdb_path),
            connection_config=settings.duckdb_config,
            lock_timeout_seconds=settings.lock_timeout_seconds,
        ),
        "registry": RegistrySettings(),
    }
