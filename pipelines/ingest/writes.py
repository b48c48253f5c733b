"""The per-site writes of ingest: a site's rows in a layer are replaced in one transaction, counted back before it commits.

A drop is a full snapshot of its site, so loading it deletes that site's rows and inserts the new
ones atomically; if anything fails, DuckDB rolls back and the previous good state stays.  Each write
records its step in the ledger (``audit.drops``, ``pipelines.registry.store``).
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.columns import LINE, PARSE_ERROR
from pipelines.ingest.accounting import AccountingError
from pipelines.ingest.drops import SiteDrop
from pipelines.ingest.quality import record_check_history
from pipelines.ingest.site_columns import insert_long
from pipelines.ingest.site_drop import StagedTable, ValidatedTable
from pipelines.registry.store import ReceivedDrop, insert_frame, record_drop, transaction


def _files(drop: SiteDrop) -> dict:
    return {t: {"file": f.path.name, "sha256": f.sha256, "bytes": f.size_bytes} for t, f in drop.files.items()}


def _written(con: duckdb.DuckDBPyConnection, target: str, site_id: str, table: str | None = None) -> tuple[int, int]:
    """(rows, distinct lines) of the site in ``target`` (of one table, for the audit tables)."""
    where = "site_id = ?" + (" AND table_name = ?" if table else "")
    return con.execute(
        f"SELECT count(*), count(DISTINCT {LINE}) FROM {target} WHERE {where}", [site_id, table] if table else [site_id]
    ).fetchall()[0]


def _check_written(
    con: duckdb.DuckDBPyConnection, target: str, site_id: str, expected: int, table: str | None = None
) -> None:
    """Inside the write's transaction: ``target`` holds exactly ``expected`` rows of the site, one per line, or it rolls back."""
    rows, lines = _written(con, target, site_id, table)
    if rows != expected or lines != expected:
        raise AccountingError(
            f"{target}{f' ({table})' if table else ''}: {rows} rows on {lines} distinct lines written for "
            f"site {site_id}, {expected} expected; nothing was written"
        )


def replace_site_raw(
    con: duckdb.DuckDBPyConnection,
    drop: SiteDrop,
    tables: dict[str, StagedTable],
    archive_path: str,
    profile_sha256: str,
) -> None:
    """Replace the site's raw rows with the drop's staged text rows and record the drop as received.

    Each table's rows are counted back inside the transaction: a staged line stored twice (or not at
    all) rolls the whole drop back instead of being quarantined twice downstream.
    """
    with transaction(con):
        con.execute("DELETE FROM raw.site_columns WHERE site_id = ?", [drop.site_id])
        for table, staged in tables.items():
            con.execute(f"DELETE FROM raw.{table} WHERE site_id = ?", [drop.site_id])
            con.execute(
                f"INSERT INTO raw.{table} BY NAME SELECT *, $site AS site_id, $drop AS drop_id, $file AS source_file "
                f"FROM {staged.table}",
                {"site": drop.site_id, "drop": drop.drop_id, "file": drop.files[table].path.name},
            )
            _check_written(con, f"raw.{table}", drop.site_id, staged.input_rows)
            if staged.site.view:
                insert_long(
                    con,
                    staged.site.view,
                    "raw.site_columns",
                    site_id=drop.site_id,
                    drop_id=drop.drop_id,
                    source_file=drop.files[table].path.name,
                    table_name=table,
                )
        counts = {
            t: {"input_rows": r.input_rows, "blank_rows": r.blank_rows}
            | ({"filtered_rows": r.filtered_rows} if r.filtered_rows else {})
            for t, r in tables.items()
        }
        extra = {t: list(r.extra_columns) for t, r in tables.items() if r.extra_columns}
        not_stored = {t: r.site.not_stored for t, r in tables.items() if r.site.not_stored}
        record_drop(
            con,
            drop.site_id,
            drop.drop_id,
            "received",
            files=_files(drop),
            counts=counts,
            extra=extra,
            archive_path=archive_path,
            profile_sha256=profile_sha256,
            not_stored=not_stored,
        )


