"""What the registry publishes after every refresh: the `published.v_*` views and the HTML report."""

from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.catalogue import load_catalogue
from pipelines.defs.tables import relation_metadata, sql_assets
from pipelines.registry.ddl import comment_models
from pipelines.registry.integrity import describe_grain, grain_problems
from pipelines.report import write_report
from pipelines.resources import WRITER_POOL, RegistrySettings
from pipelines.sql_models import run_layer
from schemas.results import RESULTS

VIEW_ASSETS = sql_assets("results")
VIEWS = [v.key for v in VIEW_ASSETS]


@dg.multi_asset(
    name="results_views",
    specs=[v.spec(group_name="results", kinds={"duckdb", "sql"}) for v in VIEW_ASSETS],
    pool=WRITER_POOL,
)
def results_views(duckdb: DuckDBResource) -> Iterator[dg.MaterializeResult]:
    """The readable, small-count-suppressed `published.v_*` views (sql/results), built once every results table
    keeps its grain."""
    with duckdb.get_connection() as con:
        duplicated = grain_problems(con, {f"results.{t.name}": t.grain for t in RESULTS.values()})
        if duplicated:
            raise dg.Failure(
                description=f"A results table breaks its grain, so nothing is published: {describe_grain(duplicated)}",
                metadata={"grain_problems": dg.MetadataValue.json(duplicated)},
            )
        run_layer(con, "results")
        comment_models(con, "results")
        for view in VIEW_ASSETS:
            yield dg.MaterializeResult(asset_key=view.key, metadata=relation_metadata(con, view.relation, view.path))


@dg.asset(deps=VIEWS, group_name="results", pool=WRITER_POOL, kinds={"html"})
def registry_report(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
    """One static HTML file with every analysis's tables, plots and limits, read from the `published.v_*` views."""
    with duckdb.get_connection() as con:
        path = write_report(con, load_catalogue(), registry.get())
    return dg.MaterializeResult(
        metadata={"report": dg.MetadataValue.path(str(path)), "size_kb": round(path.stat().st_size / 1024)}
    )
