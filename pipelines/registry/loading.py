"""The two per-site steps the ingest assets call: receive a drop, then load it into core.

Both are idempotent: a drop already received (or loaded) is recognised by its
content-derived id and nothing is written again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines.ingest.drops import DropError, archive_drop, find_drop
from pipelines.ingest.profiles import SiteProfile, load_profile
from pipelines.ingest.rawread import FileRejected
from pipelines.ingest.site_drop import read_drop, validate_drop
from pipelines.registry import store
from pipelines.settings import Settings
from schemas.contract import polars_schema


@dataclass(frozen=True)
class StepResult:
    site_id: str
    drop_id: str | None
    status: str  # received | loaded | unchanged | rejected
    message: str = ""
    counts: dict = field(default_factory=dict)


def site_profile(settings: Settings, site_id: str) -> SiteProfile:
    return load_profile(settings.profiles_dir / f"{site_id}.yaml")


def receive_drop(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Archive the site's current drop byte-for-byte and replace its raw rows.

    A file that cannot be read at all rejects the whole drop (a drop is a
    snapshot); the rejection is recorded and the site's previous rows stay.
    """
    profile = site_profile(settings, site_id)
    drop = find_drop(settings.drop_dir, profile)
    if drop.drop_id == store.loaded_drop_id(con, site_id, "received"):
        return StepResult(site_id, drop.drop_id, "unchanged", "this drop was already received")
    archive_path = archive_drop(drop, settings.archive_dir)
    try:
        tables = read_drop(drop, profile, settings.pseudonym_key)
    except (FileRejected, DropError) as err:
        store.record_rejected(con, drop, str(err), str(archive_path))
        return StepResult(site_id, drop.drop_id, "rejected", str(err))
    store.replace_site_raw(con, drop, tables, str(archive_path))
    counts = {t: {"input_rows": r.frame.height, "blank_rows": r.blank_rows, "extra_columns": list(r.extra_columns)}
              for t, r in tables.items()}
    return StepResult(site_id, drop.drop_id, "received", f"archived to {archive_path}", counts)


def load_core(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Type and validate the site's raw rows; replace its core rows and quarantine."""
    received = store.raw_drop_sources(con, site_id)
    if received is None:
        return StepResult(site_id, None, "unchanged", "no drop received for this site yet")
    drop_id, sources = received
    if drop_id == store.loaded_drop_id(con, site_id, "loaded"):
        return StepResult(site_id, drop_id, "unchanged", "this drop is already loaded")
    profile = site_profile(settings, site_id)
    raw = {table: store.read_site_raw(con, site_id, table, list(polars_schema(table))) for table in sources}
    counts = store.replace_site_core(con, site_id, drop_id, sources, validate_drop(raw, profile))
    return StepResult(site_id, drop_id, "loaded", "", counts)