def read_site_raw(con: duckdb.DuckDBPyConnection, site_id: str, table: str, columns: list[str]) -> pl.DataFrame:
    """The site's raw rows of one table: LINE, PARSE_ERROR + canonical text columns, in the order they were inserted.

    That is file order with the malformed lines last (how :func:`replace_site_raw` inserts them;
    DuckDB keeps insertion order), so no sort is needed: everything downstream sorts by LINE where order matters.
    """
    query = f"SELECT {LINE}, {PARSE_ERROR}, {', '.join(columns)} FROM raw.{table} WHERE site_id = $site"
    return con.sql(query, params={"site": site_id}).pl()


def replace_site_core(
    con: duckdb.DuckDBPyConnection,
    received: ReceivedDrop,
    validated: dict[str, ValidatedTable],
    accounting: dict[str, dict[str, int]],
) -> dict[str, dict[str, int]]:
    """Replace the site's core rows, quarantine and issues; record the drop as loaded. Returns row counts.

    ``accounting`` is each table's balance against the archived file (already checked); what was
    written is counted back before the commit, so the ledger's counts are the tables' counts.
    """
    site_id, drop_id, sources = received.site_id, received.drop_id, received.sources
    counts = {}
    with transaction(con):
        con.execute("DELETE FROM core.site_columns WHERE site_id = ?", [site_id])
        for table, result in validated.items():
            provenance = {"site_id": site_id, "drop_id": drop_id, "source_file": sources[table]}
            con.execute(f"DELETE FROM core.{table} WHERE site_id = ?", [site_id])
            for target in ("audit.quarantine", "audit.issues"):
                con.execute(f"DELETE FROM {target} WHERE site_id = ? AND table_name = ?", [site_id, table])
            insert_frame(con, f"core.{table}", result.loaded, **provenance)
            raw_columns = [
                c
                for c in result.quarantined.columns
                if c not in {LINE, PARSE_ERROR, "check_id", "column", "message", "all_messages"}
            ]
            quarantined = result.quarantined.with_columns(
                pl.struct(raw_columns).struct.json_encode().alias("raw_values")
            )
            insert_frame(
                con, "audit.quarantine", quarantined.rename({"column": "column_name"}), table_name=table, **provenance
            )
            insert_frame(
                con, "audit.issues", result.issues.rename({"column": "column_name"}), table_name=table, **provenance
            )
            _check_written(con, f"core.{table}", site_id, result.loaded.height)
            _load_site_columns(con, site_id, table, result.loaded.select(LINE))
            _check_written(con, "audit.quarantine", site_id, result.quarantined.height, table)
            counts[table] = {
                **accounting[table],
                "warnings": result.issues.filter(pl.col("severity") == "warning").height,
            }
        record_check_history(con, site_id, drop_id, {table: c["data_lines"] for table, c in counts.items()})
        record_drop(con, site_id, drop_id, "loaded", counts=counts, profile_sha256=received.profile_sha256)
    return counts


def _load_site_columns(con: duckdb.DuckDBPyConnection, site_id: str, table: str, loaded: pl.DataFrame) -> None:
    """The site columns of the lines loaded into ``core`` (a quarantined line's values stay in raw only)."""
    con.register("_loaded_lines", loaded)
    try:
        con.execute(
            f"INSERT INTO core.site_columns SELECT r.* FROM raw.site_columns r SEMI JOIN _loaded_lines l "
            f"ON l.{LINE} = r.line_number WHERE r.site_id = ? AND r.table_name = ?",
            [site_id, table],
        )
    finally:
        con.unregister("_loaded_lines")


def record_rejected(
    con: duckdb.DuckDBPyConnection, drop: SiteDrop, message: str, archive_path: str | None, profile_sha256: str | None
) -> None:
    """Record a drop refused by its data; the site's rows are untouched."""
    record_drop(
        con,
        drop.site_id,
        drop.drop_id,
        "rejected",
        files=_files(drop),
        message=message,
        archive_path=archive_path,
        profile_sha256=profile_sha256,
    )
