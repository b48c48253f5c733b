"""The results tables (`results/<table>`), written by the catalogue's analyses (sql/analysis/catalogue.yaml).

Every analysis replaces its own rows in every results table, so the tables are one multi-asset:
one step runs the entries one after another (one writer), and each table's materialization
carries the numbers of every entry that live in it, for Dagster to chart over refreshes.
"""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.catalogue import Analysis, load_catalogue
from pipelines.defs.tables import COLUMN_SCHEMA, ROW_COUNT, results_schema
from pipelines.registry.results import replace_catalogue
from pipelines.resources import WRITER_POOL, RegistrySettings
from pipelines.stats.plots import FigureWriter
from schemas.results import RESULTS

if TYPE_CHECKING:
    from pipelines.analyses import AnalysisOutput

# Tables only some entries write rows to (every entry still replaces its rows there); every other table, all.
WRITTEN_FOR: dict[str, Callable[[Analysis], bool]] = {
    "immortal_time": lambda a: a.exposure is not None,
    "binary_outcome": lambda a: a.binary_outcome is not None,
    "rmst": lambda a: bool(a.rmst_horizons),
    "rmst_contrast": lambda a: bool(a.rmst_horizons),
    **{name: lambda a: a.adjust is not None for name in RESULTS if name.startswith("iptw_")},
}
CATALOGUE_TABLE = "analyses"  # the catalogue itself, read from catalogue.yaml, not from a frame
PLOT_TABLE = {  # the results table each plot draws
    "km": "km_curve",
    "forest": "cox",
    "cumulative_incidence": "cumulative_incidence",
    "immortal_time": "immortal_time",
    "love": "iptw_balance",
    "iptw_km": "iptw_km_curve",
}


def frames_read(table: str, catalogue: list[Analysis]) -> list[dg.AssetKey]:
    """The analysis frames whose rows reach ``results.<table>``."""
    if table == CATALOGUE_TABLE:
        return []
    wanted = WRITTEN_FOR.get(table, lambda _: True)
    return [dg.AssetKey(["analysis", a.id]) for a in catalogue if wanted(a)]


def results_specs(catalogue: list[Analysis]) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            dg.AssetKey(["results", t.name]),
            description=f"`results.{t.name}`: one row per {t.row} (unique: {', '.join(t.grain)}). Exact counts, "
            f"internal; published through {', '.join(f'published.{v}' for v in t.views) or 'no view'}.",
            deps=frames_read(t.name, catalogue),
            metadata={COLUMN_SCHEMA: results_schema(t.name)},
            group_name="results",
            kinds={"duckdb", "python"},
        )
        for t in RESULTS.values()
    ]


def _number(value: object) -> dg.MetadataValue | None:
    """A finite estimate as a float (NaN, infinite or missing: nothing to chart)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return dg.MetadataValue.float(number) if number == number and abs(number) != float("inf") else None


def _count(value: object, withheld: bool) -> dg.MetadataValue | None:
    """A count as published: left out where small-count suppression withholds it."""
    return None if withheld or _number(value) is None else dg.MetadataValue.int(int(value))


def key_numbers(analysis_id: str, output: "AnalysisOutput") -> dict[str, dict[str, dg.MetadataValue]]:
    """Per results table, one entry's numbers under names that stay the same from refresh to refresh.

    ``km_summary``: subjects, events and the Kaplan-Meier median per endpoint and group; ``cox``: each
    group's univariable HR with its 95% CI and Wald p against the reference; ``logrank``: the test's p.
    Counts withheld by small-count suppression are left out, as in the published views; the plots
    are referenced by path on the table they draw (embedding them put megabytes into the event log).
    """
    numbers: dict[str, dict[str, dg.MetadataValue | None]] = {"km_summary": {}, "cox": {}, "logrank": {}}
    for endpoint, results in output.results.items():
        at = f"{analysis_id} {endpoint}"
        for row in results.km_summary.itertuples():
            numbers["km_summary"] |= {
                f"{at} {row.group}: subjects": _count(row.n, row.n_suppressed),
                f"{at} {row.group}: events": _count(row.events, row.events_suppressed),
                f"{at} {row.group}: median months": _number(row.median) if row.median_reached else None,
            }
        univariable = results.cox[(results.cox["model"] == "univariable") & (results.cox["status"] == "ok")]
        for row in univariable.itertuples():
            label = f"{at} HR {row.level} vs {row.reference}"
            numbers["cox"] |= {
                label: _number(row.hr),
                f"{label} lower": _number(row.hr_lower),
                f"{label} upper": _number(row.hr_upper),
                f"{label} p": _number(row.p),
            }
        if not results.logrank.empty and results.logrank["status"].iloc[0] == "ok":
            numbers["logrank"][f"{at} log-rank p"] = _number(results.logrank["p"].iloc[0])
    for name, path in output.plots.items():
        # <kind>_<endpoint>[_landmark_<L>]: the longest kind that starts the name (iptw_km before km)
        table = next(
            PLOT_TABLE[kind] for kind in sorted(PLOT_TABLE, key=len, reverse=True) if name.startswith(f"{kind}_")
        )
        numbers.setdefault(table, {})[f"{analysis_id} {name} plot"] = dg.MetadataValue.path(str(path))
    return {table: {k: v for k, v in values.items() if v is not None} for table, values in numbers.items()}


@dg.multi_asset(name="run_analyses", specs=results_specs(load_catalogue()), pool=WRITER_POOL)
def run_analyses(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, registry: RegistrySettings
) -> Iterator[dg.MaterializeResult]:
    """`results.analyses` (the catalogue), then each entry's statistics, limits and plots (pipelines/analyses.py).

    The statistics are imported here, when the step runs: loading the code location (every run's
    process, the code server) does not pay for lifelines, statsmodels and the rest.
    """
    from pipelines.analyses import run_analysis

    catalogue, settings = load_catalogue(), registry.get()
    metadata: dict[str, dict[str, dg.MetadataValue]] = {name: {} for name in RESULTS}
    with duckdb.get_connection() as con:
        metadata[CATALOGUE_TABLE]["entries"] = dg.MetadataValue.int(replace_catalogue(con, catalogue))
        with FigureWriter() as writer:  # each analysis's figures are drawn while the next one's statistics run
            for analysis in catalogue:
                context.log.info(f"analysis {analysis.id}: {analysis.title}")
                output = run_analysis(con, analysis, settings, writer)
                for table, numbers in key_numbers(analysis.id, output).items():
                    metadata[table] |= numbers
        for name in RESULTS:
            rows = con.execute(f"SELECT count(*) FROM results.{name}").fetchall()[0][0]
            yield dg.MaterializeResult(asset_key=["results", name], metadata={ROW_COUNT: rows, **metadata[name]})
