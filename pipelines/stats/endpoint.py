"""One call per analysis endpoint: every survival table the registry publishes for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import pandas as pd

from pipelines.stats.competing import (
    CAUSE,
    CIF_SCHEMA,
    COMPETING_COX_SCHEMA,
    GRAY_SCHEMA,
    competing_cox,
    cumulative_incidence,
    gray_test,
)
from pipelines.stats.cox import COX_SCHEMA, cox_model
from pipelines.stats.frame import DEFAULT_LANDMARKS, CiTransform, order_groups, typed
from pipelines.stats.km import kaplan_meier
from pipelines.stats.logrank import logrank
from pipelines.stats.ph_test import PH_SCHEMA
from pipelines.stats.rmst import DEFAULT_RMST_HORIZONS, rmst
from pipelines.stats.timevarying import DEFAULT_EXPOSURE_LANDMARKS, immortal_time_with_ph_tests


@dataclass(frozen=True)
class EndpointResults:
    """The tables of one endpoint of one analysis; columns are documented in docs/statistics.md.

    Attributes
    ----------
    km_summary
        One row per group: n, events, median with 95% CI.
    km_landmarks
        One row per group and landmark time: S(t) with 95% CI and numbers at risk.
    km_curve
        The Kaplan-Meier step function of every group, with pointwise 95% CI.
    logrank
        One row per group: observed and expected events, with the k-group log-rank test.
    cox
        Hazard-ratio rows of the univariable (group only) and, with covariates, multivariable models.
    ph_test
        Proportional-hazards tests (R ``cox.zph``'s score test) of those models and of the immortal-time
        models (same ``model`` names as in ``immortal_time``), per term and global.
    immortal_time
        Exposure comparisons (naive, landmark, time-varying); empty without an exposure column.
    rmst
        Restricted mean survival time per group and horizon, with SE and 95% CI.
    rmst_contrast
        RMST difference and ratio of each group against the reference, per horizon.
    cumulative_incidence
        Aalen-Johansen cumulative incidence per group and cause (curve and landmarks, R ``cmprsk::cuminc``);
        empty without a ``cause`` column.
    gray_test
        Per cause: Gray's test of equal cumulative incidence across the groups (``cuminc``'s ``Tests``).
    competing_cox
        Per cause: cause-specific Cox and Fine-Gray (R ``cmprsk::crr``) rows; empty without a ``cause`` column.
    """

    km_summary: pd.DataFrame
    km_landmarks: pd.DataFrame
    km_curve: pd.DataFrame
    logrank: pd.DataFrame
    cox: pd.DataFrame
    ph_test: pd.DataFrame
    immortal_time: pd.DataFrame
    rmst: pd.DataFrame
    rmst_contrast: pd.DataFrame
    cumulative_incidence: pd.DataFrame
    gray_test: pd.DataFrame
    competing_cox: pd.DataFrame

    def tables(self, **keys: object) -> dict[str, pd.DataFrame]:
        """Every table by field name, with the key columns (e.g. ``analysis_id``, ``endpoint``) prepended.

        The statistics functions do not know which analysis they serve; the caller names it
        here, so each DuckDB results table carries its keys as leading columns.
        """
        return {
            f.name: getattr(self, f.name).assign(**keys)[[*keys, *getattr(self, f.name).columns]] for f in fields(self)
        }


def analyse_endpoint(
    frame: pd.DataFrame,
    *,
    reference_group: str,
    groups: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    landmarks: Sequence[float] = DEFAULT_LANDMARKS,
    ci_transform: CiTransform = "log-log",
    exposure: str | None = None,
    exposure_landmarks: Sequence[float] = DEFAULT_EXPOSURE_LANDMARKS,
    cluster: str | None = None,
    rmst_horizons: Sequence[float] = DEFAULT_RMST_HORIZONS,
    exposure_split: Mapping[str, str] | None = None,
    time_varying_covariates: Sequence[str] = (),
    cause_labels: Mapping[int, str] | None = None,
) -> EndpointResults:
    """Kaplan-Meier, log-rank, Cox and (optionally) immortal-time analyses of one endpoint.

    Parameters
    ----------
    frame
        Analysis frame: one row per subject with ``time_months``, ``event``, ``group`` and the
        covariate (and exposure) columns.
    reference_group
        Denominator group of the hazard ratios.
    groups
        Groups in display order (default: all present, sorted); others are left out.
    covariates
        Adjustment columns of the multivariable Cox model; none means no multivariable rows.
    landmarks
        Times at which S(t) and the numbers at risk are reported (months by default).
    ci_transform
        ``"log-log"`` (default, lifelines/SAS), ``"log"`` (R survfit default) or ``"plain"``.
    exposure
        Column with the time from the origin to an exposure that starts during follow-up (NaN
        if never), for the naive / landmark / time-varying comparison of the subjects in
        ``groups`` (the exposure, not ``group``, defines that comparison's groups).  With covariates, the
        comparison is reported unadjusted and adjusted (``model`` suffixed ``_adjusted``).
    exposure_landmarks
        Landmark times of that comparison.
    exposure_split
        Level -> column of months to an exposure of that kind (e.g. surgery with the TKI continued /
        stopped after it): adds the ``time_varying_split`` model (docs/statistics.md).
    time_varying_covariates
        Columns of months to a time-dependent confounder (e.g. progression, for OS): adds the
        time-varying model of the exposure with them (``time_varying_progression``).
    cluster
        Column of the independent unit when subjects are not independent (e.g. ``patient_id`` for
        operations): the Cox models use the robust variance clustered on it.  Kaplan-Meier and
        log-rank treat subjects as independent (docs/statistics.md, "Operation-level analyses").
    rmst_horizons
        Restriction times of the restricted mean survival time (months by default).
    cause_labels
        Cause code -> label of the frame's ``cause`` column (``competing.CAUSE_LABELS[endpoint]``); with a
        ``cause`` column the competing-risk tables are computed (docs/statistics.md, "Competing risks").

    Returns
    -------
    EndpointResults
        Every table, never raising for data that make an estimate impossible (see ``status``).
    """
    km = kaplan_meier(frame, groups=groups, landmarks=landmarks, ci_transform=ci_transform)
    models = [cox_model(frame, reference_group=reference_group, groups=groups, model="univariable", cluster=cluster)]
    if covariates:
        models.append(
            cox_model(
                frame,
                reference_group=reference_group,
                groups=groups,
                covariates=covariates,
                model="multivariable",
                cluster=cluster,
            )
        )
    immortal, immortal_ph = [typed([], COX_SCHEMA)], [typed([], PH_SCHEMA)]
    if exposure is not None:
        cohort = order_groups(frame, groups)[0]
        for suffix, adjustment in [("", ()), *([("_adjusted", covariates)] if covariates else [])]:
            coefficients, tests = immortal_time_with_ph_tests(
                cohort,
                exposure=exposure,
                landmarks=exposure_landmarks,
                covariates=adjustment,
                exposure_split=exposure_split,
                time_varying_covariates=time_varying_covariates,
            )
            immortal.append(coefficients.assign(model=coefficients["model"] + suffix))
            immortal_ph.append(tests.assign(model=tests["model"] + suffix))
    restricted, contrasts = rmst(frame, reference_group=reference_group, groups=groups, horizons=rmst_horizons)
    competing = CAUSE in frame.columns
    return EndpointResults(
        km_summary=km.summary,
        km_landmarks=km.landmarks,
        km_curve=km.curve,
        logrank=logrank(frame, groups=groups),
        cox=pd.concat([m.coefficients for m in models], ignore_index=True),
        ph_test=typed(pd.concat([*(m.ph_test for m in models), *immortal_ph], ignore_index=True), PH_SCHEMA),
        immortal_time=pd.concat(immortal, ignore_index=True),
        rmst=restricted,
        rmst_contrast=contrasts,
        cumulative_incidence=cumulative_incidence(frame, groups=groups, landmarks=landmarks, labels=cause_labels)
        if competing
        else typed([], CIF_SCHEMA),
        gray_test=gray_test(frame, groups=groups, labels=cause_labels) if competing else typed([], GRAY_SCHEMA),
        competing_cox=competing_cox(
            frame,
            reference_group=reference_group,
            groups=groups,
            covariates=covariates,
            cluster=cluster,
            labels=cause_labels,
        )
        if competing
        else typed([], COMPETING_COX_SCHEMA),
    )
