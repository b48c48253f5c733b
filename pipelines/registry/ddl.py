"""Registry tables, generated from the contract so the database cannot drift from it.

Schemas: ``raw`` (text as received; ``patient_id`` is the pseudonym, a UUID), ``core`` (typed, validated rows), ``intermediate`` (derived ``int_*`` views, sql/core),
``audit`` (drops ledger, quarantine, issues), ``analysis`` (SQL views) and
``results`` (statistics written by the pipeline, declared in ``schemas/results.py``) and ``published``
(the small-count-suppressed views over them, sql/results).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from pathlib import Path

import duckdb
import polars as pl

from pipelines.columns import PSEUDONYM_TYPE
from pipelines.sql_models import LAYERS, VIEW_SCHEMAS, documented_columns, model_files
from schemas.contract import CONTRACT, polars_schema
from schemas.results import RESULTS

SCHEMAS = ("raw", "core", "audit", "intermediate", "analysis", "results", "published")
DUCKDB_TYPE = {pl.Utf8: "VARCHAR", pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.Date: "DATE", pl.Boolean: "BOOLEAN"}
PROVENANCE = (
    "site_id VARCHAR NOT NULL, drop_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT NOT NULL"
)

AUDIT_TABLES = {
    "drops": """drop_id VARCHAR, site_id VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
        message VARCHAR, files JSON, row_counts JSON, extra_columns JSON, archive_path VARCHAR, profile_sha256 VARCHAR,
        site_columns_not_stored JSON""",
    "quarantine": f"""{PROVENANCE}, table_name VARCHAR NOT NULL, check_id VARCHAR NOT NULL, column_name VARCHAR,
        message VARCHAR NOT NULL, all_messages VARCHAR[], raw_values JSON""",
    "issues": f"""{PROVENANCE}, table_name VARCHAR NOT NULL, check_id VARCHAR NOT NULL, category VARCHAR NOT NULL,
        severity VARCHAR NOT NULL, column_name VARCHAR, message VARCHAR NOT NULL, value VARCHAR""",
    "check_history": """site_id VARCHAR NOT NULL, drop_id VARCHAR NOT NULL, measured_at TIMESTAMP NOT NULL,
        table_name VARCHAR NOT NULL, check_id VARCHAR NOT NULL, severity VARCHAR NOT NULL,
        failing_lines BIGINT NOT NULL, data_lines BIGINT NOT NULL""",
    "registry_schema": "fingerprint VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL",
}


# What each non-contract column holds, for `COMMENT ON COLUMN` (contract columns take their pandera description).
PROVENANCE_COMMENTS = {
    "site_id": "Site the row came from (its drop folder and profile).",
    "drop_id": "Drop the row came from: the site and a hash of the drop's files (audit.drops).",
    "source_file": "The site's file the row was read from, as named in the drop.",
    "line_number": "Line of that file the row starts on (header = line 1).",
}
AUDIT_COMMENTS = {
    "drops": {
        "drop_id": "Site and a hash of the drop's files; NULL when no drop could be formed (e.g. no site profile).",
        "site_id": "Site of the drop.",
        "received_at": "When this step of the drop was recorded (UTC).",
        "status": "The step's outcome: received, loaded, rejected (by its data) or not_processed (another reason).",
        "message": "Why the drop was rejected or not processed.",
        "files": "Per table: the file's name, SHA-256 and size in bytes.",
        "row_counts": "Per table: input_rows, blank_rows (received); data_lines, filtered, loaded, quarantined, warnings "
        "(loaded); for patients, endpoint_anchor_defaults: the reported endpoints whose anchor the profile did not "
        "state, with the dialect's default stored.",
        "extra_columns": "Per table: the file's columns that no contract column maps to (stored as site columns, "
        "raw.site_columns and core.site_columns, unless listed in site_columns_not_stored).",
        "site_columns_not_stored": "Per table and unmapped column: why it was not stored as a site column (it may "
        "identify a patient: drop_columns of the profile, a header like an identifier, a date or free text, values "
        "like dates).",
        "archive_path": "Folder of the archived files; NULL when the drop was not archived (direct identifiers).",
        "profile_sha256": "SHA-256 of the site profile the step used (a corrected profile makes the drop new again).",
    },
    "quarantine": {
        "table_name": "Contract table the row belongs to.",
        "check_id": "The first failed check (docs/validation.md).",
        "column_name": "Column of that check (NULL for a row or file check).",
        "message": "The first error, for the registrar.",
        "all_messages": "Every error of the row.",
        "raw_values": "The row's values as received, under contract column names (patient_id pseudonymised).",
    },
    "issues": {
        "table_name": "Contract table the row belongs to.",
        "check_id": "The check (docs/validation.md).",
        "category": "Kahn category: conformance, completeness or plausibility.",
        "severity": "error (row quarantined) or warning (row loaded).",
        "column_name": "Column of the check (NULL for a row or file check).",
        "message": "The finding, for the registrar.",
        "value": "The value as received, where the check is about one value.",
    },
    "check_history": {
        "site_id": "Site of the drop.",
        "drop_id": "The loaded drop the shares were measured on.",
        "measured_at": "When the drop was loaded (UTC).",
        "table_name": "Contract table.",
        "check_id": "The check (docs/validation.md); every check of the table has a row, zeros included.",
        "severity": "error (fails the table's asset check above its threshold, blocking) or warning (reported).",
        "failing_lines": "Data lines of the table the check found failing in this drop.",
        "data_lines": "Data lines of the table in this drop (the share's denominator).",
    },
    "registry_schema": {
        "fingerprint": "SHA-256 of the code and declarations that made this file's tables (ensure_registry skips "
        "the DDL while it matches).",
        "created_at": "When the tables were last brought up to that code (UTC).",
    },
}


# Site columns (pipelines/ingest/site_columns.py): the unmapped columns of a site's files, in long form, as text.
SITE_COLUMNS_TABLE = "site_columns"
SITE_COLUMNS = f"{PROVENANCE}, table_name VARCHAR NOT NULL, patient_id {PSEUDONYM_TYPE}, column_name VARCHAR NOT NULL, value VARCHAR NOT NULL"
SITE_COLUMN_COMMENTS = {
    "table_name": "Contract table the site's file maps to.",
    "patient_id": "The row's patient (pseudonym); NULL when the row named none.",
    "column_name": "The site's column name, as in the file's header.",
    "value": "The value as received, as text (blank values are not stored).",
}


def column_comments() -> dict[tuple[str, str, str], str]:
    """(schema, table, column) -> comment, for every column of raw, core, audit and results."""
    comments = {}
    for table, model in CONTRACT.items():
        for column, spec in model.to_schema().columns.items():
            comments[("core", table, column)] = spec.description
            comments[("raw", table, column)] = f"As received, as text: {spec.description}"
        for layer in ("raw", "core"):
            comments |= {(layer, table, column): text for column, text in PROVENANCE_COMMENTS.items()}
        comments[("raw", table, "parse_error")] = (
            "Why the line could not be split into the header's fields (NULL when it could)."
        )
    for layer in ("raw", "core"):
        comments |= {(layer, SITE_COLUMNS_TABLE, column): text for column, text in PROVENANCE_COMMENTS.items()}
        comments |= {(layer, SITE_COLUMNS_TABLE, column): text for column, text in SITE_COLUMN_COMMENTS.items()}
    for table, columns in AUDIT_COMMENTS.items():
        if PROVENANCE in AUDIT_TABLES[table]:  # tables with provenance columns
            comments |= {("audit", table, column): text for column, text in PROVENANCE_COMMENTS.items()}
        comments |= {("audit", table, column): text for column, text in columns.items()}
    for table in RESULTS.values():
        comments |= {("results", table.name, c.name): c.meaning for c in table.columns}
    return comments


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Set each column's comment where it differs (a catalogue write per change, not per run)."""
    current = {
        (s, t, c): comment
        for s, t, c, comment in con.execute(
            "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name IN ('raw', 'core', 'audit', 'results')"
        ).fetchall()
    }
    for (schema, table, column), text in column_comments().items():
        if (schema, table, column) in current and current[(schema, table, column)] != text:
            con.execute(f'COMMENT ON COLUMN {schema}.{table}."{column}" IS {_quoted(text)}')


