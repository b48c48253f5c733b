"""The two per-site steps the ingest assets call: receive a drop, then load it into core.

Both are idempotent: a drop already received (or loaded) is recognised by its
content-derived id and nothing is written again.  Both leave the registrar's
validation report beside the archived drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.drops import DropError, SiteDrop, archive_drop, find_drop
from pipelines.ingest.profiles import SiteProfile, load_profile
from pipelines.ingest.rawread import LINE, FileRejected
from pipelines.ingest.report import (FINDING_SCHEMA, DropReport, rejection_findings, report_paths, site_patient_ids, table_findings,
                                     write_report)
from pipelines.ingest.site_drop import ValidatedTable, drop_staged, stage_drop, validate_drop
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
    report: Path | None = None  # the validation report (HTML; the CSV is beside it)


def site_profile(settings: Settings, site_id: str) -> SiteProfile:
    return load_profile(settings.profiles_dir / f"{site_id}.yaml")


def _existing_report(settings: Settings, site_id: str, drop_id: str) -> Path | None:
    html, _ = report_paths(settings.archive_dir, site_id, drop_id)
    return html if html.is_file() else None


def _rejected(settings: Settings, drop: SiteDrop, err: FileRejected) -> Path:
    report = DropReport(drop.site_id, drop.drop_id, "rejected", {t: f.path.name for t, f in drop.files.items()},
                        rejection_findings(err.file, err.check, str(err)), rejection=str(err))
    return write_report(report, settings.archive_dir)[0]


def receive_drop(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Archive the site's current drop byte-for-byte and replace its raw rows.

    A file that cannot be read at all rejects the whole drop (a drop is a
    snapshot); the rejection is recorded, reported, and the site's previous rows stay.
    """
    profile = site_profile(settings, site_id)
    drop = find_drop(settings.drop_dir, profile)
    if drop.drop_id == store.loaded_drop_id(con, site_id, "received"):
        return StepResult(site_id, drop.drop_id, "unchanged", "this drop was already received",
                          report=_existing_report(settings, site_id, drop.drop_id))
    archive_path = archive_drop(drop, settings.archive_dir)
    try:
        tables = stage_drop(con, drop, profile, settings.pseudonym_key)
        store.replace_site_raw(con, drop, tables, str(archive_path))
    except (FileRejected, DropError) as err:
        rejected = err if isinstance(err, FileRejected) else FileRejected(str(err))
        store.record_rejected(con, drop, str(err), str(archive_path))
        return StepResult(site_id, drop.drop_id, "rejected", str(err), report=_rejected(settings, drop, rejected))
    finally:
        drop_staged(con, list(drop.files))
    counts = {t: {"input_rows": r.input_rows, "blank_rows": r.blank_rows, "extra_columns": list(r.extra_columns)}
              for t, r in tables.items()}
    return StepResult(site_id, drop.drop_id, "received", f"archived to {archive_path}", counts)


def _loaded_report(received: store.ReceivedDrop, site_id: str, profile: SiteProfile, raw: dict[str, pl.DataFrame],
                   validated: dict[str, ValidatedTable], counts: dict[str, dict]) -> DropReport:
    findings = []
    for table, result in validated.items():
        if result.issues.height:
            records = received.counts[table]["input_rows"] + received.counts[table]["blank_rows"]
            site_ids = site_patient_ids(received.archived(table), table, profile, result.issues[LINE], records)
            findings.append(table_findings(table, received.sources[table], result.issues, raw[table], site_ids, profile))
    all_counts = {t: {**received.counts.get(t, {}), **c} for t, c in counts.items()}
    return DropReport(site_id, received.drop_id, "loaded", received.sources, pl.concat([pl.DataFrame(schema=FINDING_SCHEMA), *findings]),
                      all_counts, received.extra_columns)


def load_core(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Type and validate the site's raw rows; replace its core rows and quarantine; write the report."""
    received = store.received_drop(con, site_id)
    if received is None:
        return StepResult(site_id, None, "unchanged", "no drop received for this site yet")
    if received.drop_id == store.loaded_drop_id(con, site_id, "loaded"):
        return StepResult(site_id, received.drop_id, "unchanged", "this drop is already loaded",
                          report=_existing_report(settings, site_id, received.drop_id))
    profile = site_profile(settings, site_id)
    raw = {table: store.read_site_raw(con, site_id, table, list(polars_schema(table))) for table in received.sources}
    validated = validate_drop(raw, profile)
    # the report shows only lines with findings: keep those, let the site's text rows go before the writes
    raw = {table: frame.filter(pl.col(LINE).is_in(validated[table].issues[LINE].implode())) for table, frame in raw.items()}
    counts = store.replace_site_core(con, site_id, received.drop_id, received.sources, validated)
    html, _ = write_report(_loaded_report(received, site_id, profile, raw, validated, counts), settings.archive_dir)
    return StepResult(site_id, received.drop_id, "loaded", "", counts, report=html)
