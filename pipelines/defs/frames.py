"""The SQL layers over the core tables: derived facts and one analysis frame per catalogue entry."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.catalogue import load_catalogue
from pipelines.defs.ingest import core_registry
from pipelines.ingest.quality import blocking_failures, load_thresholds
from pipelines.registry.ddl import comment_models, create_registry
from pipelines.registry.integrity import FRAME_GRAIN, describe, describe_grain, grain_problems, registry_problems
from pipelines.resources import WRITER_POOL, RegistrySettings
from pipelines.sql_models import define_settings, run_layer
from schemas.contract import CONTRACT


@dg.asset(deps=[core_registry], group_name="analysis", pool=WRITER_POOL, kinds={"duckdb", "sql"})
def analysis_frames(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """`intermediate.int_*` derived views and the `analysis.*` time-to-event frames (sql/core, sql/analysis), commented."""
    with duckdb.get_connection() as con:
        create_registry(con)
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
        models = run_layer(con, "core") + run_layer(con, "analysis")
        for layer in ("core", "analysis"):
            comment_models(con, layer)
        duplicated = grain_problems(con, {a.frame: FRAME_GRAIN for a in load_catalogue()})
        if duplicated:
            raise dg.Failure(
                description=f"An analysis frame breaks its grain, so no analysis is refreshed: {describe_grain(duplicated)}",
                metadata={"grain_problems": dg.MetadataValue.json(duplicated)},
            )
        sizes = {
            a.id: con.execute(f"SELECT count(DISTINCT subject_id) FROM {a.frame}").fetchall()[0][0]
            for a in load_catalogue()
        }
    return dg.MaterializeResult(
        metadata={"models": dg.MetadataValue.json(models), "subjects_per_analysis": dg.MetadataValue.json(sizes)}
    )
