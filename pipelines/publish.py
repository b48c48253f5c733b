"""Publish a read-only copy of the registry for analysts, swapped in atomically.

Analysts read ``<publish_dir>/gist_registry_published.duckdb`` (open it with
``read_only=True``) and ``<publish_dir>/parquet/<schema>.<table>.parquet``
while the pipeline writes the live registry.  Each publish builds a complete
new copy under a temporary name and then renames it into place, so a reader
sees the old copy or the new one, never a mixture or half a file: the DuckDB
file is replaced with one ``rename``; ``parquet`` is a symbolic link switched
with one ``rename`` to a new version folder (the previous folder is kept for
readers still in it, older ones are removed).

What is published: the ``core`` tables and, from ``results``, the ``v_*``
views (where small counts are suppressed) when they exist, else the results
tables themselves.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.ingest.pseudonym import pseudonym_as_text

DATABASE_NAME = "gist_registry_published.duckdb"
PARQUET_LINK = "parquet"
VERSIONS = "versions"
KEEP_VERSIONS = 2  # the current one and the one a slow reader may still be in


@dataclass(frozen=True)
class Published:
    database: Path
    parquet_dir: Path  # the 'parquet' link; it resolves to this publish's version folder
    rows: dict[str, int]  # "schema.table" -> rows


def published_relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, name) of what to publish, in a stable order."""
    here = "database_name = current_database()"
    core = con.execute(f"SELECT schema_name, table_name FROM duckdb_tables() WHERE {here} AND schema_name = 'core' ORDER BY 2").fetchall()
    views = con.execute(f"SELECT schema_name, view_name FROM duckdb_views() WHERE {here} AND NOT internal AND schema_name = 'results' "
                        "AND view_name LIKE 'v\\_%' ESCAPE '\\' ORDER BY 2").fetchall()
    tables = con.execute(f"SELECT schema_name, table_name FROM duckdb_tables() WHERE {here} AND schema_name = 'results' ORDER BY 2").fetchall()
    return core + (views or tables)


def _as_parquet(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """SELECT of ``relation`` with UUID columns (the pseudonyms) as text: Parquet readers would show 16 raw bytes."""
    uuids = [column for column, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall() if kind == "UUID"]
    replaced = f" REPLACE ({', '.join(map(pseudonym_as_text, uuids))})" if uuids else ""
    return f"SELECT *{replaced} FROM {relation}"


def _copy(con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]], database: Path, parquet: Path) -> dict[str, int]:
    """Materialise every relation into a new DuckDB file, and each into Parquet from that same copy."""
    con.execute("ATTACH ? AS _publish", [str(database)])
    try:
        for schema in sorted({schema for schema, _ in relations}):
            con.execute(f"CREATE SCHEMA _publish.{schema}")
        rows = {}
        for schema, name in relations:
            published = f'_publish.{schema}."{name}"'
            con.execute(f'CREATE TABLE {published} AS SELECT * FROM {schema}."{name}"')
            rows[f"{schema}.{name}"] = con.execute(f"SELECT count(*) FROM {published}").fetchall()[0][0]
            target = str(parquet / f"{schema}.{name}.parquet").replace("'", "''")
            con.execute(f"COPY ({_as_parquet(con, published)}) TO '{target}' (FORMAT parquet)")
        con.execute("CHECKPOINT _publish")
    finally:
        con.execute("DETACH _publish")
    return rows


def _prune(versions: Path, keep: int) -> None:
    for old in sorted(p for p in versions.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def publish(con: duckdb.DuckDBPyConnection, publish_dir: Path) -> Published:
    """Write a new published copy of the registry behind ``con`` and swap it in atomically."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    versions = publish_dir / VERSIONS
    version = versions / stamp
    version.mkdir(parents=True)
    staged = publish_dir / f".{DATABASE_NAME}.{stamp}.partial"
    rows = _copy(con, published_relations(con), staged, version)
    staged.chmod(0o444)
    staged.replace(publish_dir / DATABASE_NAME)
    link = publish_dir / f".{PARQUET_LINK}.{stamp}.partial"
    os.symlink(Path(VERSIONS) / stamp, link, target_is_directory=True)
    link.replace(publish_dir / PARQUET_LINK)
    _prune(versions, KEEP_VERSIONS)
    return Published(publish_dir / DATABASE_NAME, publish_dir / PARQUET_LINK, rows)
