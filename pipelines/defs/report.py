"""What the registry publishes after every refresh: the `published.v_*` views and the HTML report."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.catalogue import load_catalogue
from pipelines.registry.ddl import comment_models
from pipelines.registry.integrity import describe_grain, grain_problems
from pipelines.registry.results import replace_catalogue
from pipelines.report import write_report
from pipelines.resources import WRITER_POOL, RegistrySettings
from pipelines.sql_models import run_layer
from schemas.results import RESULTS


@dg.asset(
    deps=[dg.AssetKey(["results", a.id]) for a in load_catalogue()],
    group_name="results",
    pool=WRITER_POOL,
    kinds={"duckdb", "sql"},
)
def results_views(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """`results.analyses` (the catalogue) and the readable, small-count-suppressed `published.v_*` views (sql/results)."""
    with duckdb.get_connection() as con:
        analyses = replace_catalogue(con, load_catalogue())
        duplicated = grain_problems(con, {f"results.{t.name}": t.grain for t in RESULTS.values()})
        if duplicated:
            raise dg.Failure(
                description=f"A results table breaks its grain, so nothing is published: {describe_grain(duplicated)}",
                metadata={"grain_problems": dg.MetadataValue.json(duplicated)},
            )
        models = run_layer(con, "results")
        comment_models(con, "results")
    return dg.MaterializeResult(metadata={"analyses": analyses, "models": dg.MetadataValue.json(models)})


@dg.asset(deps=[results_views], group_name="results", pool=WRITER_POOL, kinds={"html"})
def registry_report(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """One static HTML file with every analysis's tables, plots and limits, read from the `published.v_*` views."""
    with duckdb.get_connection() as con:
        path = write_report(con, load_catalogue(), registry.get())
    return dg.MaterializeResult(
        metadata={"report": dg.MetadataValue.path(str(path)), "size_kb": round(path.stat().st_size / 1024)}
    )
