"""Run one catalogue analysis: read its frame, analyse each endpoint, store results and plots."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import labels as words
from pipelines.catalogue import Analysis, CatalogueError
from pipelines.columns import pseudonym_as_text
from pipelines.disclosure import MARK, suppress
from pipelines.registry.results import replace_tables
from pipelines.settings import Settings
from pipelines.stats import (
    EndpointResults,
    analyse_endpoint,
    binary_outcome,
    cumulative_incidence_figure,
    event_within,
    exposure_forest_figure,
    few_events_note,
    forest_figure,
    km_figure,
    ph_test_note,
    save_figure,
    table_one,
)
from pipelines.stats.binary import BINARY_SCHEMA
from pipelines.stats.competing import CAUSE, CAUSE_LABELS
from pipelines.stats.flow import FLOW_SCHEMA, ROOT, cohort_flow
from pipelines.stats.iptw import IPTW_SCHEMAS, IptwFrame, IptwResults, iptw_analysis, iptw_frames, landmark_model
from pipelines.stats.iptw import MODEL as IPTW_MODEL
from pipelines.stats.iptw_plots import love_figure, weighted_km_figure
from pipelines.stats.plots import FigureWriter
from pipelines.stats.timevarying import NAIVE_LABEL
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
    results: dict[str, EndpointResults]  # endpoint -> its statistics as written, small counts flagged
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
    (3.7 s instead of ~1 s for a frame of 927k subjects).  The competing-risk ``cause`` comes along where the
    frame has it (every frame built with ``analysis.time_to_event``).
    """
    present = {row[0] for row in con.execute(f"DESCRIBE {analysis.frame}").fetchall()}
    cause = [CAUSE] if CAUSE in present else []  # frames of analysis.time_to_event have it; hand-built ones may not
    columns = "".join(f", {_as_text(c)}" for c in (*cause, *analysis.columns))
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


def adjustment(analysis: Analysis, endpoint: str) -> str:
    """Which adjustments the analysis's models make, in words (results.limits.adjustment)."""
    named = _named(analysis.covariates)
    done = [f"multivariable Cox on {named}" if analysis.covariates else "none (unadjusted)"]
    labels = words.AnalysisLabels(analysis.id)
    if analysis.exposure:
        done.append(f"landmarks at {', '.join(f'{at:g}' for at in analysis.exposure_landmarks)} months")
        done.append(f"time-varying exposure ({words.variable(analysis.exposure).lower()})")
    if analysis.exposure_split:
        done.append(
            f"time-varying exposure split by kind ({', '.join(labels.group(k) for k in analysis.exposure_split)})"
        )
    for column in (analysis.time_varying_covariates or {}).get(endpoint, ()):
        done.append(f"{words.variable(column).lower()} as a time-varying covariate")
    iptw = analysis.adjust
    if iptw:
        frames = (
            f" on the landmark frames at {', '.join(f'{at:g}' for at in analysis.exposure_landmarks)} months "
            f"(models {', '.join(words.model(landmark_model(at)) for at in analysis.exposure_landmarks)}: propensity "
            f"among the subjects event-free and followed at the landmark, treatment = "
            f"{words.variable(analysis.exposure).lower()} by then)"
            if analysis.exposure
            else ""
        )
        done.append(
            f"IPTW{frames} (stabilised ATE weights, propensity on {_named(iptw.covariates)}"
            + (f", truncated at percentiles {iptw.truncate[0]:g}/{iptw.truncate[1]:g}" if iptw.truncate else "")
            + ")"
        )
    return "; ".join(done)


def _named(columns: tuple[str, ...]) -> str:
    """Frame columns in words, for the limits a reader sees (``Sex, KIT exon 11 mutation, ...``)."""
    return ", ".join(words.variable(c) for c in columns)


def time_dependent_confounding(analysis: Analysis, endpoint: str) -> str | None:
    """What the exposure's models cannot separate, in words: mixed exposure kinds, time-dependent confounders."""
    if not analysis.exposure:
        return None
    labels = words.AnalysisLabels(analysis.id)
    stated = [
        f"{words.variable(analysis.exposure)} counts as exposure only while the subject is still event-free, so the "
        "not-yet-exposed fill with patients whose disease progressed: progression is a time-dependent confounder and "
        "mediator that the naive, landmark and time-varying models do not hold"
    ]
    held = (analysis.time_varying_covariates or {}).get(endpoint, ())
    if held:
        model = f"time_varying_{'_'.join(c.removesuffix('_months') for c in held)}"
        stated.append(
            f"the model {words.model(model)} holds {_named(held)} as a time-varying covariate (a sensitivity "
            "analysis: as a mediator it also removes the part of the effect that acts through it)"
        )
    if analysis.exposure_split:
        stated.append(
            f"the pooled exposure mixes {' and '.join(labels.group(k).lower() for k in analysis.exposure_split)} "
            f"(effects may differ in direction): the model {words.model('time_varying_split')} estimates each; "
            "subjects whose kind is not recorded count as unexposed there"
        )
    return "; ".join(stated)


