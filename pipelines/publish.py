"""Publish the registry in two tiers, each a read-only DuckDB file and Parquet, swapped in atomically.

``<publish_dir>/aggregate/``: results only, the ``published.v_*`` views (where small counts are
suppressed), never a patient-level row, a pseudonym, an individual's date, or the unsuppressed
``results`` tables.  Safe to send outside the registry.

``<publish_dir>/analyst/``: pseudonymised patient-level rows: the ``core`` tables, the follow-up
window ``intermediate.int_follow_up`` and, when dates are shifted, the analysis frames; every date shifted
per patient or coarsened (``GIST_ANALYST_DATES``); without ``drop_id``, ``source_file`` and
``line_number``, which point at the line of the archived raw file.  For registry staff and approved
analysts under a data-use agreement; not for release.

Each tier folder holds a ``README.md`` (content and access rule), ``gist_registry_<tier>.duckdb``
(open it with ``read_only=True``) and ``parquet/<schema>.<table>.parquet``.  A publish builds a
complete new copy of a tier under temporary names (``.partial``) and renames it into place, so a
reader sees the old copy or the new one, never a mixture or half a file: the DuckDB file is
replaced with one ``rename``; ``parquet`` is a symbolic link switched with one ``rename`` to a new
version folder (the previous one is kept for readers still in it, older ones are removed).

Crash safety: killed at any point, a publish leaves each tier's last good copy in place (the
renames are the only steps readers see).  What it leaves behind, the ``.partial`` files (and
DuckDB's ``.wal`` beside them), ``versions/<stamp>.partial`` folders and ``.partial`` links, is
removed at the start of the next publish, which holds ``<publish_dir>/.publish.lock`` meanwhile.

Older versions wrote one patient-level copy named "published" (``gist_registry_published.duckdb``,
``parquet``, ``versions/`` directly in the publish folder); it is removed once both tiers are in place.

``_step`` is called between the steps of a publish and does nothing; the crash tests replace it in
a subprocess to kill it at a chosen step.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.columns import pseudonym_as_text
from pipelines.ingest.pseudonym import create_pseudonym_table
from pipelines.settings import ANALYST_DATE_MODES, Settings

AGGREGATE, ANALYST = "aggregate", "analyst"
PARQUET_LINK = "parquet"
VERSIONS = "versions"
PARTIAL = ".partial"
LOCK = ".publish.lock"
README = "README.md"
LEGACY_DATABASE = "gist_registry_published.duckdb"
STAMP = re.compile(r"\d{8}T\d{12}")
# Provenance the analyst tier leaves out: they locate the row in the archived raw file (raw site ids and all)
# and the registrar's report, and line order can carry the site's own sort order.  site_id stays.
DROPPED_PROVENANCE = ("drop_id", "source_file", "line_number")
PATIENT_COLUMNS = (
    "patient_id",
    "subject_id",
    "usubjid",
)  # what the aggregate tier refuses, with any UUID or DATE column
SHIFT_CONTEXT = b"gist-registry analyst tier: per-patient date shift"
SHIFTS = "_publish_date_shift"


def _step(name: str) -> None:
    """Between two steps of a publish; a no-op (the crash tests kill a publish here)."""


def database_name(tier: str) -> str:
    return f"gist_registry_{tier}.duckdb"


@dataclass(frozen=True)
class AnalystDates:
    """How the analyst tier protects dates: ``shift`` (per patient, keyed) or coarsen to ``month`` / ``year``."""

    mode: str = "shift"
    shift_days: int = 182

    def __post_init__(self) -> None:
        if self.mode not in ANALYST_DATE_MODES or self.shift_days < 1:
            raise ValueError(
                f"analyst dates: mode one of {ANALYST_DATE_MODES} and a shift of at least 1 day, not {self}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalystDates:
        return cls(settings.analyst_dates, settings.analyst_date_shift_days)

    def describe(self) -> str:
        if self.mode == "shift":
            return (
                f"dates shifted per patient by 1 to {self.shift_days} days earlier or later, "
                "the same shift for all of a patient's dates (intervals kept)"
            )
        return f"dates coarsened to the first day of their {self.mode}"

    def short(self) -> str:
        if self.mode == "shift":
            return f"dates shifted per patient by up to \u00b1{self.shift_days} days, intervals kept"
        return f"dates coarsened to the {self.mode}"

    def sql(self, column: str, kind: str) -> str:
        """``column`` (of type ``kind``, a DATE or TIMESTAMP) as published; the shift is ``s.shift_days``."""
        if self.mode == "shift":
            return f"{column} + s.shift_days" if kind == "DATE" else f"{column} + to_days(s.shift_days)"
        return f"CAST(date_trunc('{self.mode}', {column}) AS {kind})"


@dataclass(frozen=True)
class Tier:
    name: str
    directory: Path
    database: Path
    parquet_dir: Path  # the 'parquet' link; it resolves to this publish's version folder
    rows: dict[str, int]  # "schema.table" -> rows
    summary: str

    def describe(self) -> str:
        """One line for the CLI: where the tier is, what it holds, who may have it."""
        return tier_line(self.name, self.directory, self.summary)


@dataclass(frozen=True)
class Published:
    aggregate: Tier
    analyst: Tier
    legacy_removed: tuple[str, ...] = ()  # what was left of the single "published" copy of older versions

    @property
    def tiers(self) -> tuple[Tier, Tier]:
        return self.aggregate, self.analyst

    def lines(self) -> list[str]:
        return [tier.describe() for tier in self.tiers]


def tier_summary(tier: str, dates: AnalystDates | None = None) -> str:
    if tier == AGGREGATE:
        return "suppressed published.v_* views only, no patient-level rows; may be shared outside the registry"
    return (
        f"pseudonymised patient-level rows, {(dates or AnalystDates()).short()}; "
        "registry staff and approved analysts under a data-use agreement, not for release"
    )


def tier_line(tier: str, directory: Path, summary: str) -> str:
    return f"{tier.capitalize() + ' tier':<16}: {directory}  ({summary})"


def describe_tiers(settings: Settings) -> list[str]:
    """The CLI's lines, one per tier, from the settings alone (no publish needed)."""
    dates = AnalystDates.from_settings(settings)
    return [tier_line(tier, settings.publish_dir / tier, tier_summary(tier, dates)) for tier in (AGGREGATE, ANALYST)]


