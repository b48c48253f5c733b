"""Run the SQL models in ``sql/`` layer by layer (core -> analysis -> results).

``sql/core`` holds the derived ``intermediate.int_*`` views (schema ``intermediate``, apart from the contract
tables in ``core``); ``sql/results`` holds the suppression macros (schema ``results``, beside the tables they read) and the
published views (schema ``published``: what leaves the registry, apart from the internal tables).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("core", "analysis", "results")
# Where a layer's views live (core's too: registries from before `intermediate` hold int_* views there).
VIEW_SCHEMAS = {"core": ("core", "intermediate"), "analysis": ("analysis",), "results": ("published",)}


def model_files(layer: str) -> list[Path]:
    return sorted((SQL_DIR / layer).glob("*.sql"))


_DOCUMENTED = re.compile(r"^--\s{2,}(\w+(?:\s*[,/]\s*\w+)*)\s*:\s*(.+)$")  # "--   n, events : meaning"


def documented_columns(path: Path) -> dict[str, str]:
    """Column -> meaning from a model's header (``--   a, b / _c : text``; ``_c`` is ``a``'s stem + ``_c``).

    The header is where a model's columns are explained; reading it for ``COMMENT ON COLUMN`` keeps one text.
    """
    meanings: dict[str, str] = {}
    last: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        match = _DOCUMENTED.match(line)
        if match:
            last = []
            for name in re.split(r"\s*[,/]\s*", match.group(1)):
                last.append(last[0].rsplit("_", 1)[0] + name if name.startswith("_") and last else name)
            meanings |= dict.fromkeys(last, match.group(2).strip())
        elif last and re.match(r"^--\s{6,}\S", line):  # a continuation line of the last column's text
            meanings |= {name: f"{meanings[name]} {line[2:].strip()}" for name in last}
        else:
            last = []
    return meanings


_CREATED = re.compile(r"CREATE OR REPLACE (VIEW|TABLE|MACRO) (\w+)\.(\w+)", re.IGNORECASE)
_READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)\.(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Model:
    """One ``CREATE OR REPLACE`` statement of a model file: what it creates and the relations it reads."""

    path: Path
    kind: str  # VIEW, TABLE or MACRO
    name: str  # schema.relation
    reads: frozenset[str]  # schema.relation after FROM or JOIN (a table macro called there: the tables it reads)


def models(layer: str) -> list[Model]:
    """Every statement of ``layer``'s files, in file order, read without its comments.

    The lineage Dagster draws between the SQL layers comes from here, so it is the files' own
    FROM and JOIN, never a list kept beside them.
    """
    found = []
    for path in model_files(layer):
        text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        for statement in re.split(r"(?=CREATE OR REPLACE )", text):
            created = _CREATED.match(statement)
            if created:
                reads = {f"{schema}.{name}".lower() for schema, name in _READ.findall(statement)}
                name = f"{created.group(2)}.{created.group(3)}".lower()
                found.append(Model(path, created.group(1).upper(), name, frozenset(reads - {name})))
    macros = {m.name: m.reads for m in found if m.kind == "MACRO"}  # a table macro read in FROM reads its tables
    return [
        replace(m, reads=frozenset().union(*(macros.get(r, {r}) for r in m.reads))) if m.kind != "MACRO" else m
        for m in found
    ]


def define_settings(con: duckdb.DuckDBPyConnection, cutoff: dt.date | None, min_cell_count: int) -> None:
    """The configuration the SQL models read, as macros, so a model never hard-codes it.

    ``core.data_cutoff()`` is the configured cut-off date (today when none is set);
    ``results.min_cell_count()`` is the smallest count the results views publish.
    """
    value = f"DATE '{cutoff.isoformat()}'" if cutoff else "current_date"
    con.execute(f"CREATE OR REPLACE MACRO core.data_cutoff() AS {value}")
    con.execute(f"CREATE OR REPLACE MACRO results.min_cell_count() AS {int(min_cell_count)}")


def drop_views(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Drop the schema's views: a layer's views are rebuilt from its files, so none outlives its file."""
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = ? AND NOT internal AND database_name = current_database()",
        [schema],
    ).fetchall()
    for (view,) in views:
        con.execute(f'DROP VIEW "{schema}"."{view}"')


def run_layer(con: duckdb.DuckDBPyConnection, layer: str) -> list[str]:
    """Rebuild ``layer``'s views and tables from its files, in file order; returns the files run, for metadata.

    Views are dropped first, so a model deleted from ``sql/`` disappears and a model may turn
    from a view into a table (``CREATE OR REPLACE`` cannot change an object's type).
    """
    for schema in VIEW_SCHEMAS[layer]:
        drop_views(con, schema)
    ran = []
    for path in model_files(layer):
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as err:
            raise RuntimeError(f"sql/{layer}/{path.name}: {err}") from err
        ran.append(f"sql/{layer}/{path.name}")
    return ran
