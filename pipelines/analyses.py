"""Run one catalogue analysis: read its frame, analyse each endpoint, store results and plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.catalogue import Analysis, CatalogueError
from pipelines.columns import pseudonym_as_text
from pipelines.disclosure import MARK, suppress
from pipelines.registry.results import replace_tables
from pipelines.settings import Settings
from pipelines.stats import (
    EndpointResults,
    analyse_endpoint,
    binary_outcome,
    event_within,
    exposure_forest_figure,
    few_events_note,
    forest_figure,
    km_figure,
    save_png,
    table_one,
)
from pipelines.stats.binary import BINARY_SCHEMA
from schemas.results import LIMITS_SCHEMA

IDENTIFIERS = ("subject_id", "patient_id")  # read as text whatever their type in the frames
OBSERVATIONAL = (
    "Observational registry data, treatment not randomised: differences between groups may reflect who "
    "was selected for each (confounding by indication); hazard ratios are associations, not effects."
)
WITHHELD_NOTE = (
    f"{MARK}: count withheld (from 1 to the registry's minimum cell count minus 1, or larger and withheld "
    "so that such a count cannot be derived from the others)."
)


@dataclass(frozen=True)
class AnalysisOutput:
    results: dict[str, EndpointResults]  # endpoint -> its statistics
    plots: dict[str, Path]  # plot name -> PNG
    rows: dict[str, int]  # results table -> rows written


def check_frame_columns(con: duckdb.DuckDBPyConnection, analysis: Analysis) -> None:
    """Every column the catalogue entry names exists in its view (else the message names entry and column)."""
    present = {row[0] for row in con.execute(f"DESCRIBE {analysis.frame}").fetchall()}
    missing = [c for c in dict.fromkeys(("patient_id", *analysis.columns)) if c not in present]
    if missing:
        raise CatalogueError(
            f"catalogue.yaml: analysis '{analysis.id}': column(s) {', '.join(missing)} "
            f"not in {analysis.frame} (sql/analysis/{analysis.id}.sql)"
        )


def _as_text(column: str) -> str:
    return pseudonym_as_text(column) if column in IDENTIFIERS else column


def endpoint_frame(con: duckdb.DuckDBPyConnection, analysis: Analysis, endpoint: str) -> pd.DataFrame:
    """One row per subject for one endpoint, in the shape the statistics take (catalogue groups only).

    Only the columns the entry names come along (``patient_id`` only as a cluster): identifiers
    are text, the widest columns of the frame (~80 MB each at a million subjects).  Pseudonyms are
    UUIDs in the registry and are read as text: pandas would make one ``uuid.UUID`` object per row
    (3.7 s instead of ~1 s for a frame of 927k subjects).
    """
    columns = "".join(f", {_as_text(c)}" for c in analysis.columns)
    counts = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE paramcd = ?) FROM {analysis.frame}", [endpoint]
    ).fetchall()[0]
    if counts[0] and not counts[1]:
        raise CatalogueError(
            f"catalogue.yaml: analysis '{analysis.id}': {analysis.frame} has no rows with "
            f"PARAMCD '{endpoint}' (sql/analysis/{analysis.id}.sql)"
        )
    frame = con.execute(
        f'SELECT {_as_text("subject_id")}, group_label AS "group", aval AS time_months, 1 - cnsr AS event{columns} '
        f"FROM {analysis.frame} WHERE paramcd = ? AND list_contains(?, group_label) ORDER BY subject_id",
        [endpoint, list(analysis.groups)],
    ).df()
    frame["group"] = pd.Categorical(frame["group"], categories=list(analysis.groups))
    return frame


def limits(analysis: Analysis, endpoint: str, results: EndpointResults) -> pd.DataFrame:
    """The stated limits of one comparison (results.limits), and the footnote every plot of it carries.

    ``results.km_summary`` should carry the ``events_suppressed`` flags of :func:`pipelines.disclosure.suppress`:
    the groups with few events are listed with their events as published (withheld ones as ``supp.``).
    """
    held = ", ".join(analysis.covariates) or None
    few = few_events_note(results.km_summary) or None
    clustering = (
        (
            f"subjects are not independent: Cox models use robust variance clustered on {analysis.cluster}; "
            "Kaplan-Meier CIs and the log-rank test treat subjects as independent"
        )
        if analysis.cluster
        else None
    )
    immortal = (
        (
            "the naive grouping credits the exposed with time before exposure (immortal time); read the landmark "
            "and time-varying models in results.immortal_time"
        )
        if analysis.exposure
        else None
    )
    footnote = " ".join(
        filter(
            None,
            [
                OBSERVATIONAL,
                f"Adjusted for (multivariable): {held}." if held else None,
                f"Not held by the registry: {analysis.confounders_not_held}.",
                few,
                f"Note: {clustering}." if clustering else None,
            ],
        )
    )
    return pd.DataFrame(
        [
            {
                "analysis_id": analysis.id,
                "endpoint": endpoint,
                "design": OBSERVATIONAL,
                "confounders_held": held,
                "confounders_not_held": analysis.confounders_not_held,
                "few_events_groups": few,
                "clustering": clustering,
                "immortal_time": immortal,
                "footnote": footnote,
            }
        ]
    ).astype(LIMITS_SCHEMA)


def _keyed(table: pd.DataFrame, analysis_id: str, endpoint: str | None, **extra: object) -> pd.DataFrame:
    keys = pd.DataFrame({"analysis_id": analysis_id, "endpoint": endpoint, **extra}, index=table.index)
    return pd.concat([keys, table], axis=1)


def _plots(
    analysis: Analysis,
    endpoint: str,
    results: EndpointResults,
    at_risk: pd.DataFrame,
    footnote: str,
    settings: Settings,
) -> dict[str, Path]:
    """The endpoint's figures, drawn from its suppressed tables (counts withheld there print as ``supp.``)."""
    title = f"{analysis.title} — {endpoint}"
    stem = settings.plots_dir / f"{analysis.id}_{endpoint}"
    flags = [
        t[[c for c in t.columns if c.endswith("_suppressed")]].to_numpy(bool)
        for t in (results.km_summary, results.cox, results.immortal_time, at_risk[at_risk["endpoint"] == endpoint])
    ]
    if any(f.any() for f in flags):
        footnote = f"{footnote} {WITHHELD_NOTE}"
    model = "multivariable" if analysis.covariates else "univariable"
    km = km_figure(
        None,
        results,
        title=title,
        footnote=footnote,
        time_label=f"Months from {analysis.origin}",
        min_cell_count=settings.min_cell_count,
        at_risk=at_risk[at_risk["endpoint"] == endpoint],
    )
    plots = {
        f"km_{endpoint}": save_png(km, Path(f"{stem}_km.png")),
        f"forest_{endpoint}": save_png(
            forest_figure(results.cox, model=model, title=title, footnote=footnote), Path(f"{stem}_forest.png")
        ),
    }
    if analysis.exposure:
        plots[f"immortal_time_{endpoint}"] = save_png(
            exposure_forest_figure(results.immortal_time, title=title, footnote=footnote),
            Path(f"{stem}_immortal_time.png"),
        )
    return plots


