"""Ingest assets, one partition per site: the drop received (`raw/<table>`), then validated (`core/<table>`)."""

from collections.abc import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.defs.tables import ROW_COUNT, site_row_counts, table_specs
from pipelines.ingest.checks import ERROR, checks_for_table
from pipelines.ingest.quality import load_thresholds, measure_table
from pipelines.ingest.steps import StepResult, load_core, receive_drop
from pipelines.registry.ddl import create_registry
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
        create_registry(con)
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


def _accounting_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["core", table]),
        name="every_line_accounted_for",
        blocking=True,
        description=f"Every data line of every loaded drop's {table} file is in core.{table} or audit.quarantine, "
        "once, and the table holds nothing else (the test every refresh makes before it computes anything).",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            create_registry(con)
            problems = [p for p in registry_problems(con) if p["table"] == table]
        return dg.AssetCheckResult(
            passed=not problems,
            description=describe(problems) or f"every {table} line accounted for",
            metadata={"unbalanced_sites": dg.MetadataValue.json(problems)},
        )

    return _check


accounting_checks = [_accounting_check(table) for table in CONTRACT]


def _check_name(check_id: str) -> str:
    return check_id.replace(".", "__")


def _quality_checks(table: str) -> dg.AssetChecksDefinition:
    """One asset check per check of the catalogue on ``core/<table>``.

    Not blocking in Dagster's sense, which would fail the ingest run and make the sensor retry a drop
    that loaded: the refresh is what an error check above its threshold stops (``analysis_frames``).
    """
    specs = [
        dg.AssetCheckSpec(
            _check_name(check.check_id),
            asset=dg.AssetKey(["core", table]),
            description=f"{check.check_id} ({check.category}, {check.severity}): {check.message}. Fails when a "
            "site's share of failing lines exceeds its threshold (quality_thresholds.yaml); a failed error check "
            "stops the next refresh (analysis_frames names it), a warning does not.",
        )
        for check in checks_for_table(table)
    ]

    @dg.multi_asset_check(specs=specs, name=f"quality_{table}", can_subset=True)
    def _checks(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
    ) -> Iterator[dg.AssetCheckResult]:
        thresholds = load_thresholds(registry.get().quality_thresholds)
        with duckdb.get_connection() as con:
            create_registry(con)
            measures = measure_table(con, table, thresholds)
        wanted = {key.name for key in context.selected_asset_check_keys}
        for check in checks_for_table(table):
            name = _check_name(check.check_id)
            if name not in wanted:
                continue
            sites = [m for m in measures if m.check.check_id == check.check_id]
            over = [m for m in sites if m.exceeded]
            yield dg.AssetCheckResult(
                check_name=name,
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

    return _checks


quality_checks = [_quality_checks(table) for table in CONTRACT]
