"""One site drop, in two stages that mirror the asset layers.

``stage_drop``: files -> DuckDB temp views of text rows (patient ids pseudonymised, blank rows counted).
``validate_drop``: raw text frames -> typed rows to load, rows to quarantine, issues.
Nothing persistent is written here, so a failure anywhere leaves the registry untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines.columns import LINE, PARSE_ERROR
from pipelines.ingest.checks import FIELD_COUNT, NO_PATIENTS, REQUIRED_COLUMN_MISSING
from pipelines.ingest.drops import SiteDrop
from pipelines.ingest.grain import one_row_per_patient
from pipelines.ingest.issues import ISSUE_SCHEMA, concat_issues, issues_where
from pipelines.ingest.mapping import map_to_contract
from pipelines.ingest.profiles import SiteProfile
from pipelines.ingest.pseudonym import create_pseudonym_table, trimmed_id
from pipelines.ingest.rawread import FileRejected, drop_staged_file, stage_raw
from pipelines.ingest.site_columns import SITE_PATIENT, SiteColumns
from pipelines.ingest.validation import validate_tables
from schemas.contract import CONTRACT, polars_schema


@dataclass(frozen=True)
class StagedTable:
    table: (
        str  # temp view: LINE, PARSE_ERROR + text columns as received (patient_id pseudonymised), blank rows excluded
    )
    input_rows: int
    blank_rows: int
    extra_columns: tuple[str, ...]
    missing_columns: tuple[str, ...]
    site: SiteColumns = SiteColumns()  # its view pseudonymised like ``table``
    filtered_rows: int = 0


@dataclass(frozen=True)
class ValidatedTable:
    loaded: pl.DataFrame  # LINE + typed contract columns: rows without errors
    quarantined: pl.DataFrame  # LINE + raw text columns + check_id, column, message, all_messages
    issues: pl.DataFrame  # LINE + every finding, errors and warnings
    merged: pl.Series = field(
        default_factory=lambda: pl.Series(LINE, [], dtype=pl.Int64)
    )  # loaded as the patient's first row


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))


def stage_drop(
    con: duckdb.DuckDBPyConnection, drop: SiteDrop, profile: SiteProfile, key: bytes
) -> dict[str, StagedTable]:
    """Every file of the drop as a temp view of text rows; raises FileRejected if any file is unusable.

    Each table is read through a temp view (``_pseudonymised_<table>``) that replaces the site's patient id
    with its pseudonym, so nothing selected from it holds a site's own id; the temp tables behind the
    views live in memory until :func:`drop_staged`.
    """
    files = {}
    for table, item in drop.files.items():
        columns = list(polars_schema(table))
        try:
            staged = stage_raw(con, item.path, table, profile, columns, f"_staged_{table}", keep_site_columns=True)
        except FileRejected as err:
            raise FileRejected(str(err), err.check, item.path.name) from err
        contract = CONTRACT[table].to_schema().columns
        lacking = [c for c in staged.missing_columns if not contract[c].nullable]
        if lacking:
            names = ", ".join(profile.tables[table].source_column(c) for c in lacking)
            raise FileRejected(
                f"{item.path.name}: required column(s) {names} missing; columns found: {', '.join(staged.header)}",
                REQUIRED_COLUMN_MISSING,
                item.path.name,
            )
        files[table] = staged
    if files["patients"].rows == 0:
        name = drop.files["patients"].path.name
        raise FileRejected(
            f"{name}: no data rows (only a header or blank lines); a drop is a full snapshot, so loading it would "
            "remove every patient of the site — export the patients again",
            NO_PATIENTS,
            name,
        )
    create_pseudonym_table(con, "_pseudonyms", [f.table for f in files.values()], key, drop.site_id)
    tables = {}
    for table, staged in files.items():
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _pseudonymised_{table} AS SELECT s.* REPLACE (p.pseudonym AS patient_id) "
            f"FROM {staged.table} s LEFT JOIN _pseudonyms p ON {trimmed_id('s.patient_id')} = p.site_patient_id"
        )
        site = staged.site
        if site.view:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _pseudonymised_site_{table} AS SELECT s.* REPLACE (p.pseudonym AS "
                f"{SITE_PATIENT}) FROM {site.view} s LEFT JOIN _pseudonyms p ON {trimmed_id(f's.{SITE_PATIENT}')} = "
                "p.site_patient_id"
            )
            site = SiteColumns(site.stored, site.not_stored, f"_pseudonymised_site_{table}")
        tables[table] = StagedTable(
            f"_pseudonymised_{table}",
            staged.rows,
            staged.blank_rows,
            staged.extra_columns,
            staged.missing_columns,
            site=site,
            filtered_rows=staged.filtered_rows,
        )
    return tables


def drop_staged(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Remove the temp views and tables :func:`stage_drop` left (also after a rejection part-way through)."""
    for table in tables:
        con.execute(f"DROP VIEW IF EXISTS _pseudonymised_{table}")
        con.execute(f"DROP VIEW IF EXISTS _pseudonymised_site_{table}")
        drop_staged_file(con, f"_staged_{table}")
    con.execute("DROP TABLE IF EXISTS _pseudonyms")


def _field_count_issues(frame: pl.DataFrame) -> pl.DataFrame:
    return issues_where(
        _numbered(frame),
        pl.col(PARSE_ERROR).is_not_null(),
        column=None,
        check_id=FIELD_COUNT.check_id,
        category=FIELD_COUNT.category,
        message=pl.col(PARSE_ERROR),
    )


def validate_drop(raw: dict[str, pl.DataFrame], profile: SiteProfile) -> dict[str, ValidatedTable]:
    """Apply the profile and the contract to raw text frames (LINE, PARSE_ERROR + canonical text columns)."""
    typed, parse_issues, merged = {}, {}, {}
    raw = dict(raw)
    for table, frame in raw.items():
        disagreements = None
        if profile.tables[table].grain == "sample":
            frame, merged[table], disagreements = one_row_per_patient(frame)
            raw[table] = frame
        typed[table], mapped = map_to_contract(frame, table, profile)
        malformed = _field_count_issues(frame)
        parts = [mapped.join(malformed.select("row"), on="row", how="anti"), malformed]
        if disagreements is not None:
            by_row = _numbered(frame.select(LINE)).join(disagreements, on=LINE)
            parts.append(by_row.select(list(ISSUE_SCHEMA)))
        parse_issues[table] = concat_issues(parts)
    issues = validate_tables(typed, parse_issues)
    result = {}
    for table, frame in raw.items():
        lines = _numbered(frame.select(LINE))
        table_issues = issues[table].join(lines, on="row").sort(LINE, "check_id")
        reasons = (
            table_issues.filter(pl.col("severity") == "error")
            .group_by("row")
            .agg(
                pl.col("check_id").first(),
                pl.col("column").first(),
                pl.col("message").first(),
                pl.col("message").alias("all_messages"),
            )
        )
        rejected = reasons["row"].implode()
        result[table] = ValidatedTable(
            # typed rows are in raw order, so the line column is shared rather than joined (one copy less at 1M rows)
            loaded=typed[table]
            .with_columns(frame.get_column(LINE))
            .filter(~pl.int_range(pl.len(), dtype=pl.Int64).is_in(rejected)),
            quarantined=_numbered(frame).join(reasons, on="row").drop("row").sort(LINE),
            issues=table_issues.drop("row"),
            merged=merged.get(table, pl.Series(LINE, [], dtype=pl.Int64)),
        )
    return result
