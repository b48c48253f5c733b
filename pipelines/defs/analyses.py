"""One results asset per catalogue entry, generated from sql/analysis/catalogue.yaml."""


import base64

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.analyses import AnalysisOutput, run_analysis
from pipelines.catalogue import Analysis, load_catalogue
from pipelines.defs.frames import analysis_frames
from pipelines.resources import WRITER_POOL, RegistrySettings


def _metadata(output: AnalysisOutput) -> dict[str, object]:
    metadata: dict[str, object] = {"rows_written": dg.MetadataValue.json(output.rows)}
    for name, path in output.plots.items():
        encoded = base64.b64encode(path.read_bytes()).decode()
        metadata[name] = dg.MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})")
        metadata[f"{name}_file"] = dg.MetadataValue.path(str(path))
    return metadata


def _analysis_asset(analysis: Analysis) -> dg.AssetsDefinition:
    @dg.asset(name=analysis.id, key_prefix="results", deps=[analysis_frames], group_name="results", pool=WRITER_POOL,
              description=f"{analysis.title} (seed {analysis.seed}): {', '.join(analysis.endpoints)} by {' vs '.join(analysis.groups)}.",
              kinds={"duckdb", "python"})
    def _asset(duckdb: DuckDBResource, registry: RegistrySettings) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            output = run_analysis(con, analysis, registry.get())
        return dg.MaterializeResult(metadata=_metadata(output))
    return _asset


def analysis_assets() -> list[dg.AssetsDefinition]:
    return [_analysis_asset(analysis) for analysis in load_catalogue()]

