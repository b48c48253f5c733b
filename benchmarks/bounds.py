"""What any ingest with the brief's two layers costs before a single check, against the ingest target
(``MAX_INGEST_RATIO`` of :mod:`benchmarks.report`).

    python -m benchmarks.bounds COHORT_DIR WORK_DIR [OUT_JSON]   (a cohort from ``python -m fixtures cohort``)

The brief's data flow writes every drop twice: as text to ``raw`` (with file and line
provenance) and as typed rows to ``core``.  This times, on one generated cohort: the floor
(DuckDB's ``read_csv``), the pipeline's receive step (archive + raw load, which holds the parse
and the first write), the cheapest possible second write (a typed copy from ``raw`` into tables
shaped like ``core``, in SQL: ``TRY_CAST`` of the trimmed text, no date formats, no missing
tokens or code lists, no checks, no quarantine; scratch tables dropped afterwards) and the
pipeline's real core step.  What the limit leaves after the first two is the budget for
everything the core step does beyond writing; docs/scaling.md quotes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

from benchmarks.environment import use_cohort
from benchmarks.report import MAX_INGEST_RATIO as INGEST_LIMIT
from benchmarks.stages import clock, connected, floor_seconds, load_sites, receive_sites
from pipelines.ingest.drops import site_ids
from pipelines.registry.ddl import column_type, create_registry
from pipelines.settings import Settings, load_settings
from schemas.contract import CONTRACT, polars_schema

LIMIT = INGEST_LIMIT  # the target: ingest to core within this many times the floor
SCRATCH = "ingest_bound"


def _typed_copy_sql(table: str) -> str:
    """``INSERT`` of one site's raw rows into the scratch copy of ``core.<table>``, typed by SQL casts only."""
    types = {
        name: (column_type(name, dtype, typed=False), column_type(name, dtype, typed=True))
        for name, dtype in polars_schema(table).items()
    }
    columns = [
        name if raw == core else f"TRY_CAST(trim({name}) AS {core}) AS {name}" for name, (raw, core) in types.items()
    ]
    return (
        f"INSERT INTO {SCRATCH}.{table} BY NAME SELECT site_id, drop_id, source_file, line_number, {', '.join(columns)} "
        f"FROM raw.{table} WHERE site_id = $site"
    )


def typed_copy_seconds(settings: Settings, sites: list[str]) -> float:
    """Each site's raw rows copied, typed, into tables shaped like ``core``, one connection per site as the pipeline."""

    def create(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"CREATE SCHEMA {SCRATCH}")
        for table in CONTRACT:
            con.execute(f"CREATE TABLE {SCRATCH}.{table} AS SELECT * FROM core.{table} LIMIT 0")

    def copy(con: duckdb.DuckDBPyConnection, site: str) -> None:
        for table in CONTRACT:
            con.execute(_typed_copy_sql(table), {"site": site})

    def check_and_drop(con: duckdb.DuckDBPyConnection) -> None:
        for table in CONTRACT:  # a bound is only a bound if every raw row was copied
            copied, received = con.execute(
                f"SELECT (SELECT count(*) FROM {SCRATCH}.{table}), (SELECT count(*) FROM raw.{table})"
            ).fetchone()
            if copied != received:
                raise RuntimeError(f"typed copy of raw.{table}: {copied} rows, raw holds {received}")
        con.execute(f"DROP SCHEMA {SCRATCH} CASCADE")

    connected(settings, create)
    seconds = clock(lambda: [connected(settings, lambda con, s=site: copy(con, s)) for site in sites])
    connected(settings, check_and_drop)
    return seconds


def measure(cohort: Path, work: Path) -> dict[str, float]:
    use_cohort(cohort, work)
    settings = load_settings()
    sites = site_ids(settings.drop_dir)
    floor = floor_seconds(settings, sites, work)
    connected(settings, create_registry)
    receive = clock(lambda: receive_sites(settings, sites))
    copy = typed_copy_seconds(settings, sites)
    core = clock(lambda: load_sites(settings, sites))
    return {
        "floor": floor,
        "receive": receive,
        "typed_copy": copy,
        "core_step": core,
        "limit": LIMIT * floor,
        "budget_beyond_writes": LIMIT * floor - receive - copy,
    }


def report(seconds: dict[str, float]) -> str:
    floor = seconds["floor"]
    lines = [
        ("floor: DuckDB read_csv of the drop into a file database", seconds["floor"]),
        ("receive: archive + raw load (parse, first write: text, provenance, pseudonyms)", seconds["receive"]),
        ("typed copy raw -> core in SQL (second write, no checks: a lower bound)", seconds["typed_copy"]),
        ("  both layers written, nothing checked", seconds["receive"] + seconds["typed_copy"]),
        (f"ingest target ({LIMIT:g}x the floor)", seconds["limit"]),
        (
            "  left for typing by the profile, pandera, cross-table rules, quarantine, report",
            seconds["budget_beyond_writes"],
        ),
        ("the pipeline's core step (all of that and the second write)", seconds["core_step"]),
    ]
    return "\n".join(f"{label:<88} {value:7.2f} s  {value / floor:5.2f}x" for label, value in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bounds", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cohort", type=Path, help="a generated cohort (its drops/, profiles/ and TRUTH.json)")
    parser.add_argument("work", type=Path, help="a folder for the registry written (created)")
    parser.add_argument("out", type=Path, nargs="?", help="write the seconds as JSON here too")
    args = parser.parse_args(argv)
    measured = measure(args.cohort, args.work)
    print(report(measured))
    if args.out:
        args.out.write_text(json.dumps(measured, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