# ---- what each tier holds -------------------------------------------------------------------------------------


def _here(catalog: str, schema: str, pattern: str = "%") -> str:
    name = "table_name" if catalog == "duckdb_tables" else "view_name"
    internal = " AND NOT internal" if catalog == "duckdb_views" else ""
    return (
        f"SELECT schema_name, {name} FROM {catalog}() WHERE database_name = current_database(){internal} "
        f"AND schema_name = '{schema}' AND {name} LIKE '{pattern}' ESCAPE '\\' ORDER BY 2"
    )


def aggregate_relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The ``published.v_*`` views, in a stable order: nothing else (no fallback to the unsuppressed tables)."""
    return con.execute(_here("duckdb_views", "published", "v\\_%")).fetchall()


def analyst_relations(con: duckdb.DuckDBPyConnection, dates: AnalystDates) -> list[tuple[str, str]]:
    """The core tables, ``intermediate.int_follow_up`` (each patient's censoring) and, with shifted dates, the analysis frames.

    Coarsened dates leave the frames out: their ``aval`` is computed from the exact dates.  ``core.site_columns``
    stays in the registry: its values are the sites' own text, which no date protection reaches.
    """
    relations = [r for r in con.execute(_here("duckdb_tables", "core")).fetchall() if r[1] != "site_columns"]
    relations += con.execute(_here("duckdb_views", "intermediate", "int\\_follow\\_up")).fetchall()
    if dates.mode == "shift":
        relations += con.execute(_here("duckdb_tables", "analysis")).fetchall()
    return relations


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(column, kind) for column, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall()]


def _temporal(kind: str) -> bool:
    return kind == "DATE" or kind.startswith("TIMESTAMP")


def aggregate_select(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """``SELECT *`` of a results view, refusing one that carries a patient id or an individual's date."""
    relation = f'{schema}."{name}"'
    for column, kind in _columns(con, relation):
        if column.lower() in PATIENT_COLUMNS or kind in ("UUID", "DATE"):
            raise ValueError(
                f"{relation} has a patient-level column {column} ({kind}): not published in the aggregate tier"
            )
    return f"SELECT * FROM {relation}"


def _analyst_select(con: duckdb.DuckDBPyConnection, schema: str, name: str, dates: AnalystDates) -> str:
    """A patient-level relation with its dates protected, its archive provenance left out, and
    operation-level ``subject_id`` (pseudonym @ exact surgery date) renumbered as pseudonym # n."""
    relation = f'{schema}."{name}"'
    columns = _columns(con, relation)
    has_dates, per_patient = any(_temporal(kind) for _, kind in columns), "patient_id" in dict(columns)
    if has_dates and not per_patient:
        raise ValueError(f"{relation} has dates but no patient_id to shift them by: not published in the analyst tier")
    selected = []
    for column, kind in columns:
        quoted = f'r."{column}"'
        if column in DROPPED_PROVENANCE:
            continue
        if _temporal(kind):
            selected.append(f'{dates.sql(quoted, kind)} AS "{column}"')
        elif column == "subject_id" and kind == "VARCHAR" and per_patient:
            patient = "CAST(r.patient_id AS VARCHAR)"
            selected.append(
                f"CASE WHEN r.subject_id = {patient} THEN r.subject_id ELSE {patient} || '#' || "
                f"dense_rank() OVER (PARTITION BY r.patient_id ORDER BY r.subject_id) END AS subject_id"
            )
        else:
            selected.append(quoted)
    shifts = f" LEFT JOIN {SHIFTS} AS s ON s.patient_id = r.patient_id" if dates.mode == "shift" and has_dates else ""
    return f"SELECT {', '.join(selected)} FROM {relation} AS r{shifts}"


def _create_shifts(con: duckdb.DuckDBPyConnection, dates: AnalystDates, key: bytes) -> None:
    """Temp table (patient_id, shift_days) over every pseudonym in core: a nonzero shift in [-N, N] from the first 48
    bits of HMAC-SHA-256(key', "date-shift" 0x1F pseudonym), key' = HMAC(pseudonym key, SHIFT_CONTEXT), computed by the
    ingest's tested HMAC (the label in the site's place).  The same on every publish (two versions with different shifts
    would narrow each date down), unknowable without the key."""
    tables = [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() JOIN duckdb_columns() USING (database_name, schema_name, table_name) "
            "WHERE database_name = current_database() AND schema_name = 'core' AND column_name = 'patient_id' ORDER BY 1"
        ).fetchall()
    ]
    if not tables:  # a registry without core tables: nothing to shift
        con.execute(f"CREATE OR REPLACE TEMP TABLE {SHIFTS} (patient_id UUID, shift_days INTEGER)")
        return
    ids = " UNION ".join(f"SELECT CAST(patient_id AS VARCHAR) AS patient_id FROM core.{t}" for t in tables)
    derived = hmac.new(key, SHIFT_CONTEXT, hashlib.sha256).digest()
    create_pseudonym_table(con, "_publish_shift_hmac", [f"({ids})"], derived, "date-shift")
    n = dates.shift_days
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {SHIFTS} AS
        SELECT CAST(site_patient_id AS UUID) AS patient_id, CAST(CASE WHEN v < {n} THEN v - {n} ELSE v - {n} + 1 END AS INTEGER) AS shift_days
        FROM (SELECT site_patient_id, CAST('0x' || left(replace(CAST(pseudonym AS VARCHAR), '-', ''), 12) AS BIGINT) % {2 * n} AS v
              FROM _publish_shift_hmac)""")
    con.execute("DROP TABLE _publish_shift_hmac")


# ---- writing a tier -------------------------------------------------------------------------------------------


def _as_parquet(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """SELECT of ``relation`` with UUID columns (the pseudonyms) as text: Parquet readers would show 16 raw bytes."""
    uuids = [column for column, kind in _columns(con, relation) if kind == "UUID"]
    replaced = f" REPLACE ({', '.join(map(pseudonym_as_text, uuids))})" if uuids else ""
    return f"SELECT *{replaced} FROM {relation}"


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str, name: str, published: str) -> None:
    """The source relation's column comments on its copy (the columns the copy kept), so an analyst reading the
    published file has them too."""
    comments = con.execute(
        "SELECT s.column_name, s.comment FROM duckdb_columns() AS s JOIN duckdb_columns() AS c "
        "ON c.database_name = '_publish' AND c.schema_name = s.schema_name AND c.table_name = s.table_name "
        "AND c.column_name = s.column_name "
        "WHERE s.database_name = current_database() AND s.schema_name = ? AND s.table_name = ? "
        "AND s.comment IS NOT NULL",
        [schema, name],
    ).fetchall()
    for column, comment in comments:
        text = comment.replace("'", "''")
        con.execute(f"COMMENT ON COLUMN {published}.\"{column}\" IS '{text}'")


def _copy(
    con: duckdb.DuckDBPyConnection, tier: str, sources: list[tuple[str, str, str]], database: Path, parquet: Path
) -> dict[str, int]:
    """Materialise each (schema, name, SELECT) into a new DuckDB file, and each into Parquet from that same copy."""
    con.execute("ATTACH ? AS _publish", [str(database)])
    try:
        for schema in sorted({schema for schema, _, _ in sources}):
            con.execute(f"CREATE SCHEMA _publish.{schema}")
        rows = {}
        for schema, name, select in sources:
            published = f'_publish.{schema}."{name}"'
            con.execute(f"CREATE TABLE {published} AS {select}")
            _copy_comments(con, schema, name, published)
            rows[f"{schema}.{name}"] = con.execute(f"SELECT count(*) FROM {published}").fetchall()[0][0]
            target = parquet / f"{schema}.{name}.parquet"
            quoted = str(target).replace("'", "''")
            con.execute(f"COPY ({_as_parquet(con, published)}) TO '{quoted}' (FORMAT parquet)")
            target.chmod(0o444)
            _step(f"{tier}: copied {schema}.{name}")
        con.execute("CHECKPOINT _publish")
    finally:
        con.execute("DETACH _publish")
    _step(f"{tier}: checkpointed")
    return rows


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(tier_dir: Path) -> list[Path]:
    """Remove what an interrupted publish left in a tier folder (``.partial`` files, their ``.wal``, links, version folders)."""
    found = [p for p in tier_dir.glob(f".*{PARTIAL}*")] + [p for p in (tier_dir / VERSIONS).glob(f"*{PARTIAL}")]
    for path in found:
        _remove(path)
    return found


def _write_atomically(path: Path, text: str, stamp: str) -> None:
    staged = path.with_name(f".{path.name}.{stamp}{PARTIAL}")
    staged.write_text(text, encoding="utf-8")
    staged.replace(path)


def _publish_tier(
    con: duckdb.DuckDBPyConnection,
    tier: str,
    tier_dir: Path,
    stamp: str,
    sources: list[tuple[str, str, str]],
    summary: str,
    readme: str,
) -> Tier:
    versions = tier_dir / VERSIONS
    staged_version = versions / f"{stamp}{PARTIAL}"
    staged_version.mkdir(parents=True)
    database = tier_dir / database_name(tier)
    staged = tier_dir / f".{database.name}.{stamp}{PARTIAL}"
    try:
        rows = _copy(con, tier, sources, staged, staged_version)
    except BaseException:
        clean_leftovers(tier_dir)
        raise
    staged.chmod(0o444)
    staged_version.rename(versions / stamp)
    _step(f"{tier}: staged")
    staged.replace(database)
    _step(f"{tier}: database swapped")
    link = tier_dir / PARQUET_LINK
    previous = Path(os.readlink(link)).name if link.is_symlink() else None
    staged_link = tier_dir / f".{PARQUET_LINK}.{stamp}{PARTIAL}"
    os.symlink(Path(VERSIONS) / stamp, staged_link, target_is_directory=True)
    staged_link.replace(link)
    _step(f"{tier}: parquet swapped")
    _write_atomically(
        tier_dir / README, readme.replace("{relations}", "\n".join(f"- `{r}`" for r in rows) or "- (none yet)"), stamp
    )
    for old in versions.iterdir():  # keep this version and the one a slow reader may still be in
        if old.name not in (stamp, previous):
            _remove(old)
    return Tier(tier, tier_dir, database, link, rows, summary)


def _remove_legacy(publish_dir: Path) -> tuple[str, ...]:
    """Remove the single patient-level "published" copy that older versions wrote directly in the publish folder."""
    candidates = [publish_dir / LEGACY_DATABASE, publish_dir / f"{LEGACY_DATABASE}.wal"]
    candidates += list(publish_dir.glob(f".{LEGACY_DATABASE}.*{PARTIAL}*")) + list(
        publish_dir.glob(f".{PARQUET_LINK}.*{PARTIAL}")
    )
    if (publish_dir / PARQUET_LINK).is_symlink():
        candidates.append(publish_dir / PARQUET_LINK)
    if (publish_dir / VERSIONS).is_dir():
        candidates += [p for p in (publish_dir / VERSIONS).iterdir() if STAMP.fullmatch(p.name.removesuffix(PARTIAL))]
    removed = [p for p in candidates if p.exists() or p.is_symlink()]
    for path in removed:
        _remove(path)
    if (publish_dir / VERSIONS).is_dir() and not any((publish_dir / VERSIONS).iterdir()):
        (publish_dir / VERSIONS).rmdir()
    return tuple(sorted(str(p.relative_to(publish_dir)) for p in removed))


@contextmanager
def _publish_lock(publish_dir: Path) -> Iterator[None]:
    """One publish at a time per folder (released by the kernel if the process dies)."""
    with (publish_dir / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(con: duckdb.DuckDBPyConnection, settings: Settings) -> Published:
    """Write new copies of both tiers of the registry behind ``con`` and swap each in atomically."""
    dates = AnalystDates.from_settings(settings)
    publish_dir = settings.publish_dir
    publish_dir.mkdir(parents=True, exist_ok=True)
    with _publish_lock(publish_dir):
        for tier in (AGGREGATE, ANALYST):
            clean_leftovers(publish_dir / tier)
        _step("cleaned")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        aggregate = [(s, n, aggregate_select(con, s, n)) for s, n in aggregate_relations(con)]
        readme = AGGREGATE_README.replace("{threshold}", str(settings.min_cell_count))
        tiers = {
            AGGREGATE: _publish_tier(
                con, AGGREGATE, publish_dir / AGGREGATE, stamp, aggregate, tier_summary(AGGREGATE), readme
            )
        }
        if dates.mode == "shift":
            _create_shifts(con, dates, settings.pseudonym_key)
        try:
            analyst = [(s, n, _analyst_select(con, s, n, dates)) for s, n in analyst_relations(con, dates)]
            readme = ANALYST_README.replace("{dates}", _dates_paragraph(dates))
            tiers[ANALYST] = _publish_tier(
                con, ANALYST, publish_dir / ANALYST, stamp, analyst, tier_summary(ANALYST, dates), readme
            )
        finally:
            con.execute(f"DROP TABLE IF EXISTS {SHIFTS}")
        legacy = _remove_legacy(publish_dir)
        _step("done")
    return Published(tiers[AGGREGATE], tiers[ANALYST], legacy)


def _dates_paragraph(dates: AnalystDates) -> str:
    if dates.mode == "shift":
        return (
            f"How dates are protected: {dates.describe()} (`GIST_ANALYST_DATES=shift`, `GIST_ANALYST_DATE_SHIFT_DAYS={dates.shift_days}`).\n"
            "Durations (survival times, time to surgery, lines of therapy) are exact; calendar dates are not: do not\n"
            "use them for calendar-period questions finer than a year. Shifted dates may fall after the data cut-off;\n"
            "censor at `intermediate.int_follow_up.censor_date`, shifted with the patient. Operation-level frames number a\n"
            "patient's operations in `subject_id` (pseudonym#n) instead of naming the surgery date. Birth year is\n"
            "as sent. Exact intervals are themselves identifying to someone who knows two of a patient's dates."
        )
    return (
        f"How dates are protected: {dates.describe()} (`GIST_ANALYST_DATES={dates.mode}`). Intervals computed from them are\n"
        "approximate, so the analysis frames (whose times come from the exact dates) are left out."
    )


AGGREGATE_README = """# gist-registry: aggregate tier

