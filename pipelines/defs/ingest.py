"""Ingest assets, one partition per site: the drop received (raw), then validated (core)."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.registry.ddl import create_registry
from pipelines.registry.loading import StepResult, load_core, receive_drop
from pipelines.resources import WRITER_POOL, RegistrySettings

site_partitions = dg.DynamicPartitionsDefinition(name="site")


def _metadata(result: StepResult) -> dict[str, object]:
    """Ids, counts and the report's location only: no patient ids or values (those stay in the report beside the archive)."""
    metadata = {"drop_id": result.drop_id or "", "status": result.status, "message": result.message,
                "row_counts": dg.MetadataValue.json(result.counts)}
    if result.report:
        metadata["validation_report"] = dg.MetadataValue.path(str(result.report))
        metadata["validation_report_url"] = dg.MetadataValue.url(result.report.as_uri())
        metadata["validation_report_csv"] = dg.MetadataValue.path(str(result.report.with_suffix(".csv")))
    return metadata


@dg.asset(partitions_def=site_partitions, group_name="ingest", pool=WRITER_POOL, kinds={"duckdb"})
def raw_drop(context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """The site's latest drop, archived byte-for-byte and loaded as text into `raw.*` with file and line provenance."""
    with duckdb.get_connection() as con:
        create_registry(con)
        result = receive_drop(con, registry.get(), context.partition_key)
    if result.status == "rejected":
        raise dg.Failure(description=f"Drop rejected, the site's previous data is kept: {result.message}",
                         metadata=_metadata(result))
    return dg.MaterializeResult(metadata=_metadata(result))


@dg.asset(partitions_def=site_partitions, deps=[raw_drop], group_name="ingest", pool=WRITER_POOL, kinds={"duckdb"})
def core_registry(context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """The site's raw rows with its profile applied, typed and validated: valid rows in `core.*`, the rest in `audit.quarantine`."""
    with duckdb.get_connection() as con:
        result = load_core(con, registry.get(), context.partition_key)
    return dg.MaterializeResult(metadata=_metadata(result))


ROW_BALANCE_SQL = """
WITH received AS (
    SELECT site_id, drop_id, t.key AS table_name, (t.value ->> 'input_rows')::BIGINT AS input_rows
    FROM audit.drops, json_each(row_counts) AS t WHERE status = 'received'
), loaded AS (
    SELECT site_id, drop_id, t.key AS table_name,
           (t.value ->> 'loaded')::BIGINT AS loaded, (t.value ->> 'quarantined')::BIGINT AS quarantined
    FROM audit.drops, json_each(row_counts) AS t WHERE status = 'loaded'
)
SELECT DISTINCT r.site_id, r.drop_id, r.table_name, r.input_rows, l.loaded, l.quarantined
FROM received AS r JOIN loaded AS l USING (site_id, drop_id, table_name)
WHERE r.input_rows <> l.loaded + l.quarantined
"""


@dg.asset_check(asset=core_registry, blocking=True, description="Every input row of every loaded drop is either loaded or quarantined.")
def every_row_accounted_for(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        create_registry(con)
        unbalanced = con.execute(ROW_BALANCE_SQL).fetchall()
    return dg.AssetCheckResult(passed=not unbalanced, metadata={"unbalanced_tables": dg.MetadataValue.json(
        [dict(zip(("site_id", "drop_id", "table", "input_rows", "loaded", "quarantined"), row)) for row in unbalanced])})

