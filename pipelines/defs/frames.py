"""The SQL layers over the core tables: derived facts and one analysis frame per catalogue entry."""

from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.catalogue import load_catalogue
from pipelines.defs.tables import relation_metadata, sql_assets
from pipelines.ingest.quality import blocking_failures, load_thresholds
from pipelines.registry.ddl import comment_models, ensure_registry
from pipelines.registry.integrity import FRAME_GRAIN, describe, describe_grain, grain_problems, registry_problems
from pipelines.resources import WRITER_POOL, RegistrySettings
from pipelines.sql_models import define_settings, run_layer
from schemas.contract import CONTRACT

FRAME_ASSETS = sql_assets("core") + sql_assets("analysis")


@dg.multi_asset(
    name="analysis_frames",
    specs=[a.spec(group_name="analysis", kinds={"duckdb", "sql"}) for a in FRAME_ASSETS],
    pool=WRITER_POOL,
)
def analysis_frames(duckdb: DuckDBResource, registry: RegistrySettings) -> Iterator[dg.MaterializeResult]:
    """`intermediate.int_*` derived views and the `analysis.*` time-to-event frames (sql/core, sql/analysis), commented.

    Nothing is built, and no frame materialized, while the registry does not balance, an error-level
    quality check is over its threshold, or a frame breaks its grain.
    """
    with duckdb.get_connection() as con:
        ensure_registry(con)
        problems = registry_problems(con)
        if problems:
            raise dg.Failure(
                description="The registry does not balance, so no analysis, view, report or published copy is "
                f"refreshed: {describe(problems)}",
                metadata={"unbalanced_tables": dg.MetadataValue.json(problems)},
            )
        settings = registry.get()
        over = blocking_failures(con, load_thresholds(settings.quality_thresholds), list(CONTRACT))
        if over:
            raise dg.Failure(
                description="Data quality below its threshold, so no analysis, view, report or published copy is "
                f"refreshed: {'; '.join(m.describe() for m in over)} (quality_thresholds.yaml; the site's "
                "validation report lists the lines)",
                metadata={"checks_over_threshold": dg.MetadataValue.json([m.describe() for m in over])},
            )
        define_settings(con, settings.data_cutoff, settings.min_cell_count)
        for layer in ("core", "analysis"):
            run_layer(con, layer)
            comment_models(con, layer)
        duplicated = grain_problems(con, {a.frame: FRAME_GRAIN for a in load_catalogue()})
        if duplicated:
            raise dg.Failure(
                description=f"An analysis frame breaks its grain, so no analysis is refreshed: {describe_grain(duplicated)}",
                metadata={"grain_problems": dg.MetadataValue.json(duplicated)},
            )
        for built in FRAME_ASSETS:
            metadata = relation_metadata(con, built.relation, built.path)
            if built.relation.startswith("analysis."):
                subjects = con.execute(f"SELECT count(DISTINCT subject_id) FROM {built.relation}").fetchall()[0][0]
                metadata["subjects"] = subjects
            yield dg.MaterializeResult(asset_key=built.key, metadata=metadata)
