"""Dagster resources: the DuckDB file and the registry settings.

Settings are read from the environment when a run needs them, so secrets such
as the pseudonymisation key never pass through Dagster config or metadata.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings, load_settings

# DuckDB allows one writer process; every asset that writes runs in this pool (limit 1, dagster.yaml).
WRITER_POOL = "duckdb_writer"


class RegistrySettings(dg.ConfigurableResource):
    """Access to the environment-defined settings (see README, 'Configuration')."""

    def get(self) -> Settings:
        return load_settings()


def default_resources() -> dict[str, object]:
    settings = load_settings()
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return {"duckdb": DuckDBResource(database=str(settings.duckdb_path), connection_config=settings.duckdb_config),
            "registry": RegistrySettings()}
