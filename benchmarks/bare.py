"""The reference for each analysis: the bare lifelines calls on the same frame, nothing around them.

Per endpoint: a Kaplan-Meier fit per group, the k-group log-rank test, and each Cox model
the analysis fits (group only; group + covariates) with its Schoenfeld proportional-hazards
test.  The pipeline's analysis time is compared with this (target: within 1.3x).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test

from pipelines.stats import EVENT, GROUP, TIME


def _cox(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    data = frame[[TIME, EVENT, *columns]].dropna()
    design = pd.get_dummies(data[list(columns)], drop_first=True, dtype=float)
    training = design.assign(**{TIME: data[TIME], EVENT: data[EVENT]})
    try:
        fitted = CoxPHFitter().fit(training, TIME, EVENT)
    except ConvergenceError:  # e.g. a covariate constant in this subset: the pipeline records a status here
        return
    residuals = fitted.compute_residuals(training, kind="scaled_schoenfeld")
    proportional_hazard_test(fitted, training, time_transform="rank", precomputed_residuals=residuals)


def bare_statistics(frame: pd.DataFrame, covariates: Sequence[str]) -> None:
    """What any analysis of this endpoint must compute, as direct lifelines calls."""
    for _, rows in frame.groupby(GROUP, observed=True):
        KaplanMeierFitter().fit(rows[TIME], rows[EVENT])
    multivariate_logrank_test(frame[TIME], frame[GROUP], frame[EVENT])
    _cox(frame, [GROUP])
    if covariates:
        _cox(frame, [GROUP, *covariates])
