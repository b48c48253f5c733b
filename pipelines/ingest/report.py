"""The per-drop validation report for the registrar: HTML to read, CSV to filter and fix from.

It lists, per check, how many findings the drop has and the first rows of each
(file, line, the site's column, the value as received, the site's patient id
and the message), so the registrar can find every line in their own system.
It is written beside the archived drop (``<archive>/<site>/<drop_id>/``): it
holds values as received, like the archived files, and never goes into the
database, Dagster metadata or logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2
import polars as pl

from pipelines.columns import LINE, PARSE_ERROR
from pipelines.ingest.checks import PATIENT_QUARANTINED, Check, all_checks
from pipelines.ingest.profiles import SiteProfile
from pipelines.ingest.rawread import stage_raw, values_on_lines

HTML_NAME, CSV_NAME = "validation_report.html", "validation_report.csv"
ROWS_PER_CHECK = 20
FINDING_SCHEMA = {
    "table": pl.Utf8,
    "file": pl.Utf8,
    LINE: pl.Int64,
    "column": pl.Utf8,
    "site_column": pl.Utf8,
    "value_as_received": pl.Utf8,
    "site_patient_id": pl.Utf8,
    "check_id": pl.Utf8,
    "category": pl.Utf8,
    "severity": pl.Utf8,
    "message": pl.Utf8,
}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class DropReport:
    site_id: str
    drop_id: str
    status: str  # loaded | rejected
    files: dict[str, str]  # table -> file name as received
    findings: pl.DataFrame  # FINDING_SCHEMA, one row per finding
    counts: dict[str, dict] = field(default_factory=dict)  # table -> input/blank/loaded/quarantined/warnings
    extra_columns: dict[str, list[str]] = field(
        default_factory=dict
    )  # table -> file columns no contract column maps to
    not_stored: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> of those, the ones not stored: why
    rejection: str | None = None


def report_paths(archive_dir: Path, site_id: str, drop_id: str) -> tuple[Path, Path]:
    folder = archive_dir / site_id / drop_id
    return folder / HTML_NAME, folder / CSV_NAME


def site_patient_ids(archived: Path, table: str, profile: SiteProfile, lines: pl.Series, records: int) -> pl.DataFrame:
    """LINE -> the site's own patient id on ``lines``, read again from the archived file (the database holds only pseudonyms).

    Usually only those lines are read; a file whose records span lines is parsed whole, in a
    private in-memory DuckDB, so the site's ids never touch the registry.
    """
    wanted = lines.unique().sort().to_list()
    found = values_on_lines(archived, profile, table, "patient_id", wanted, records)
    if found is not None:
        return pl.DataFrame(
            {LINE: wanted, "site_patient_id": found}, schema={LINE: pl.Int64, "site_patient_id": pl.Utf8}
        )
    con = duckdb.connect()
    try:
        staged = stage_raw(con, archived, table, profile, ["patient_id"], "_archived")
        con.register("_wanted", pl.DataFrame({LINE: wanted}, schema={LINE: pl.Int64}))
        return con.sql(
            f"SELECT {LINE}, patient_id AS site_patient_id FROM {staged.table} SEMI JOIN _wanted USING ({LINE})"
        ).pl()
    finally:
        con.close()


def table_findings(
    table: str, file: str, issues: pl.DataFrame, raw: pl.DataFrame, site_ids: pl.DataFrame, profile: SiteProfile
) -> pl.DataFrame:
    """One table's issues with the value as received in the file and the site's column and patient id."""
    values = (
        raw.filter(pl.col(LINE).is_in(issues[LINE].implode()))
        .drop("patient_id", PARSE_ERROR)
        .unpivot(index=LINE, variable_name="column", value_name="value_as_received")
    )
    patient = site_ids.select(
        LINE, pl.lit("patient_id").alias("column"), pl.col("site_patient_id").alias("value_as_received")
    )
    received = pl.concat([values, patient])
    spec = profile.tables[table]
    return (
        issues.join(received, on=[LINE, "column"], how="left", nulls_equal=False)
        .join(site_ids, on=LINE, how="left")
        .with_columns(
            pl.lit(table).alias("table"),
            pl.lit(file).alias("file"),
            pl.col("column")
            .replace_strict(spec.columns, default=pl.col("column"), return_dtype=pl.Utf8)
            .alias("site_column"),
            pl.struct("check_id", "column", "value_as_received", "message")
            .map_elements(lambda f: _missing_token_message(profile, table, f), return_dtype=pl.Utf8)
            .alias("message"),
        )
        .select(list(FINDING_SCHEMA))
        .cast(FINDING_SCHEMA)
    )


def _missing_token_message(profile: SiteProfile, table: str, finding: dict) -> str:
    """A required value the profile reads as missing (``unknown`` in ``missing``): say so, the values it accepts,
    and the profile key to change, instead of "required but empty" beside a value that is plainly there."""
    value, column = (finding["value_as_received"] or "").strip(), finding["column"]
    if (
        finding["check_id"] != "completeness.required"
        or not value
        or value not in profile.missing_tokens(table, column)
    ):
        return finding["message"]
    codes = profile.tables[table].codes.get(column)
    accepted = f"record one of {', '.join(codes)}" if codes else "record the value"
    key = f"tables.{table}.missing.{column}" if value in profile.tables[table].missing.get(column, []) else "missing"
    return (
        f"{column} is required, but the site's profile reads '{value}' as missing (its '{key}' list): {accepted}, "
        f"or take '{value}' out of '{key}' in the profile if it is a real value"
    )


def rejection_findings(file: str | None, check: Check, message: str) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "file": file,
                "check_id": check.check_id,
                "category": check.category,
                "severity": check.severity,
                "message": message,
            }
        ],
        schema=FINDING_SCHEMA,
    )


def _summary(findings: pl.DataFrame) -> list[dict]:
    """Per check: id, category, severity, catalogue message, count; errors first, root causes before consequences."""
    catalogue = all_checks()
    counted = findings.group_by("check_id", "category", "severity").agg(pl.len().alias("count"))
    rows = [
        {**row, "description": catalogue[row["check_id"]].message if row["check_id"] in catalogue else ""}
        for row in counted.iter_rows(named=True)
    ]
    order = {"fatal": 0, "error": 1, "warning": 2}
    return sorted(
        rows,
        key=lambda r: (
            order.get(r["severity"], 3),
            r["check_id"] == PATIENT_QUARANTINED.check_id,
            -r["count"],
            r["check_id"],
        ),
    )


def write_validation_report(report: DropReport, archive_dir: Path) -> tuple[Path, Path]:
    """Write the HTML and CSV report beside the archived drop; returns (html, csv)."""
    html_path, csv_path = report_paths(archive_dir, report.site_id, report.drop_id)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    table_order = {table: position for position, table in enumerate(report.files)}
    findings = report.findings.sort(
        pl.col("table").replace_strict(table_order, default=None, return_dtype=pl.Int64),
        LINE,
        "check_id",
        nulls_last=True,
    )
    summary = _summary(findings)
    first_rows = {
        s["check_id"]: findings.filter(pl.col("check_id") == s["check_id"]).head(ROWS_PER_CHECK).to_dicts()
        for s in summary
    }
    html = _TEMPLATES.get_template("validation_report.html.j2").render(
        report=report,
        summary=summary,
        first_rows=first_rows,
        rows_per_check=ROWS_PER_CHECK,
        csv_name=CSV_NAME,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    csv = formula_safe(
        findings.select(pl.lit(report.site_id).alias("site_id"), pl.lit(report.drop_id).alias("drop_id"), pl.all())
    ).write_csv()
    _replace(html_path, html)
    _replace(csv_path, csv)
    return html_path, csv_path


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as a formula (starting with = + - @, tab or CR: CSV injection, OWASP)
    get a leading apostrophe, which spreadsheets show as text; plain numbers such as ``-5`` are left as they are."""
    risky = pl.col(pl.Utf8).str.contains(r"^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]") & ~pl.col(pl.Utf8).str.contains(
        r"^[+-]?\d+([.,]\d+)?$"
    )
    return frame.with_columns(pl.when(risky).then(pl.lit("'") + pl.col(pl.Utf8)).otherwise(pl.col(pl.Utf8)).name.keep())


def _replace(path: Path, text: str) -> None:
    """Write beside, then rename: a reader never sees half a report."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
