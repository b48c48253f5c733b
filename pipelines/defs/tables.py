"""Asset specs at table grain: one asset key per registry table or view, described by the contract or its SQL file.

Dagster shows each table as its own node (``raw/patients``, ``core/patients``, ``intermediate/int_follow_up``,
``analysis/mutation``, ``results/cox``, ``published/v_hazard_ratios``) with its columns, types and meanings
(``schemas/contract.py``, ``schemas/results.py``, the SQL file's header), so lineage and checks attach to a
table, not to the step that happens to write several.  Lineage between the SQL layers is read from the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.columns import PSEUDONYM_TYPE
from pipelines.registry.ddl import DUCKDB_TYPE, PROVENANCE_COMMENTS
from pipelines.sql_models import LAYERS, documented_columns, models
from schemas.contract import CONTRACT, polars_schema
from schemas.results import RESULTS

COLUMN_SCHEMA = "dagster/column_schema"
ROW_COUNT = "dagster/row_count"


def contract_schema(table: str, *, as_received: bool = False) -> dg.TableSchema:
    """The contract table's DuckDB columns (raw: every value as text, as received) after the provenance columns."""
    required = dg.TableColumnConstraints(nullable=False)
    columns = [
        dg.TableColumn(name, "BIGINT" if name == "line_number" else "VARCHAR", description=text, constraints=required)
        for name, text in PROVENANCE_COMMENTS.items()
    ]
    types = polars_schema(table)
    for name, column in CONTRACT[table].to_schema().columns.items():
        stored = PSEUDONYM_TYPE if name == "patient_id" else "VARCHAR" if as_received else DUCKDB_TYPE[types[name]]
        columns.append(
            dg.TableColumn(
                name,
                stored,
                description=f"{column.description}{' (as received)' if as_received else ''}",
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable or as_received)),
            )
        )
    return dg.TableSchema(columns=columns)


def table_specs(layer: str, **spec: object) -> list[dg.AssetSpec]:
    """One spec per contract table in ``layer`` (``raw`` or ``core``), e.g. ``core/patients``."""
    return [
        dg.AssetSpec(
            dg.AssetKey([layer, table]),
            description=(
                f"`{layer}.{table}`: {CONTRACT[table].__doc__.strip()}"
                + (" Every value as received, as text, with file and line provenance." if layer == "raw" else "")
            ),
            metadata={COLUMN_SCHEMA: contract_schema(table, as_received=layer == "raw")},
            **spec,
        )
        for table in CONTRACT
    ]


def site_row_counts(con: duckdb.DuckDBPyConnection, layer: str, site_id: str) -> dict[str, int]:
    """Rows per contract table of ``layer`` held for one site (the partition's row count in Dagster)."""
    return {
        table: con.execute(f"SELECT count(*) FROM {layer}.{table} WHERE site_id = ?", [site_id]).fetchall()[0][0]
        for table in CONTRACT
    }


def results_schema(table: str) -> dg.TableSchema:
    """A ``results.*`` table's columns, DuckDB types and meanings, from the results contract."""
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.duckdb_type, description=c.meaning) for c in RESULTS[table].columns]
    )


def header(path: Path) -> str:
    """A model file's opening comment up to its column list: what the model is, in the file's words."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--") or re.match(r"^--\s{2,}\w", line):  # the column list is indented
            break
        lines.append(line[2:].strip())
    return f"{' '.join(lines)} (sql/{path.parent.name}/{path.name})"


@dataclass(frozen=True)
class SqlAsset:
    """One asset built by the SQL layers: the relation it is, the file, and the assets it reads."""

    key: dg.AssetKey
    relation: str  # schema.name
    path: Path
    deps: tuple[dg.AssetKey, ...]

    def spec(self, **spec: object) -> dg.AssetSpec:
        return dg.AssetSpec(self.key, description=header(self.path), deps=self.deps, **spec)


NO_ASSET_SCHEMAS = ("audit",)  # written by ingest beside core (drops, quarantine), not tables of their own in Dagster


def sql_assets(layer: str) -> list[SqlAsset]:
    """The assets of one SQL layer, with the lineage its files' FROM and JOIN give.

    ``sql/core``: each ``intermediate.int_*`` view; ``sql/analysis``: each frame table (its file's
    helper ``*_subjects`` view belongs to it; ``analysis.time_to_event`` is a macro, whose reads
    count for every frame that calls it); ``sql/results``: each ``published.v_*`` view.
    """
    every = [m for name in LAYERS for m in models(name)]
    macros = {m.name: m.reads for m in every if m.kind == "MACRO"}
    tables = {m.path: m.name for m in every if m.kind == "TABLE"}
    owner = {m.name: tables.get(m.path, m.name) for m in every if m.kind != "MACRO"}
    base = {f"core.{t}": dg.AssetKey(["core", t]) for t in CONTRACT} | {
        f"results.{t}": dg.AssetKey(["results", t]) for t in RESULTS
    }

    def key(relation: str) -> dg.AssetKey:
        return dg.AssetKey(relation.split("."))

    def resolve(relation: str) -> set[dg.AssetKey]:
        if relation in owner:
            return {key(owner[relation])}
        if relation in macros:
            return set().union(*map(resolve, macros[relation]))
        if relation in base:
            return {base[relation]}
        if relation.split(".")[0] in NO_ASSET_SCHEMAS:
            return set()
        raise ValueError(f"{relation} is read by a SQL model but is neither a model nor a registry table")

    found: dict[str, SqlAsset] = {}
    for model in models(layer):
        if model.kind == "MACRO":
            continue
        name = owner[model.name]
        reads = set().union(*map(resolve, model.reads)) - {key(name)}
        if name in found:  # a helper view of the file's table
            reads |= set(found[name].deps)
        found[name] = SqlAsset(key(name), name, model.path, tuple(sorted(reads, key=str)))
    return list(found.values())


def relation_metadata(con: duckdb.DuckDBPyConnection, relation: str, path: Path) -> dict[str, object]:
    """Rows and columns of a built view or table, the columns' meanings from its file's header."""
    meanings = documented_columns(path)
    columns = [
        dg.TableColumn(name, kind, description=meanings.get(name))
        for name, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall()
    ]
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    return {ROW_COUNT: rows, COLUMN_SCHEMA: dg.TableSchema(columns=columns)}
