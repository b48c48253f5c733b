"""One results asset per catalogue entry, generated from sql/analysis/catalogue.yaml."""

import math

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.analyses import AnalysisOutput, run_analysis
from pipelines.catalogue import Analysis, load_catalogue
from pipelines.defs.frames import analysis_frames
from pipelines.resources import WRITER_POOL, RegistrySettings


def _number(value: object) -> dg.MetadataValue | None:
    return dg.MetadataValue.float(float(value)) if value is not None and math.isfinite(float(value)) else None


def _key_numbers(output: AnalysisOutput) -> dict[str, dg.MetadataValue]:
    """Per endpoint: each group's Kaplan-Meier median and univariable HR (95% CI) against the reference, and the
    log-rank p, as numbers Dagster charts over refreshes.  Counts stay in the suppressed results views."""
    numbers: dict[str, dg.MetadataValue | None] = {}
    for endpoint, results in output.results.items():
        for row in results.km_summary.itertuples():
            numbers[f"{endpoint} median months: {row.group}"] = _number(row.median) if row.median_reached else None
        univariable = results.cox[(results.cox["model"] == "univariable") & (results.cox["status"] == "ok")]
        for row in univariable.itertuples():
            label = f"{endpoint} HR {row.level} vs {row.reference}"
            numbers |= {
                label: _number(row.hr),
                f"{label} lower": _number(row.hr_lower),
                f"{label} upper": _number(row.hr_upper),
            }
        if not results.logrank.empty and results.logrank["status"].iloc[0] == "ok":
            numbers[f"{endpoint} log-rank p"] = _number(results.logrank["p"].iloc[0])
    return {key: value for key, value in numbers.items() if value is not None}


def _metadata(output: AnalysisOutput) -> dict[str, object]:
    """Rows written, the key numbers, and the plots by path (embedding them put megabytes into the event log)."""
    metadata: dict[str, object] = {"rows_written": dg.MetadataValue.json(output.rows), **_key_numbers(output)}
    for name, path in output.plots.items():
        metadata[f"{name}_file"] = dg.MetadataValue.path(str(path))
    return metadata


def _analysis_asset(analysis: Analysis) -> dg.AssetsDefinition:
    @dg.asset(
        name=analysis.id,
        key_prefix="results",
        deps=[analysis_frames],
        group_name="results",
        pool=WRITER_POOL,
        description=f"{analysis.title} (seed {analysis.seed}): {', '.join(analysis.endpoints)} by {' vs '.join(analysis.groups)}.",
        kinds={"duckdb", "python"},
    )
    def _asset(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            output = run_analysis(con, analysis, registry.get())
        return dg.MaterializeResult(metadata=_metadata(output))

    return _asset


def analysis_assets() -> list[dg.AssetsDefinition]:
    return [_analysis_asset(analysis) for analysis in load_catalogue()]
