"""The two published tiers, refreshed after the results (logic in pipelines/publish.py)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.publish import publish
from pipelines.resources import WRITER_POOL, RegistrySettings


@dg.asset(deps=[dg.AssetKey("results_views")], group_name="publish", pool=WRITER_POOL, kinds={"duckdb", "parquet"})
def published_copy(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """Two read-only tiers, each a DuckDB file and Parquet files swapped in by atomic rename: `aggregate/` (the
    suppressed `published.v_*` views only, may leave the registry) and `analyst/` (pseudonymised patient-level rows,
    dates shifted per patient or coarsened; under a data-use agreement, not for release)."""
    with duckdb.get_connection() as con:
        published = publish(con, registry.get())
    metadata: dict[str, dg.MetadataValue] = {}
    for tier in published.tiers:
        metadata[f"{tier.name}"] = dg.MetadataValue.text(tier.describe())
        metadata[f"{tier.name} database"] = dg.MetadataValue.path(str(tier.database))
        metadata[f"{tier.name} parquet"] = dg.MetadataValue.path(str(tier.parquet_dir))
        metadata[f"{tier.name} rows"] = dg.MetadataValue.json(tier.rows)
    if published.legacy_removed:
        metadata["removed old patient-level copy"] = dg.MetadataValue.json(list(published.legacy_removed))
    return dg.MaterializeResult(metadata=metadata)