def limits(analysis: Analysis, endpoint: str, results: EndpointResults) -> pd.DataFrame:
    """The stated limits of one comparison (results.limits), and the footnote every plot of it carries.

    ``results.km_summary`` should carry the ``events_suppressed`` flags of :func:`pipelines.disclosure.suppress`:
    the groups with few events are listed with their events as published (withheld ones as ``supp.``).
    """
    held = _named(analysis.covariates) or None
    few = few_events_note(results.km_summary, words.AnalysisLabels(analysis.id)) or None
    clustering = (
        (
            f"subjects are not independent: Cox models use robust variance clustered on "
            f"{words.variable(analysis.cluster).lower()} "
            "(the Fine-Gray models a sandwich summed per cluster, which R's crr does not offer); Kaplan-Meier and "
            "cumulative incidence CIs, the log-rank and Gray's tests treat subjects as independent"
        )
        if analysis.cluster
        else None
    )
    immortal = (
        (
            f"{NAIVE_LABEL}: the naive grouping credits the exposed with time before exposure (immortal time); read "
            "the landmark and time-varying models"
            + (f" (primary: {words.model(analysis.primary)})" if analysis.primary else "")
        )
        if analysis.exposure
        else None
    )
    time_dependent = time_dependent_confounding(analysis, endpoint)
    footnote = " ".join(
        filter(
            None,
            [
                OBSERVATIONAL,
                f"Adjusted for (multivariable): {held}." if held else None,
                f"Not held by the registry: {analysis.confounders_not_held}.",
                few,
                f"Note: {clustering}." if clustering else None,
                f"Groups: {NAIVE_LABEL} (exposed at any time vs never); primary estimate "
                f"{words.model(analysis.primary)}."
                if analysis.exposure and analysis.primary
                else (f"Groups: {NAIVE_LABEL}." if analysis.exposure else None),
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
                "adjustment": adjustment(analysis, endpoint),
                "time_dependent_confounding": time_dependent,
                "primary_model": analysis.primary,
                "footnote": footnote,
            }
        ]
    ).astype(LIMITS_SCHEMA)


def _keyed(table: pd.DataFrame, analysis_id: str, endpoint: str | None, **extra: object) -> pd.DataFrame:
    keys = pd.DataFrame({"analysis_id": analysis_id, "endpoint": endpoint, **extra}, index=table.index)
    return pd.concat([keys, table], axis=1)


def _primary_note(analysis: Analysis, immortal: pd.DataFrame) -> str:
    """For the naive grouping of an exposure: the primary model's estimate, so a biased HR is never read alone."""
    rows = immortal[(immortal["model"] == analysis.primary) & (immortal["variable"] == "group")]
    if not analysis.exposure or rows.empty:
        return ""
    row = rows.iloc[0]
    estimate = (
        f"HR {row['hr']:.2f} ({row['hr_lower']:.2f}–{row['hr_upper']:.2f})"
        if row["status"] == "ok" and not pd.isna(row["hr"])
        else "not estimable"
    )
    return f"Primary estimate ({words.model(str(analysis.primary))}): {estimate}"