def column_type(name: str, dtype: pl.DataType, typed: bool) -> str:
    """The DuckDB type of a contract column in `core` (``typed``) or `raw`."""
    if name == "patient_id":  # the pseudonym, in both layers
        return PSEUDONYM_TYPE
    return DUCKDB_TYPE[dtype] if typed else "VARCHAR"


def _columns(table: str, typed: bool) -> str:
    return ", ".join(f"{name} {column_type(name, dtype, typed)}" for name, dtype in polars_schema(table).items())


def _pseudonyms_as_uuid(con: duckdb.DuckDBPyConnection) -> None:
    """Registries created before pseudonyms were UUIDs hold them as 32 hex characters, which cast losslessly."""
    text = con.execute(
        "SELECT schema_name, table_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name IN ('raw', 'core') AND list_contains(?, table_name) AND column_name = 'patient_id' "
        "AND data_type = 'VARCHAR'",
        [list(CONTRACT)],
    ).fetchall()
    for schema, table in text:
        con.execute(f"ALTER TABLE {schema}.{table} ALTER patient_id TYPE {PSEUDONYM_TYPE}")


def _results_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Each results table typed from its declaration; one whose columns changed with the code is rebuilt empty.

    Results are derived, so a rebuilt table is refilled by the next refresh of each analysis.
    """
    current: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'results' ORDER BY table_name, column_index"
    ).fetchall():
        current.setdefault(table, []).append(column)
    for table in RESULTS.values():
        if table.name in current and current[table.name] != table.column_names:
            con.execute(f"DROP TABLE results.{table.name}")
        if current.get(table.name) != table.column_names:
            con.execute(f"CREATE TABLE results.{table.name} ({table.ddl()})")
            con.execute(f"COMMENT ON TABLE results.{table.name} IS {_quoted(f'Grain: {table.row}.')}")


def create_registry(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table that does not exist yet (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in CONTRACT:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS raw.{table} ({PROVENANCE}, parse_error VARCHAR, {_columns(table, typed=False)})"
        )
        con.execute(
            f"ALTER TABLE raw.{table} ADD COLUMN IF NOT EXISTS parse_error VARCHAR"
        )  # registries created before it existed
        con.execute(f"CREATE TABLE IF NOT EXISTS core.{table} ({PROVENANCE}, {_columns(table, typed=True)})")
        for name, dtype in polars_schema(table).items():  # optional columns added to the contract since
            for layer, typed in (("raw", False), ("core", True)):
                con.execute(
                    f"ALTER TABLE {layer}.{table} ADD COLUMN IF NOT EXISTS {name} {column_type(name, dtype, typed)}"
                )
    for layer in ("raw", "core"):
        con.execute(f"CREATE TABLE IF NOT EXISTS {layer}.{SITE_COLUMNS_TABLE} ({SITE_COLUMNS})")
    _pseudonyms_as_uuid(con)
    for name, columns in AUDIT_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS audit.{name} ({columns})")
    con.execute(
        "ALTER TABLE audit.drops ADD COLUMN IF NOT EXISTS profile_sha256 VARCHAR"
    )  # ledgers from before it existed
    con.execute("ALTER TABLE audit.drops ADD COLUMN IF NOT EXISTS site_columns_not_stored JSON")
    _results_tables(con)
    _comment_columns(con)


@functools.cache
def schema_fingerprint() -> str:
    """What :func:`create_registry` makes, hashed: this module's code and every declaration it reads."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for table in CONTRACT:
        digest.update(f"{table}:{_columns(table, typed=False)}:{_columns(table, typed=True)}".encode())
    digest.update(repr([(table.name, table.ddl()) for table in RESULTS.values()]).encode())
    digest.update(repr(sorted(column_comments().items())).encode())
    return digest.hexdigest()


