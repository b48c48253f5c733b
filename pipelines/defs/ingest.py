"""Ingest assets, one partition per site: the drop received (`raw/<table>`), then validated (`core/<table>`)."""

from collections.abc import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.defs.tables import ROW_COUNT, site_row_counts, table_specs
from pipelines.ingest.checks import ERROR, checks_for_table
from pipelines.ingest.quality import load_thresholds, measure_table
from pipelines.ingest.steps import StepResult, load_core, receive_drop
from pipelines.registry.ddl import ensure_registry
from pipelines.registry.integrity import describe, registry_problems
from pipelines.resources import WRITER_POOL, RegistrySettings
from schemas.contract import CONTRACT

site_partitions = dg.DynamicPartitionsDefinition(name="site")


def _metadata(result: StepResult) -> dict[str, object]:
    """Ids, counts and the report's location only: no patient ids or values (those stay in the report beside the archive)."""
    metadata = {
        "drop_id": result.drop_id or "",
        "status": result.status,
        "outcome": result.summary(),
        "message": result.message,
        "row_counts": dg.MetadataValue.json(result.counts),
    }
    if result.report:
        metadata["validation_report"] = dg.MetadataValue.path(str(result.report))
        metadata["validation_report_url"] = dg.MetadataValue.url(result.report.as_uri())
        metadata["validation_report_csv"] = dg.MetadataValue.path(str(result.report.with_suffix(".csv")))
    return metadata


def _outcome(
    result: StepResult, con: duckdb.DuckDBPyConnection, layer: str, site_id: str
) -> Iterator[dg.MaterializeResult]:
    """A drop refused or not processed fails the step with the same one-line outcome the CLI prints; otherwise each
    table of the layer is materialized with the site's rows in it."""
    if result.failed:
        raise dg.Failure(description=result.summary(), metadata=_metadata(result))
    for table, rows in site_row_counts(con, layer, site_id).items():
        yield dg.MaterializeResult(asset_key=[layer, table], metadata={**_metadata(result), ROW_COUNT: rows})


@dg.multi_asset(
    name="raw_drop",
    specs=table_specs("raw", group_name="ingest", kinds={"duckdb"}),
    partitions_def=site_partitions,
    pool=WRITER_POOL,
)
def raw_drop(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> Iterator[dg.MaterializeResult]:
    """The site's latest drop, archived byte-for-byte and loaded as text into `raw.*` with file and line provenance."""
    with duckdb.get_connection() as con:
        ensure_registry(con)
        result = receive_drop(con, registry.get(), context.partition_key)
        yield from _outcome(result, con, "raw", context.partition_key)


@dg.multi_asset(
    name="core_registry",
    specs=[
        spec.replace_attributes(deps=[dg.AssetKey(["raw", table])])
        for spec, table in zip(table_specs("core", group_name="ingest", kinds={"duckdb"}), CONTRACT, strict=True)
    ],
    partitions_def=site_partitions,
    pool=WRITER_POOL,
)
def core_registry(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> Iterator[dg.MaterializeResult]:
    """The site's raw rows with its profile applied, typed and validated: valid rows in `core.*`, the rest in `audit.quarantine`."""
    with duckdb.get_connection() as con:
        result = load_core(con, registry.get(), context.partition_key)
        yield from _outcome(result, con, "core", context.partition_key)


ACCOUNTED = "every_line_accounted_for"


def _check_name(check_id: str) -> str:
    return check_id.replace(".", "__")


def _accounting_spec(table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        ACCOUNTED,
        asset=dg.AssetKey(["core", table]),
        blocking=True,
        description=f"Every data line of every loaded drop's {table} file is in core.{table} or audit.quarantine, "
        "once, and the table holds nothing else (the test every refresh makes before it computes anything).",
    )


def _quality_specs(table: str) -> list[dg.AssetCheckSpec]:
    """One asset check per check of the catalogue on ``core/<table>``.

    Not blocking in Dagster's sense, which would fail the ingest run and make the sensor retry a drop
    that loaded: the refresh is what an error check above its threshold stops (``analysis_frames``).
    """
    return [
        dg.AssetCheckSpec(
            _check_name(check.check_id),
            asset=dg.AssetKey(["core", table]),
            description=f"{check.check_id} ({check.category}, {check.severity}): {check.message}. Fails when a "
            "site's share of failing lines exceeds its threshold (quality_thresholds.yaml); a failed error check "
            "stops the next refresh (analysis_frames names it), a warning does not.",
        )
        for check in checks_for_table(table)
    ]


def _accounting_result(table: str, problems: list[dict]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=ACCOUNTED,
        asset_key=dg.AssetKey(["core", table]),
        passed=not problems,
        description=describe(problems) or f"every {table} line accounted for",
        metadata={"unbalanced_sites": dg.MetadataValue.json(problems)},
    )


def _quality_result(table: str, check, measures: list) -> dg.AssetCheckResult:
    sites = [m for m in measures if m.check.check_id == check.check_id]
    over = [m for m in sites if m.exceeded]
    return dg.AssetCheckResult(
        check_name=_check_name(check.check_id),
        asset_key=dg.AssetKey(["core", table]),
        passed=not over,
        severity=dg.AssetCheckSeverity.ERROR if check.severity == ERROR else dg.AssetCheckSeverity.WARN,
        description="; ".join(m.describe() for m in over) or "every site within its threshold",
        metadata={
            "failing_lines": sum(m.failing_lines for m in sites),
            "data_lines": sum(m.data_lines for m in sites),
            "worst_share": max((m.share for m in sites), default=0.0),
            "per_site": dg.MetadataValue.json(
                {
                    m.site_id: {
                        "drop_id": m.drop_id,
                        "failing_lines": m.failing_lines,
                        "data_lines": m.data_lines,
                        "share": round(m.share, 6),
                        "threshold": m.threshold,
                        "exceeded": m.exceeded,
                        "previous_shares": [round(s, 6) for s in m.previous_shares],
                        "sample": m.sample,
                    }
                    for m in sites
                }
            ),
        },
    )


@dg.multi_asset_check(
    specs=[spec for table in CONTRACT for spec in (_accounting_spec(table), *_quality_specs(table))],
    name="core_checks",
    can_subset=True,
)
def core_checks(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> Iterator[dg.AssetCheckResult]:
    """Every core table's line accounting (blocking) and its catalogue checks against the thresholds, in one step.

    One step and one connection for the ~50 checks, not one per table: each step of a run costs Dagster
    events and a registry open (a site's ingest run went from 16 steps to 3).
    """
    wanted = context.selected_asset_check_keys
    thresholds = load_thresholds(registry.get().quality_thresholds)
    with duckdb.get_connection() as con:
        ensure_registry(con)
        problems = registry_problems(con)
        for table in CONTRACT:
            key = dg.AssetKey(["core", table])
            if dg.AssetCheckKey(key, ACCOUNTED) in wanted:
                yield _accounting_result(table, [p for p in problems if p["table"] == table])
            checks = [c for c in checks_for_table(table) if dg.AssetCheckKey(key, _check_name(c.check_id)) in wanted]
            if checks:
                measures = measure_table(con, table, thresholds)
                yield from (_quality_result(table, check, measures) for check in checks)