def _plots(
    analysis: Analysis,
    endpoint: str,
    results: EndpointResults,
    at_risk: pd.DataFrame,
    footnote: str,
    settings: Settings,
    writer: FigureWriter | None,
) -> dict[str, Path]:
    """The endpoint's figures (SVG and PNG), drawn from its suppressed tables (withheld counts print as ``supp.``).

    A figure whose inputs did not change since the last refresh is not drawn again (:func:`save_figure`).
    """
    labels = words.AnalysisLabels(analysis.id)
    title = f"{analysis.title} — {words.endpoint(endpoint)}"
    grouped = f"{title} [{NAIVE_LABEL}]" if analysis.exposure else title  # the KM and Cox groups are the naive ones
    stem = settings.plots_dir / f"{analysis.id}_{endpoint}"
    at_risk = at_risk[at_risk["endpoint"] == endpoint]
    flags = [
        t[[c for c in t.columns if c.endswith("_suppressed")]].to_numpy(bool)
        for t in (results.km_summary, results.cox, results.immortal_time, at_risk)
    ]
    if any(f.any() for f in flags):
        footnote = f"{footnote} {WITHHELD_NOTE}"
    model = "multivariable" if analysis.covariates else "univariable"
    time_label = f"Months from {analysis.origin}"
    km_notes = (ph_test_note(results.ph_test, "univariable"), _primary_note(analysis, results.immortal_time))
    km_tables = (results.km_summary, results.km_curve, results.cox, results.logrank, at_risk)
    plots = {
        f"km_{endpoint}": save_figure(
            Path(f"{stem}_km"),
            partial(
                km_figure,
                None,
                results,
                title=grouped,
                footnote=footnote,
                time_label=time_label,
                min_cell_count=settings.min_cell_count,
                at_risk=at_risk,
                endpoint=endpoint,
                labels=labels,
                hazard_ratio_kind=NAIVE_LABEL if analysis.exposure else "unadjusted",
                notes=km_notes,
            ),
            *km_tables,
            grouped,
            footnote,
            time_label,
            endpoint,
            labels,
            km_notes,
            bool(analysis.exposure),
            writer=writer,
        ),
        f"forest_{endpoint}": save_figure(
            Path(f"{stem}_forest"),
            partial(
                forest_figure,
                results.cox,
                model=model,
                title=grouped,
                footnote=footnote,
                labels=labels,
                notes=(ph_test_note(results.ph_test, model),),
            ),
            results.cox,
            results.ph_test,
            model,
            grouped,
            footnote,
            labels,
            writer=writer,
        ),
    }
    if len(results.cumulative_incidence):
        plots[f"cumulative_incidence_{endpoint}"] = save_figure(
            Path(f"{stem}_cumulative_incidence"),
            partial(
                cumulative_incidence_figure,
                results.cumulative_incidence,
                results.gray_test,
                title=title,
                footnote=footnote,
                time_label=time_label,
                labels=labels,
            ),
            results.cumulative_incidence,
            results.gray_test,
            title,
            footnote,
            time_label,
            labels,
            writer=writer,
        )
    if analysis.exposure:
        plots[f"immortal_time_{endpoint}"] = save_figure(
            Path(f"{stem}_immortal_time"),
            partial(exposure_forest_figure, results.immortal_time, title=title, footnote=footnote, labels=labels),
            results.immortal_time,
            title,
            footnote,
            labels,
            writer=writer,
        )
    return plots


def analyse_catalogue_endpoint(frame: pd.DataFrame, analysis: Analysis, endpoint: str) -> EndpointResults:
    """The survival statistics of one endpoint's frame, as the catalogue entry asks for them."""
    return analyse_endpoint(
        frame,
        reference_group=analysis.reference,
        groups=list(analysis.groups),
        covariates=list(analysis.covariates),
        landmarks=analysis.landmarks,
        exposure=analysis.exposure,
        exposure_landmarks=analysis.exposure_landmarks,
        cluster=analysis.cluster,
        rmst_horizons=analysis.rmst_horizons,
        exposure_split=analysis.exposure_split,
        time_varying_covariates=(analysis.time_varying_covariates or {}).get(endpoint, ()),
        cause_labels=CAUSE_LABELS[endpoint],
    )


def declared_flow_steps(con: duckdb.DuckDBPyConnection, analysis: Analysis) -> list[str] | None:
    """The boxes of the analysis's cohort flow in order (``analysis.<id>_flow_steps()``), None where it declares none."""
    name = f"{analysis.id}_flow_steps"
    declared = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE schema_name = 'analysis' AND function_name = ?", [name]
    ).fetchone()[0]
    return con.execute(f"SELECT analysis.{name}()").fetchone()[0] if declared else None


def subject_unit(con: duckdb.DuckDBPyConnection, analysis: Analysis) -> str:
    """What the frame's subjects are (patients, operations, samples): the root box of its declared cohort flow."""
    steps = declared_flow_steps(con, analysis)
    if steps is None:
        return "operations" if analysis.cluster else "patients"
    return steps[0].removeprefix(ROOT)