def ensure_registry(con: duckdb.DuckDBPyConnection) -> None:
    """:func:`create_registry` unless the file was last brought up to this very code (its fingerprint matches).

    The DDL is idempotent but not free (~80 ms of catalogue queries and comments per connection): every step and
    asset check of a run opens the registry, so they check one row instead.
    """
    try:
        recorded = con.execute("SELECT fingerprint FROM audit.registry_schema").fetchall()
    except duckdb.CatalogException:  # a new file, or one made before the fingerprint
        recorded = []
    if recorded == [(schema_fingerprint(),)]:
        return
    create_registry(con)
    con.execute("DELETE FROM audit.registry_schema")
    made_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("INSERT INTO audit.registry_schema VALUES (?, ?)", [schema_fingerprint(), made_at])


# Columns every analysis frame carries (docs/statistics.md, "Input: the analysis frame"), stated once here.
FRAME_COMMENTS = {
    "subject_id": "The unit of analysis: the patient's pseudonym, or patient @ surgery date for operation-level frames.",
    "group_label": "The comparison group of the subject (group in the statistics).",
    "origin_date": "Time zero of the subject (startdt).",
    "origin_anchor": "The patient's anchor whose time 0 is the subject's origin (analysis.os_from_anchor).",
    "age": "Age in years at the origin.",
    "time_months": "Time in months from the origin.",
    "resection_r0": "Whether the resection was R0 (microscopically complete).",
    "table_name": "Contract table the rows belong to.",
    "excluded_step": "Order of the first cohort step the row (a patient, or the frame's operation or sample) fails "
    "(its reason's place in analysis.<id>_flow_steps()); NULL if in the cohort.",
    "excluded_reason": "Why the row leaves the cohort at that step (labels.yaml flow); NULL if in the cohort.",
}


