"""The two published tiers, refreshed after the results (logic in pipelines/publish.py)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.frames import FRAME_ASSETS
from pipelines.defs.report import VIEWS
from pipelines.publish import publish
from pipelines.resources import WRITER_POOL, RegistrySettings
from schemas.contract import CONTRACT

# What the analyst tier copies beside the core tables (pipelines.publish.analyst_relations).
ANALYST_FRAMES = [
    f.key for f in FRAME_ASSETS if f.relation.startswith("analysis.") or f.relation == "intermediate.int_follow_up"
]


@dg.asset(
    deps=[*VIEWS, *(dg.AssetKey(["core", t]) for t in CONTRACT), *ANALYST_FRAMES],
    group_name="publish",
    pool=WRITER_POOL,
    kinds={"duckdb", "parquet"},
)
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