def analysis_flow(con: duckdb.DuckDBPyConnection, analysis: Analysis, summary: pd.DataFrame) -> pd.DataFrame:
    """The cohort flow counts from ``analysis.<id>_flow`` and its declared steps (empty where the analysis defines none)."""
    view = f"{analysis.id}_flow"
    exists = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'analysis' AND view_name = ?", [view]
    ).fetchone()[0]
    if not exists:
        return pd.DataFrame(columns=list(FLOW_SCHEMA)).astype(FLOW_SCHEMA)
    steps = declared_flow_steps(con, analysis)
    if steps is None:
        raise CatalogueError(
            f"sql/analysis/{analysis.id}.sql: analysis.{view} needs analysis.{view}_steps(), its boxes in order "
            "(the root, then every reason the view gives)"
        )
    patients = con.execute(f"SELECT excluded_step, excluded_reason FROM analysis.{view}").df()
    first = summary[summary["endpoint"] == summary["endpoint"].iloc[0]] if len(summary) else summary
    analysed = {g: int(first.loc[first["group"] == g, "n"].sum()) for g in analysis.groups if g in set(first["group"])}
    return cohort_flow(patients, steps, analysed)


def _analyse_one(
    con: duckdb.DuckDBPyConnection, analysis: Analysis, endpoint: str, tables: dict[str, list[pd.DataFrame]]
) -> EndpointResults:
    """One endpoint's statistics (its tables appended to ``tables``).

    A function of its own so that each endpoint's frame is released before the next is read:
    at a million subjects two frames at once cost ~0.4 GB of peak memory.
    """
    frame = endpoint_frame(con, analysis, endpoint)
    result = analyse_catalogue_endpoint(frame, analysis, endpoint)
    for name, table in result.tables(analysis_id=analysis.id, endpoint=endpoint).items():
        tables.setdefault(name, []).append(table)
    if analysis.adjust:
        _iptw_tables(frame, analysis, endpoint, tables)
    outcome = analysis.binary_outcome
    if outcome and outcome.endpoint == endpoint:
        counts = binary_outcome(
            frame.assign(outcome=event_within(frame, outcome.within_months)), "outcome", groups=list(analysis.groups)
        )
        tables["binary_outcome"] = [_keyed(counts, analysis.id, endpoint, within_months=outcome.within_months)]
    if endpoint == analysis.endpoints[0]:  # the subjects are the same for every endpoint
        characteristics = table_one(
            frame,
            analysis.characteristics,
            groups=list(analysis.groups),
            cluster=analysis.cluster,
            unit=subject_unit(con, analysis),
        )
        tables["table_one"] = [_keyed(characteristics, analysis.id, None)]
    return result


def analysis_iptw(frame: pd.DataFrame, analysis: Analysis) -> list[tuple[IptwFrame, IptwResults]]:
    """The entry's IPTW comparisons of one endpoint, each with the frame it ran on (:func:`iptw_frames`)."""
    adjust = analysis.adjust
    designs = iptw_frames(
        frame,
        groups=list(analysis.groups),
        reference_group=analysis.reference,
        exposure=analysis.exposure,
        landmarks=analysis.exposure_landmarks,
    )
    return [
        (
            design,
            iptw_analysis(
                design.frame,
                treatment_group=design.treatment_group,
                reference_group=design.reference_group,
                covariates=list(adjust.covariates),
                truncate=adjust.truncate,
                cluster=analysis.cluster,
                model=design.model,
            ),
        )
        for design in designs
    ]


def _iptw_tables(frame: pd.DataFrame, analysis: Analysis, endpoint: str, tables: dict[str, list[pd.DataFrame]]) -> None:
    """The entry's IPTW tables (its two groups, or the exposure's landmark frames), keyed into ``tables``."""
    for _design, result in analysis_iptw(frame, analysis):
        for name in ("balance", "positivity", "km_curve", "cox"):
            tables.setdefault(f"iptw_{name}", []).append(_keyed(getattr(result, name), analysis.id, endpoint))