def _analyse_one(
    con: duckdb.DuckDBPyConnection, analysis: Analysis, endpoint: str, tables: dict[str, list[pd.DataFrame]]
) -> EndpointResults:
    """One endpoint's statistics (its tables appended to ``tables``).

    A function of its own so that each endpoint's frame is released before the next is read:
    at a million subjects two frames at once cost ~0.4 GB of peak memory.
    """
    frame = endpoint_frame(con, analysis, endpoint)
    result = analyse_endpoint(
        frame,
        reference_group=analysis.reference,
        groups=list(analysis.groups),
        covariates=list(analysis.covariates),
        landmarks=analysis.landmarks,
        exposure=analysis.exposure,
        exposure_landmarks=analysis.exposure_landmarks,
        cluster=analysis.cluster,
    )
    for name, table in result.tables(analysis_id=analysis.id, endpoint=endpoint).items():
        tables.setdefault(name, []).append(table)
    outcome = analysis.binary_outcome
    if outcome and outcome.endpoint == endpoint:
        counts = binary_outcome(
            frame.assign(outcome=event_within(frame, outcome.within_months)), "outcome", groups=list(analysis.groups)
        )
        tables["binary_outcome"] = [_keyed(counts, analysis.id, endpoint, within_months=outcome.within_months)]
    if endpoint == analysis.endpoints[0]:  # the subjects are the same for every endpoint
        characteristics = table_one(frame, analysis.characteristics, groups=list(analysis.groups))
        tables["table_one"] = [_keyed(characteristics, analysis.id, None)]
    return result


def _published(tables: dict[str, pd.DataFrame], endpoint: str) -> EndpointResults:
    """One endpoint's tables as suppressed (with the ``<count>_suppressed`` flags), for its plots and limits."""

    def part(name: str) -> pd.DataFrame:
        frame = tables[name]
        return frame[frame["endpoint"] == endpoint].drop(columns=["analysis_id", "endpoint"]).reset_index(drop=True)

    return EndpointResults(**{name: part(name) for name in EndpointResults.__dataclass_fields__})


def run_analysis(con: duckdb.DuckDBPyConnection, analysis: Analysis, settings: Settings) -> AnalysisOutput:
    """Every endpoint's statistics, the binary outcome, Table 1 and the limits, stored in results.*; plots as PNG.

    Small counts are withheld once, for the whole analysis, by :func:`pipelines.disclosure.suppress`
    before anything is written or drawn: the tables carry its flags (which the ``published.v_*`` views
    read), and the limits and plots are made from the flagged tables.
    """
    check_frame_columns(con, analysis)
    parts: dict[str, list[pd.DataFrame]] = {}
    results = {endpoint: _analyse_one(con, analysis, endpoint, parts) for endpoint in analysis.endpoints}
    no_outcome = pd.DataFrame(columns=list(BINARY_SCHEMA)).astype(BINARY_SCHEMA)  # still replaces stale rows
    parts.setdefault("binary_outcome", [_keyed(no_outcome, analysis.id, None, within_months=float("nan"))])
    keys = {"analysis_id": "string", "endpoint": "string"}
    tables = suppress(
        {name: pd.concat(frames, ignore_index=True).astype(keys) for name, frames in parts.items()},
        settings.min_cell_count,
    )
    plots: dict[str, Path] = {}
    stated = []
    for endpoint in analysis.endpoints:
        published = _published(tables, endpoint)
        stated.append(limits(analysis, endpoint, published))
        plots |= _plots(analysis, endpoint, published, tables["km_at_risk"], stated[-1]["footnote"].iloc[0], settings)
    tables["limits"] = pd.concat(stated, ignore_index=True)
    return AnalysisOutput(results, plots, replace_tables(con, analysis.id, {name: [t] for name, t in tables.items()}))
