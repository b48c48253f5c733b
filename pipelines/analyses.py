"""Run one catalogue analysis: read its frame, analyse each endpoint, store results and plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.catalogue import Analysis
from pipelines.registry.results import replace_results
from pipelines.settings import Settings
from pipelines.stats import analyse_endpoint, forest_figure, km_figure, save_png


@dataclass(frozen=True)
class AnalysisOutput:
    results: dict[str, object]  # endpoint -> EndpointResults
    plots: dict[str, Path]  # plot name -> PNG
    rows: dict[str, int]  # results table -> rows written


def endpoint_frame(con: duckdb.DuckDBPyConnection, analysis: Analysis, endpoint: str) -> pd.DataFrame:
    """One row per subject for one endpoint, in the shape the statistics take."""
    covariates = "".join(f", {c}" for c in analysis.covariates)
    frame = con.execute(
        f"SELECT subject_id, patient_id, group_label AS \"group\", aval AS time_months, 1 - cnsr AS event{covariates} "
        f"FROM {analysis.frame} WHERE paramcd = ? AND list_contains(?, group_label)",
        [endpoint, list(analysis.groups)]).df()
    frame["group"] = pd.Categorical(frame["group"], categories=list(analysis.groups))
    return frame


def run_analysis(con: duckdb.DuckDBPyConnection, analysis: Analysis, settings: Settings) -> AnalysisOutput:
    results, plots = {}, {}
    for endpoint in analysis.endpoints:
        frame = endpoint_frame(con, analysis, endpoint)
        result = analyse_endpoint(frame, reference_group=analysis.reference, covariates=list(analysis.covariates),
                                  landmarks=analysis.landmarks)
        results[endpoint] = result
        title = f"{analysis.title} — {endpoint}"
        footnote = f"Observational data; confounders not held: {analysis.confounders_not_held}"
        settings.plots_dir.mkdir(parents=True, exist_ok=True)
        plots[f"km_{endpoint}"] = save_png(km_figure(frame, result, title=title, footnote=footnote),
                                           settings.plots_dir / f"{analysis.id}_{endpoint}_km.png")
        plots[f"forest_{endpoint}"] = save_png(forest_figure(result.cox, title=title, footnote=footnote),
                                               settings.plots_dir / f"{analysis.id}_{endpoint}_forest.png")
    return AnalysisOutput(results, plots, replace_results(con, analysis.id, results))