**Access: may be sent outside the registry** (collaborators, journals, steering committees).

What it holds: the registry's published results only, the `published.v_*` views (survival summaries,
landmarks, Kaplan-Meier curves without counts, log-rank tests, hazard ratios, Table 1, limits, site
overview), with small counts suppressed (below `GIST_MIN_CELL_COUNT` = {threshold} at this publish;
`sql/README.md` describes what is suppressed and how). No patient-level row, no pseudonym, no individual's date, and not the
unsuppressed `results` tables.

Files: `gist_registry_aggregate.duckdb` (open it with `read_only=True`) and
`parquet/<schema>.<view>.parquet`, the same tables. Both are replaced as a whole after every refresh
(a reader sees one complete version); `versions/` holds the Parquet folders, the current one and the
one before it.

Relations:
{relations}
"""

ANALYST_README = """# gist-registry: analyst tier

**Access: registry staff and approved analysts under a data-use agreement only. Not for release**:
never send this folder, or rows from it, outside the registry. Results for outside use are in
`../aggregate/`.

What it holds: pseudonymised patient-level rows: the `core` tables (patients, TKI episodes,
surgeries, progressions), `intermediate.int_follow_up` (each patient's censoring date, as every analysis
uses it) and, when dates are shifted, the `analysis` time-to-event frames. Patient ids are the
registry's pseudonyms (keyed HMAC; `patient_id`), stable across refreshes.

{dates}
Left out: `drop_id`, `source_file` and `line_number` (they locate the row in the archived raw file
and the registrar's report). The rows are still about individuals: with site, sex, birth year and
tumour details they can single a patient out to someone who knows them.

Files: `gist_registry_analyst.duckdb` (open it with `read_only=True`) and
`parquet/<schema>.<table>.parquet` (pseudonyms as text). Both are replaced as a whole after every
refresh (a reader sees one complete version); `versions/` holds the Parquet folders, the current one
and the one before it.

Relations:
{relations}
"""
