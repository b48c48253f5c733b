"""The two per-site steps the ingest assets call: receive a drop, then load it into core.

Both are idempotent: a drop already received (or loaded) with the same site profile is recognised
by its content-derived id and the profile's checksum, and nothing is written again; a corrected
profile re-reads the same drop.  Each step ends in exactly one outcome (``StepResult.status``),
recorded in ``audit.drops`` and told the same way by every surface:

- ``received`` / ``loaded``: the drop's rows are in raw / core, every data line accounted for;
- ``unchanged``: nothing to do;
- ``rejected``: refused by its data (a file unreadable, a required column or every patient missing,
  a direct identifier, lines that do not add up); the site's previous data stays;
- ``not_processed``: stopped for a reason that is not the data's (no or invalid profile, a file of the
  drop missing, a crash); the site's previous data stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.columns import LINE
from pipelines.ingest import writes
from pipelines.ingest.accounting import AccountingError, Balance, balance, file_lines
from pipelines.ingest.checks import DIRECT_IDENTIFIER, LINE_ACCOUNTING
from pipelines.ingest.drops import DropError, SiteDrop, archive_drop, find_drop, sha256_of
from pipelines.ingest.profiles import ProfileError, SiteProfile, load_profile
from pipelines.ingest.rawread import FileRejected
from pipelines.ingest.report import (
    FINDING_SCHEMA,
    DropReport,
    rejection_findings,
    report_paths,
    site_patient_ids,
    table_findings,
    write_validation_report,
)
from pipelines.ingest.screening import identifying_columns, refusal_message
from pipelines.ingest.site_drop import ValidatedTable, drop_staged, stage_drop, validate_drop
from pipelines.registry import store
from pipelines.settings import Settings
from schemas.contract import polars_schema


@dataclass(frozen=True)
class StepResult:
    site_id: str
    drop_id: str | None
    status: str  # received | loaded | unchanged | rejected | not_processed
    message: str = ""
    counts: dict = field(default_factory=dict)
    report: Path | None = None  # the validation report (HTML; the CSV is beside it)

    @property
    def failed(self) -> bool:
        return self.status in {"rejected", "not_processed"}

    def summary(self) -> str:
        """The outcome in one line, as the CLI prints it and Dagster shows it."""
        report = f"; report: {self.report}" if self.report else ""
        if self.status == "loaded":
            loaded, quarantined, data = (
                sum(c.get(key, 0) for c in self.counts.values()) for key in ("loaded", "quarantined", "data_lines")
            )
            filtered = sum(c.get("filtered", 0) for c in self.counts.values())
            by_rule = sum(c.get("filtered_by_rule", 0) for c in self.counts.values())
            blank = f", {filtered} blank lines skipped" if filtered else ""
            blank += f", {by_rule} lines left out by the profile's filter" if by_rule else ""
            merged = sum(c.get("merged", 0) for c in self.counts.values())
            blank += f", {merged} repeated patient lines loaded once" if merged else ""
            defaults = self.counts.get("patients", {}).get("endpoint_anchor_defaults", {})
            blank += "".join(
                f", {endpoint.upper()} anchor not stated by the profile: stored as '{anchor}'"
                for endpoint, anchor in defaults.items()
            )
            return (
                f"loaded {loaded} rows, quarantined {quarantined}: all {data} data lines accounted for{blank}{report}"
            )
        if self.status == "unchanged":
            return f"unchanged ({self.message}{f': drop {self.drop_id}' if self.drop_id else ''})"
        if self.status == "rejected":
            return f"REJECTED by the checks, nothing loaded, the site's previous data kept: {self.message}{report}"
        if self.status == "not_processed":
            return f"NOT PROCESSED, nothing read or changed, the site's previous data kept: {self.message}"
        return f"{self.status}: {self.message}"


def profile_path(settings: Settings, site_id: str) -> Path:
    """Where the site's profile must be (the CLI tells a site without one from other sites not processed)."""
    return settings.profiles_dir / f"{site_id}.yaml"


def _profile(settings: Settings, site_id: str) -> tuple[SiteProfile, str]:
    """The site's profile and the checksum of its file (a corrected profile makes the same drop new again)."""
    path = profile_path(settings, site_id)
    if not path.is_file():
        raise ProfileError(f"no site profile {path}: add {site_id}.yaml to the profiles folder (docs/site-profiles.md)")
    return load_profile(path), sha256_of(path)


def _existing_report(settings: Settings, site_id: str, drop_id: str) -> Path | None:
    html, _ = report_paths(settings.archive_dir, site_id, drop_id)
    return html if html.is_file() else None


def _not_processed(con: duckdb.DuckDBPyConnection, site_id: str, drop_id: str | None, reason: str) -> StepResult:
    store.record_drop(con, site_id, drop_id, "not_processed", message=reason)
    return StepResult(site_id, drop_id, "not_processed", reason)