def _iptw_plots(
    analysis: Analysis,
    endpoint: str,
    tables: dict[str, pd.DataFrame],
    footnote: str,
    settings: Settings,
    writer: FigureWriter | None,
) -> dict[str, Path]:
    """Love plot and weighted KM of each IPTW comparison of one endpoint (nothing without an adjustment).

    The comparison of the entry's groups draws ``<id>_<endpoint>_love.png``; a landmark one
    ``..._love_landmark_<L>.png``, titled with its landmark frame.
    """
    if not analysis.adjust:
        return {}
    labels = words.AnalysisLabels(analysis.id)
    plots = {}
    cox = tables["iptw_cox"]
    for model in cox.loc[cox["endpoint"] == endpoint, "model"].unique():
        part = {
            name: t[(t["endpoint"] == endpoint) & (t["model"] == model)]
            for name, t in ((n, tables[n]) for n in ("iptw_balance", "iptw_km_curve"))
        }
        if not len(part["iptw_km_curve"]):  # not estimable (e.g. nobody exposed by L): its Cox row says why
            continue
        suffix = model.removeprefix(IPTW_MODEL)
        landmark = suffix.removeprefix("_landmark_")
        title = f"{analysis.title} — {words.endpoint(endpoint)}" + (
            f" [landmark {landmark} months: {words.variable(str(analysis.exposure)).lower()} by then vs not, "
            "among event-free]"
            if suffix
            else ""
        )
        time_label = f"Months from the {landmark}-month landmark" if suffix else f"Months from {analysis.origin}"
        stem = settings.plots_dir / f"{analysis.id}_{endpoint}"
        balance, curve = part["iptw_balance"], part["iptw_km_curve"]
        plots[f"love_{endpoint}{suffix}"] = save_figure(
            Path(f"{stem}_love{suffix}"),
            partial(love_figure, balance, title=title, footnote=footnote, labels=labels),
            balance,
            title,
            footnote,
            labels,
            writer=writer,
        )
        plots[f"iptw_km_{endpoint}{suffix}"] = save_figure(
            Path(f"{stem}_iptw_km{suffix}"),
            partial(
                weighted_km_figure,
                curve,
                title=title,
                time_label=time_label,
                footnote=footnote,
                endpoint=endpoint,
                labels=labels,
            ),
            curve,
            title,
            time_label,
            footnote,
            endpoint,
            labels,
            writer=writer,
        )
    return plots


def _published(tables: dict[str, pd.DataFrame], endpoint: str) -> EndpointResults:
    """One endpoint's tables as suppressed (with the ``<count>_suppressed`` flags), for its plots and limits."""

    def part(name: str) -> pd.DataFrame:
        frame = tables[name]
        return frame[frame["endpoint"] == endpoint].drop(columns=["analysis_id", "endpoint"]).reset_index(drop=True)

    return EndpointResults(**{name: part(name) for name in EndpointResults.__dataclass_fields__})


def run_analysis(
    con: duckdb.DuckDBPyConnection, analysis: Analysis, settings: Settings, writer: FigureWriter | None = None
) -> AnalysisOutput:
    """Every endpoint's statistics, the binary outcome, Table 1 and the limits, stored in results.*; plots as PNG.

    Small counts are withheld once, for the whole analysis, by :func:`pipelines.disclosure.suppress`
    before anything is written or drawn: the tables carry its flags (which the ``published.v_*`` views
    read), and the limits and plots are made from the flagged tables.
    """
    check_frame_columns(con, analysis)
    parts: dict[str, list[pd.DataFrame]] = {}
    for endpoint in analysis.endpoints:
        _analyse_one(con, analysis, endpoint, parts)
    no_outcome = pd.DataFrame(columns=list(BINARY_SCHEMA)).astype(BINARY_SCHEMA)  # still replaces stale rows
    parts.setdefault("binary_outcome", [_keyed(no_outcome, analysis.id, None, within_months=float("nan"))])
    for name, schema in IPTW_SCHEMAS.items():  # an entry without adjustment still replaces stale rows
        parts.setdefault(name, [_keyed(pd.DataFrame(columns=list(schema)).astype(schema), analysis.id, None)])
    parts["cohort_flow"] = [
        _keyed(
            analysis_flow(
                con, analysis, pd.concat(parts.get("km_summary", [])) if "km_summary" in parts else pd.DataFrame()
            ),
            analysis.id,
            None,
        )
    ]
    keys = {"analysis_id": "string", "endpoint": "string"}
    tables = suppress(
        {name: pd.concat(frames, ignore_index=True).astype(keys) for name, frames in parts.items()},
        settings.min_cell_count,
    )
    plots: dict[str, Path] = {}
    stated = []
    published = {endpoint: _published(tables, endpoint) for endpoint in analysis.endpoints}
    for endpoint, results in published.items():
        stated.append(limits(analysis, endpoint, results))
        plots |= _plots(
            analysis, endpoint, results, tables["km_at_risk"], stated[-1]["footnote"].iloc[0], settings, writer
        )
        plots |= _iptw_plots(analysis, endpoint, tables, stated[-1]["footnote"].iloc[0], settings, writer)
    tables["limits"] = pd.concat(stated, ignore_index=True)
    return AnalysisOutput(published, plots, replace_tables(con, analysis.id, {name: [t] for name, t in tables.items()}))
