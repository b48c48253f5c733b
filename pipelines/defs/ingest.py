"""Ingest assets, one partition per site: the drop received (raw), then validated (core)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.ingest.steps import StepResult, load_core, receive_drop
from pipelines.registry.ddl import create_registry
from pipelines.registry.integrity import describe, registry_problems
from pipelines.resources import WRITER_POOL, RegistrySettings

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


def _outcome(result: StepResult) -> dg.MaterializeResult:
    """A drop refused or not processed fails the step with the same one-line outcome the CLI prints."""
    if result.failed:
        raise dg.Failure(description=result.summary(), metadata=_metadata(result))
    return dg.MaterializeResult(metadata=_metadata(result))


@dg.asset(partitions_def=site_partitions, group_name="ingest", pool=WRITER_POOL, kinds={"duckdb"})
def raw_drop(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> dg.MaterializeResult:
    """The site's latest drop, archived byte-for-byte and loaded as text into `raw.*` with file and line provenance."""
    with duckdb.get_connection() as con:
        create_registry(con)
        result = receive_drop(con, registry.get(), context.partition_key)
    return _outcome(result)


@dg.asset(partitions_def=site_partitions, deps=[raw_drop], group_name="ingest", pool=WRITER_POOL, kinds={"duckdb"})
def core_registry(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> dg.MaterializeResult:
    """The site's raw rows with its profile applied, typed and validated: valid rows in `core.*`, the rest in `audit.quarantine`."""
    with duckdb.get_connection() as con:
        result = load_core(con, registry.get(), context.partition_key)
    return _outcome(result)


@dg.asset_check(
    asset=core_registry,
    blocking=True,
    description="Every data line of every loaded drop's archived files is in core or quarantine, once, and core holds "
    "nothing else (the same test every refresh makes before it computes anything).",
)
def every_row_accounted_for(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        create_registry(con)
        problems = registry_problems(con)
    return dg.AssetCheckResult(
        passed=not problems,
        description=describe(problems) or "every line accounted for",
        metadata={"unbalanced_tables": dg.MetadataValue.json(problems)},
    )
