"""The read-only copy analysts query, refreshed after the results (logic in pipelines/publish.py)."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.publish import publish
from pipelines.resources import WRITER_POOL, RegistrySettings


@dg.asset(deps=[dg.AssetKey("results_views")], group_name="publish", pool=WRITER_POOL, kinds={"duckdb", "parquet"})
def published_copy(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """Core tables and results (the suppressed `results.v_*` views when they exist) as a read-only DuckDB file and
    Parquet files, swapped in by atomic rename so readers always see one complete version."""
    with duckdb.get_connection() as con:
        published = publish(con, registry.get().publish_dir)
    return dg.MaterializeResult(metadata={"database": dg.MetadataValue.path(str(published.database)),
                                          "parquet": dg.MetadataValue.path(str(published.parquet_dir)),
                                          "rows": dg.MetadataValue.json(published.rows)})