def _model_meanings() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Per model file its documented columns, and every column's meaning wherever it is stated once.

    Fallbacks for a column a view passes through: another model's header, the results declaration, the contract.
    """
    per_file = {path: documented_columns(path) for layer in LAYERS for path in model_files(layer)}
    shared = {c.name: c.meaning for t in RESULTS.values() for c in t.columns}
    shared |= {name: spec.description for m in CONTRACT.values() for name, spec in m.to_schema().columns.items()}
    shared |= PROVENANCE_COMMENTS | FRAME_COMMENTS
    for meanings in per_file.values():
        shared |= meanings
    return {path.read_text(encoding="utf-8"): meanings for path, meanings in per_file.items()}, shared


def comment_models(con: duckdb.DuckDBPyConnection, layer: str) -> None:
    """Comment every column of the views and tables a layer's SQL models made (they are rebuilt, so every run).

    The text is the model's own header where it explains the column, else the column's meaning elsewhere.
    """
    schemas = [*VIEW_SCHEMAS[layer], *(("analysis",) if layer == "analysis" else ())]
    own, shared = _model_meanings()
    columns = con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND list_contains(?, schema_name) ORDER BY ALL",
        [schemas],
    ).fetchall()
    for schema, relation, column in columns:
        made = re.compile(rf"CREATE OR REPLACE (VIEW|TABLE) {schema}\.{relation}\b")
        text = next((m.get(column) for sql, m in own.items() if made.search(sql) and column in m), shared.get(column))
        if text is None and column.endswith("_suppressed"):
            text = f"True where {column.removesuffix('_suppressed')} is withheld (small-count suppression): print supp."
        if text:
            con.execute(f'COMMENT ON COLUMN {schema}.{relation}."{column}" IS {_quoted(text)}')
