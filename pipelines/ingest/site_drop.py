"""One site drop, in two stages that mirror the asset layers.

``read_drop``: files -> raw text frames (patient ids pseudonymised, blank rows counted).
``validate_drop``: raw text frames -> typed rows to load, rows to quarantine, issues.
Nothing is written here, so a failure anywhere leaves the database untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.ingest.drops import SiteDrop
from pipelines.ingest.mapping import blank_rows, map_to_contract
from pipelines.ingest.profiles import SiteProfile
from pipelines.ingest.pseudonym import pseudonymise
from pipelines.ingest.rawread import LINE, FileRejected, read_raw
from pipelines.ingest.validation import validate_tables
from schemas.contract import CONTRACT, polars_schema


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame  # LINE + text columns as received (patient_id pseudonymised), blank rows excluded
    blank_rows: int
    extra_columns: tuple[str, ...]
    missing_columns: tuple[str, ...]


@dataclass(frozen=True)
class ValidatedTable:
    loaded: pl.DataFrame  # LINE + typed contract columns: rows without errors
    quarantined: pl.DataFrame  # LINE + raw text columns + check_id, column, message, all_messages
    issues: pl.DataFrame  # LINE + every finding, errors and warnings


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))


def read_drop(drop: SiteDrop, profile: SiteProfile, key: bytes) -> dict[str, RawTable]:
    """Every file of the drop as raw text; raises FileRejected if any file is unusable."""
    tables, pseudonyms = {}, {}
    for table, item in drop.files.items():
        raw_file = read_raw(item.path, table, profile, list(polars_schema(table)))
        contract = CONTRACT[table].to_schema().columns
        lacking = [c for c in raw_file.missing_columns if not contract[c].nullable]
        if lacking:
            found = ", ".join(raw_file.frame.columns[1:]) or "none"
            names = ", ".join(profile.tables[table].source_column(c) for c in lacking)
            raise FileRejected(f"{item.path.name}: required column(s) {names} missing; columns found: {found}")
        blank = blank_rows(raw_file.frame)
        frame = pseudonymise(raw_file.frame.filter(~blank), "patient_id", key, drop.site_id, pseudonyms)
        tables[table] = RawTable(frame, int(blank.sum()), raw_file.extra_columns, raw_file.missing_columns)
    return tables


def validate_drop(raw: dict[str, pl.DataFrame], profile: SiteProfile) -> dict[str, ValidatedTable]:
    """Apply the profile and the contract to raw text frames (LINE + canonical text columns)."""
    typed, parse_issues = {}, {}
    for table, frame in raw.items():
        typed[table], parse_issues[table] = map_to_contract(frame, table, profile)
    issues = validate_tables(typed, parse_issues)
    result = {}
    for table, frame in raw.items():
        lines = _numbered(frame.select(LINE))
        table_issues = issues[table].join(lines, on="row").sort(LINE, "check_id")
        reasons = table_issues.filter(pl.col("severity") == "error").group_by("row").agg(
            pl.col("check_id").first(), pl.col("column").first(), pl.col("message").first(),
            pl.col("message").alias("all_messages"))
        rejected = reasons["row"].implode()
        result[table] = ValidatedTable(
            loaded=_numbered(typed[table]).filter(~pl.col("row").is_in(rejected)).join(lines, on="row").drop("row"),
            quarantined=_numbered(frame).join(reasons, on="row").drop("row").sort(LINE),
            issues=table_issues.drop("row"),
        )
    return result
