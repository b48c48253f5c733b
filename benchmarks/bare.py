"""The reference for each analysis: the bare lifelines calls on the same frames, nothing around them.

Per endpoint, every model the catalogue entry asks the pipeline for: a Kaplan-Meier fit per
group, the k-group log-rank test and lifelines' survival table the pipeline reads the expected
events from, the Cox models (group only; group + covariates), robust variance clustered like
the pipeline's when the entry names a cluster, each with its
Schoenfeld proportional-hazards test; and for an entry with an exposure the immortal-time
models, unadjusted and adjusted: the naive (ever exposed) and landmark Cox fits and the
time-varying one on counting-process rows.  Where lifelines' own routine is quadratic in the
data, the registry's replacement (:mod:`pipelines.stats.counting_cox`: the time-varying fit and
the Schoenfeld residuals; :mod:`pipelines.stats.sandwich`: the robust variance; all tested equal
to lifelines) is called directly here too, so the ratio measures what the pipeline adds around
the statistics, not which kernel it uses.

The frames each model is fitted on (landmark subsets, counting-process rows, design matrices)
are built beforehand by :func:`bare_models`, untimed: the target compares the pipeline's
analysis time with the statistics library's own time on the same frames (within 1.3x).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import group_survival_table_from_events

from pipelines.catalogue import Analysis
from pipelines.stats import EVENT, GROUP, TIME
from pipelines.stats.counting_cox import fit_counting_process_cox
from pipelines.stats.cox import encode_covariates
from pipelines.stats.ph_test import scaled_schoenfeld_residuals
from pipelines.stats.sandwich import ClusteredCoxPHFitter
from pipelines.stats.timevarying import counting_process_frame, ever_exposed_frame, landmark_frame

_CLUSTER, _ENTRY = "__cluster", "__entry"


@dataclass(frozen=True)
class BareCox:
    """One Cox fit as lifelines takes it: the training frame and whether it has a cluster or an entry column."""

    training: pd.DataFrame
    cluster: bool = False
    entry: bool = False
    ph_test: bool = True


def _design(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The pipeline's coding of the columns, constant columns dropped (the pipeline would not fit those at all)."""
    design, _ = encode_covariates(data, columns)
    return design.loc[:, design.std() > 0]


def _cox_input(
    frame: pd.DataFrame, columns: Sequence[str], cluster: str | None = None, ph_test: bool = True
) -> BareCox:
    data = frame.dropna(subset=[TIME, EVENT, *columns])
    training = _design(data, columns).assign(**{TIME: data[TIME], EVENT: data[EVENT]})
    if cluster:
        training[_CLUSTER] = data[cluster].astype(str)
    return BareCox(training, cluster=cluster is not None, ph_test=ph_test)


def _time_varying_input(frame: pd.DataFrame, exposure: str, covariates: Sequence[str]) -> BareCox:
    rows = counting_process_frame(frame.dropna(subset=list(covariates)), exposure=exposure, covariates=covariates)
    training = _design(rows, ["exposed", *covariates]).assign(
        **{_ENTRY: rows["start"], TIME: rows["stop"], EVENT: rows["event"]}
    )
    return BareCox(training, entry=True, ph_test=False)


def bare_models(frame: pd.DataFrame, analysis: Analysis) -> list[BareCox]:
    """Every Cox fit the analysis makes on this endpoint's frame, as lifelines inputs (built untimed)."""
    covariate_sets = [[], list(analysis.covariates)] if analysis.covariates else [[]]
    models = [_cox_input(frame, [GROUP, *covariates], analysis.cluster) for covariates in covariate_sets]
    if analysis.exposure:
        exposure = analysis.exposure
        cohort = frame[frame[GROUP].isin(analysis.groups)]
        for covariates in covariate_sets:
            naive = ever_exposed_frame(cohort, exposure=exposure)
            landmarks = [landmark_frame(cohort, exposure=exposure, landmark=at) for at in analysis.exposure_landmarks]
            models += [_cox_input(data, [GROUP, *covariates], ph_test=False) for data in [naive, *landmarks]]
            models.append(_time_varying_input(cohort, exposure, covariates))
    return models


def _fit(model: BareCox) -> None:
    data = model.training
    try:
        if model.entry:
            fit_counting_process_cox(data.drop(columns=[_ENTRY, TIME, EVENT]), data[_ENTRY], data[TIME], data[EVENT])
            return
        fitted = ClusteredCoxPHFitter().fit(data, TIME, EVENT, cluster_col=_CLUSTER if model.cluster else None)
    except ConvergenceError:  # e.g. a group without events in a landmark subset: the pipeline records a status there
        return
    if model.ph_test:
        residuals = scaled_schoenfeld_residuals(fitted, model.training)
        proportional_hazard_test(fitted, model.training, time_transform="rank", precomputed_residuals=residuals)


def bare_statistics(frame: pd.DataFrame, models: Sequence[BareCox]) -> None:
    """What the analysis of this endpoint computes, as direct lifelines calls (time this)."""
    for _, rows in frame.groupby(GROUP, observed=True):
        KaplanMeierFitter().fit(rows[TIME], rows[EVENT])
    multivariate_logrank_test(frame[TIME], frame[GROUP], frame[EVENT])
    group_survival_table_from_events(
        frame[GROUP], frame[TIME], frame[EVENT]
    )  # the expected events lifelines' test keeps to itself
    for model in models:
        _fit(model)