def _reject(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    drop: SiteDrop,
    err: FileRejected,
    archive_path: Path | None,
    profile_sha256: str,
) -> StepResult:
    """Record and report a drop refused as a whole; the site's rows are untouched."""
    writes.record_rejected(con, drop, str(err), str(archive_path) if archive_path else None, profile_sha256)
    report = DropReport(
        drop.site_id,
        drop.drop_id,
        "rejected",
        {t: f.path.name for t, f in drop.files.items()},
        rejection_findings(err.file, err.check, str(err)),
        rejection=str(err),
    )
    return StepResult(
        drop.site_id,
        drop.drop_id,
        "rejected",
        str(err),
        report=write_validation_report(report, settings.archive_dir)[0],
    )


def receive_drop(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Archive the site's current drop byte-for-byte and replace its raw rows.

    A file that cannot be read at all rejects the whole drop (a drop is a snapshot); a drop whose
    headers name direct identifiers is refused before it is archived.  A crash is recorded as
    ``not_processed`` and raised again.
    """
    try:
        profile, profile_sha256 = _profile(settings, site_id)
        drop = find_drop(settings.drop_dir, profile)
    except (ProfileError, DropError) as err:
        return _not_processed(con, site_id, None, str(err))
    try:
        return _receive(con, settings, drop, profile, profile_sha256)
    except Exception as err:
        _not_processed(con, site_id, drop.drop_id, f"crash while receiving: {type(err).__name__}: {err}")
        raise


def _receive(
    con: duckdb.DuckDBPyConnection, settings: Settings, drop: SiteDrop, profile: SiteProfile, profile_sha256: str
) -> StepResult:
    if store.latest_drop(con, drop.site_id, "received") == (drop.drop_id, profile_sha256):
        return StepResult(
            drop.site_id,
            drop.drop_id,
            "unchanged",
            "this drop was already received",
            report=_existing_report(settings, drop.site_id, drop.drop_id),
        )
    refused = store.latest_entry(con, drop.site_id)
    if refused and refused[:3] == (
        drop.drop_id,
        profile_sha256,
        "rejected",
    ):  # the same refusal again: told, not recorded twice
        return StepResult(
            drop.site_id,
            drop.drop_id,
            "rejected",
            refused[3],
            report=_existing_report(settings, drop.site_id, drop.drop_id),
        )
    identifying = identifying_columns(drop, profile)
    if identifying:
        refusal = FileRejected(refusal_message(identifying), DIRECT_IDENTIFIER, ", ".join(identifying))
        return _reject(con, settings, drop, refusal, None, profile_sha256)
    archive_path = archive_drop(drop, settings.archive_dir)
    try:
        tables = stage_drop(con, drop, profile, settings.pseudonym_key)
        writes.replace_site_raw(con, drop, tables, str(archive_path), profile_sha256)
    except (FileRejected, DropError) as err:
        rejected = err if isinstance(err, FileRejected) else FileRejected(str(err))
        return _reject(con, settings, drop, rejected, archive_path, profile_sha256)
    finally:
        drop_staged(con, list(drop.files))
    counts = {
        t: {
            "input_rows": r.input_rows,
            "blank_rows": r.blank_rows,
            "extra_columns": list(r.extra_columns),
        }
        | ({"filtered_rows": r.filtered_rows} if r.filtered_rows else {})
        for t, r in tables.items()
    }
    return StepResult(drop.site_id, drop.drop_id, "received", f"archived to {archive_path}", counts)


def _loaded_report(
    received: store.ReceivedDrop,
    site_id: str,
    profile: SiteProfile,
    raw: dict[str, pl.DataFrame],
    validated: dict[str, ValidatedTable],
    counts: dict[str, dict],
) -> DropReport:
    findings = []
    for table, result in validated.items():
        if result.issues.height:
            records = sum(received.counts[table].get(k, 0) for k in ("input_rows", "blank_rows", "filtered_rows"))
            site_ids = site_patient_ids(received.archived(table), table, profile, result.issues[LINE], records)
            findings.append(
                table_findings(table, received.sources[table], result.issues, raw[table], site_ids, profile)
            )
    all_counts = {t: {**received.counts.get(t, {}), **c} for t, c in counts.items()}
    return DropReport(
        site_id,
        received.drop_id,
        "loaded",
        received.sources,
        pl.concat([pl.DataFrame(schema=FINDING_SCHEMA), *findings]),
        all_counts,
        received.extra_columns,
        received.not_stored,
    )


def _balances(
    received: store.ReceivedDrop, profile: SiteProfile, validated: dict[str, ValidatedTable]
) -> dict[str, Balance]:
    """Each table's rows to load and quarantine against the data lines of its archived file."""
    return {
        table: balance(
            table,
            received.sources[table],
            file_lines(
                received.archived(table),
                profile.encoding,
                profile.delimiter,
                profile.header_comments,
                profile.tables[table].filters,
            ),
            result.loaded[LINE].to_numpy(),
            result.quarantined[LINE].to_numpy(),
            profile.tables[table].filters,
            result.merged.to_numpy(),
        )
        for table, result in validated.items()
    }


def _unbalanced(
    con: duckdb.DuckDBPyConnection, settings: Settings, received: store.ReceivedDrop, balances: dict[str, Balance]
) -> StepResult:
    """Refuse a load whose lines do not add up; the report lists every line that is missing, repeated or unexpected."""
    problems = [b for b in balances.values() if not b.balanced]
    message = (
        "the rows to load do not account for every line of the archived files, so nothing was loaded (this is a "
        "fault of the registry, not of the data: send the validation report to the registry team): "
        + " | ".join(b.problem() for b in problems)
    )
    findings = [
        {
            "table": b.table,
            "file": b.file,
            LINE: line,
            "check_id": LINE_ACCOUNTING.check_id,
            "category": LINE_ACCOUNTING.category,
            "severity": LINE_ACCOUNTING.severity,
            "message": f"line {what}",
        }
        for b in problems
        for what, lines in (
            ("neither loaded nor quarantined", b.missing),
            ("accounted for more than once", b.repeated),
            ("is not a data line of the file", b.unexpected),
        )
        for line in lines
    ]
    store.record_drop(
        con,
        received.site_id,
        received.drop_id,
        "rejected",
        message=message,
        counts={t: b.counts() for t, b in balances.items()},
        archive_path=str(received.archive_path),
        profile_sha256=received.profile_sha256,
    )
    report = DropReport(
        received.site_id,
        received.drop_id,
        "rejected",
        received.sources,
        pl.DataFrame(findings, schema=FINDING_SCHEMA),
        {t: b.counts() for t, b in balances.items()},
        rejection=message,
    )
    return StepResult(
        received.site_id,
        received.drop_id,
        "rejected",
        message,
        report=write_validation_report(report, settings.archive_dir)[0],
    )


def load_core(con: duckdb.DuckDBPyConnection, settings: Settings, site_id: str) -> StepResult:
    """Type and validate the site's raw rows; replace its core rows and quarantine; write the report.

    Before anything is replaced, every data line of the archived files must be loaded or
    quarantined exactly once; otherwise the load is refused and the site's previous rows stay.
    """
    received = store.received_drop(con, site_id)
    if received is None:
        return StepResult(site_id, None, "unchanged", "no drop received for this site yet")
    if store.latest_drop(con, site_id, "loaded") == (received.drop_id, received.profile_sha256):
        return StepResult(
            site_id,
            received.drop_id,
            "unchanged",
            "this drop is already loaded",
            report=_existing_report(settings, site_id, received.drop_id),
        )
    try:
        profile, _ = _profile(settings, site_id)
    except ProfileError as err:
        return _not_processed(con, site_id, received.drop_id, str(err))
    try:
        return _load(con, settings, received, profile)
    except Exception as err:
        _not_processed(con, site_id, received.drop_id, f"crash while loading: {type(err).__name__}: {err}")
        raise


def _load(
    con: duckdb.DuckDBPyConnection, settings: Settings, received: store.ReceivedDrop, profile: SiteProfile
) -> StepResult:
    site_id = received.site_id
    raw = {table: writes.read_site_raw(con, site_id, table, list(polars_schema(table))) for table in received.sources}
    validated = validate_drop(raw, profile)
    balances = _balances(received, profile, validated)
    if not all(b.balanced for b in balances.values()):
        return _unbalanced(con, settings, received, balances)
    # the report shows only lines with findings: keep those, let the site's text rows go before the writes
    raw = {
        table: frame.filter(pl.col(LINE).is_in(validated[table].issues[LINE].implode())) for table, frame in raw.items()
    }
    accounting = {t: b.counts() for t, b in balances.items()}
    accounting["patients"] |= _defaulted_anchors(profile, validated["patients"].loaded)
    try:
        counts = writes.replace_site_core(con, received, validated, accounting)
    except AccountingError as err:
        return _unbalanced_write(con, settings, received, str(err))
    html, _ = write_validation_report(
        _loaded_report(received, site_id, profile, raw, validated, counts), settings.archive_dir
    )
    return StepResult(site_id, received.drop_id, "loaded", "", counts, report=html)


def _defaulted_anchors(profile: SiteProfile, patients: pl.DataFrame) -> dict[str, dict[str, str]]:
    """The reported endpoints whose loaded anchor is the dialect's default, not the profile's word (said in the
    drop's accounting, the report and the summary, so the analyst knows the anchor was not stated)."""
    times = profile.relative_times
    defaulted = {
        endpoint: times.endpoint_anchors[endpoint]
        for endpoint in (times.defaulted if times else ())
        if patients.get_column(f"{endpoint}_anchor").is_not_null().any()
    }
    return {"endpoint_anchor_defaults": defaulted} if defaulted else {}


def _unbalanced_write(
    con: duckdb.DuckDBPyConnection, settings: Settings, received: store.ReceivedDrop, problem: str
) -> StepResult:
    message = f"what was written did not match what was validated, so the load was rolled back: {problem}"
    store.record_drop(
        con, received.site_id, received.drop_id, "rejected", message=message, profile_sha256=received.profile_sha256
    )
    return StepResult(received.site_id, received.drop_id, "rejected", message)
