"""Site columns: the columns of a site's file that its profile does not map, kept as text in long form.

An analysis can then group or filter by what a site records beyond the contract (a consortium's centre, a
study arm) from SQL: ``raw.site_columns`` holds every staged line's values, ``core.site_columns`` those of the
lines loaded into ``core`` (docs/site-profiles.md, "Site columns").  A column that may identify a patient is
never stored: one the profile lists in ``drop_columns``, one whose header looks like an identifier, a date or
free text (``pipelines.ingest.identifiers.not_storable``), and one whose values look like dates; the drop's
ledger entry and the registrar's report say which and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines.ingest.identifiers import not_storable

SITE_LINE, SITE_PATIENT = "_site_line", "_site_patient"  # the provenance columns of a staged site view
# a value that looks like a calendar date (dd.mm.yyyy, yyyy-mm-dd, m/d/yy, yyyymmdd, 3 Jan 2020, ... with a time)
DATE_VALUE = (
    r"\s*(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])|"
    r"\d{1,2}[ .-]?[A-Za-z]{3,9}[ .,-]+\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*"
)
DECLARED = "declared in the profile's drop_columns"
DATED = "its values look like dates"


@dataclass(frozen=True)
class SiteColumns:
    """One file's unmapped columns: those stored (through ``view``) and those not, with why."""

    stored: tuple[str, ...] = ()
    not_stored: dict[str, str] = field(default_factory=dict)  # column -> why it is not stored
    view: str | None = None  # temp view: SITE_LINE, SITE_PATIENT + the stored columns as text


def site_columns(unmapped: list[str], declared: tuple[str, ...]) -> SiteColumns:
    """Which unmapped columns may be stored, by their headers and the profile's ``drop_columns``."""
    not_stored = {}
    for column in unmapped:
        why = DECLARED if column in declared else not_storable(column)
        if why:
            not_stored[column] = why
    return SiteColumns(tuple(c for c in unmapped if c not in not_stored), not_stored)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def create_site_view(
    con: duckdb.DuckDBPyConnection, site: SiteColumns, line: str, patient: str, source: str, target: str
) -> SiteColumns:
    """Temp view ``target`` of the stored columns, with each row's file line and site patient id.

    ``source`` is the FROM ... WHERE of the well-formed, non-blank lines (aliased ``p``).  A column with any value
    that looks like a date is left out (a date of birth or of a visit, under another name).
    """
    if not site.stored:
        return site

    def create(columns: tuple[str, ...]) -> None:
        selected = ", ".join(f"p.{_quoted(c)} AS {_quoted(c)}" for c in columns)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {target} AS SELECT {line} AS {SITE_LINE}, {patient} AS {SITE_PATIENT}, "
            f"{selected} {source}"
        )

    create(site.stored)
    dated = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE regexp_full_match({_quoted(c)}, $date))" for c in site.stored)
        + f" FROM {target}",
        {"date": DATE_VALUE},
    ).fetchall()[0]
    stored = tuple(c for c, n in zip(site.stored, dated, strict=True) if not n)
    not_stored = site.not_stored | {c: DATED for c in site.stored if c not in stored}
    if not stored:
        con.execute(f"DROP VIEW {target}")
        return SiteColumns((), not_stored)
    if stored != site.stored:
        create(stored)
    return SiteColumns(stored, not_stored, target)


def insert_long(con: duckdb.DuckDBPyConnection, view: str, target: str, **provenance: str) -> None:
    """The view's non-blank values into ``target`` in long form: one row per line and column, as received."""
    con.execute(
        f"INSERT INTO {target} BY NAME SELECT $site_id AS site_id, $drop_id AS drop_id, $source_file AS source_file, "
        f"$table_name AS table_name, {SITE_LINE} AS line_number, {SITE_PATIENT} AS patient_id, column_name, value "
        f"FROM (UNPIVOT {view} ON COLUMNS(* EXCLUDE ({SITE_LINE}, {SITE_PATIENT})) INTO NAME column_name VALUE value) "
        "WHERE trim(value) <> ''",
        provenance,
    )
