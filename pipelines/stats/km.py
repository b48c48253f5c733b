"""Kaplan-Meier estimates per group: the step function, medians with CIs, landmark survival.

lifelines fits the curves; this module adds what lifelines does not offer in R-compatible
form: a choice of CI transform for S(t) (computed once, in :func:`pointwise_ci`, from
Greenwood's variance) and R's ``quantile.survfit`` rule for medians and their CIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from pipelines.stats.frame import (
    DEFAULT_LANDMARKS,
    EVENT,
    FEW_EVENTS,
    GROUP,
    TIME,
    Z95,
    CiTransform,
    check_ci_transform,
    select_groups,
    typed,
)

CURVE_SCHEMA = {
    "group": "string",
    "time": "float64",
    "n_at_risk": "int64",
    "n_events": "int64",
    "n_censored": "int64",
    "survival": "float64",
    "lower": "float64",
    "upper": "float64",
    "ci_transform": "string",
}
SUMMARY_SCHEMA = {
    "group": "string",
    "n": "int64",
    "events": "int64",
    "censored": "int64",
    "median": "float64",
    "median_lower": "float64",
    "median_upper": "float64",
    "median_reached": "bool",
    "few_events": "bool",
    "ci_transform": "string",
}
LANDMARK_SCHEMA = {
    "group": "string",
    "time": "float64",
    "n_at_risk": "int64",
    "n_events": "int64",
    "survival": "float64",
    "lower": "float64",
    "upper": "float64",
    "ci_transform": "string",
}
CURVE_COLUMNS, SUMMARY_COLUMNS, LANDMARK_COLUMNS = list(CURVE_SCHEMA), list(SUMMARY_SCHEMA), list(LANDMARK_SCHEMA)
_TOLERANCE = float(np.sqrt(np.finfo(float).eps))  # R's quantile.survfit tolerance


@dataclass(frozen=True)
class KaplanMeierTables:
    """The three Kaplan-Meier tables of one endpoint (columns in docs/statistics.md)."""

    summary: pd.DataFrame
    landmarks: pd.DataFrame
    curve: pd.DataFrame


def pointwise_ci(survival: np.ndarray, var_log_s: np.ndarray, transform: CiTransform) -> tuple[np.ndarray, np.ndarray]:
    """95% pointwise confidence limits of S(t) from Greenwood's variance of log S(t).

    lifelines only offers the log(-log) ("exponential Greenwood") interval, while R's
    ``survfit`` defaults to ``conf.type="log"``; both are computed here from the same variance so
    the choice is one argument.  Where no event has occurred yet (variance 0) the interval is
    [S, S]; where S(t) = 0 it is undefined (NaN), as in R.

    Parameters
    ----------
    survival
        Kaplan-Meier estimates S(t).
    var_log_s
        Greenwood's variance of log S(t): the cumulative sum of d / (n (n - d)).
    transform
        ``"log-log"``: symmetric on log(-log S); ``"log"``: symmetric on log S, upper limit
        capped at 1; ``"plain"``: symmetric on S, clipped to [0, 1].
    """
    check_ci_transform(transform)
    s = np.asarray(survival, dtype=float)
    se = np.sqrt(np.asarray(var_log_s, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "log":
            lower, upper = s * np.exp(-Z95 * se), np.minimum(s * np.exp(Z95 * se), 1.0)
        elif transform == "log-log":
            half_width = Z95 * se / np.abs(np.log(s))  # on the log(-log S) scale
            lower, upper = s ** np.exp(half_width), s ** np.exp(-half_width)
        else:
            lower, upper = np.clip(s - Z95 * s * se, 0.0, 1.0), np.clip(s + Z95 * s * se, 0.0, 1.0)
    no_events_yet = se == 0
    lower, upper = np.where(no_events_yet, s, lower), np.where(no_events_yet, s, upper)
    undefined = s <= 0
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)


def survival_quantile(times: np.ndarray, curve: np.ndarray, p: float = 0.5) -> float:
    """Time at which a survival curve (or one of its CI limits) first falls to ``p``.

    This is R's ``quantile.survfit`` rule, used for the median and for both limits of its CI
    (Brookmeyer-Crowley: the CI of the median is where the lower and upper pointwise curves
    cross 0.5).  It differs from lifelines' ``qth_survival_times`` when the curve sits exactly
    at ``p`` over an interval, which is common in small groups without censoring: R then takes
    the midpoint of that flat stretch (or of the stretch up to the last follow-up time).

    Parameters
    ----------
    times
        Increasing times of the step function, starting at the origin, including censoring times.
    curve
        The step function's value from each time on; NaN values (undefined CI limits) are skipped.
    p
        Survival probability, 0.5 for the median.

    Returns
    -------
    float
        The time, or NaN when the curve never falls to ``p`` (not reached).
    """
    t, y = np.asarray(times, dtype=float), np.asarray(curve, dtype=float)
    defined = ~np.isnan(y)
    last_time = float(t[-1]) if t.size else np.nan
    t, y = t[defined], y[defined]
    reached = np.flatnonzero(y <= p + _TOLERANCE)
    if reached.size == 0:
        return np.nan
    below = np.flatnonzero(y < p - _TOLERANCE)
    end = t[below[0]] if below.size else last_time  # a flat at exactly p runs to the next drop
    return float((t[reached[0]] + end) / 2)


def fit_kaplan_meier(frame: pd.DataFrame, label: str) -> KaplanMeierFitter:
    """lifelines Kaplan-Meier fit of one group of a checked frame (the plots reuse it)."""
    rows = frame[frame[GROUP] == label]
    return KaplanMeierFitter(label=label).fit(rows[TIME], rows[EVENT])


def _group_curve(frame: pd.DataFrame, label: str, ci_transform: CiTransform) -> pd.DataFrame:
    fit = fit_kaplan_meier(frame, label)
    table = fit.event_table
    at_risk, deaths = table["at_risk"].to_numpy(float), table["observed"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log_s = np.cumsum(np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0))
    survival = fit.survival_function_.iloc[:, 0].reindex(table.index).to_numpy()
    lower, upper = pointwise_ci(survival, var_log_s, ci_transform)
    return pd.DataFrame(
        {
            "group": label,
            "time": table.index.to_numpy(float),
            "n_at_risk": table["at_risk"].to_numpy(int),
            "n_events": table["observed"].to_numpy(int),
            "n_censored": table["censored"].to_numpy(int),
            "survival": survival,
            "lower": lower,
            "upper": upper,
            "ci_transform": ci_transform,
        }
    )


def _summary_row(curve: pd.DataFrame, label: str, ci_transform: CiTransform) -> dict[str, object]:
    if curve.empty:
        return {
            "group": label,
            "n": 0,
            "events": 0,
            "censored": 0,
            "median": np.nan,
            "median_lower": np.nan,
            "median_upper": np.nan,
            "median_reached": False,
            "few_events": True,
            "ci_transform": ci_transform,
        }
    times = curve["time"].to_numpy()
    median = survival_quantile(times, curve["survival"].to_numpy())
    events = int(curve["n_events"].sum())
    return {
        "group": label,
        "n": int(curve["n_at_risk"].iloc[0]),
        "events": events,
        "censored": int(curve["n_censored"].sum()),
        "median": median,
        "median_lower": survival_quantile(times, curve["lower"].to_numpy()),
        "median_upper": survival_quantile(times, curve["upper"].to_numpy()),
        "median_reached": bool(np.isfinite(median)),
        "few_events": events < FEW_EVENTS,
        "ci_transform": ci_transform,
    }


def _landmark_row(curve: pd.DataFrame, label: str, at: float, ci_transform: CiTransform) -> dict[str, object]:
    """S(at) with CI, the number still at risk at ``at`` (time >= at, as R's summary.survfit)."""
    row: dict[str, object] = {
        "group": label,
        "time": float(at),
        "n_at_risk": 0,
        "n_events": 0,
        "survival": np.nan,
        "lower": np.nan,
        "upper": np.nan,
        "ci_transform": ci_transform,
    }
    if curve.empty:
        return row
    later = curve[curve["time"] >= at]
    row["n_at_risk"] = int(later["n_at_risk"].iloc[0]) if not later.empty else 0
    row["n_events"] = int(curve.loc[curve["time"] <= at, "n_events"].sum())
    last = curve[curve["time"] <= at].iloc[-1]
    beyond_follow_up = at > curve["time"].iloc[-1] and last["survival"] > 0
    if not beyond_follow_up:  # past the last follow-up S(t) is unknown unless it already reached 0
        row.update(survival=last["survival"], lower=last["lower"], upper=last["upper"])
    return row


def kaplan_meier(
    frame: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    landmarks: Sequence[float] = DEFAULT_LANDMARKS,
    ci_transform: CiTransform = "log-log",
) -> KaplanMeierTables:
    """Kaplan-Meier summary, landmark survival and step function for each group.

    Parameters
    ----------
    frame
        Analysis frame (``time_months``, ``event``, ``group``).
    groups
        Groups to report, in display order; a listed group without subjects gets n = 0 and NaN.
    landmarks
        Times (same unit as ``time_months``) at which S(t), its CI and the numbers at risk are reported.
    ci_transform
        Transform of the pointwise CI of S(t); it also sets the median's CI.  ``"log"`` reproduces
        R's ``survfit`` default, ``"log-log"`` (default) lifelines' and SAS's.

    Returns
    -------
    KaplanMeierTables
        ``summary`` (one row per group), ``landmarks`` (group x landmark) and ``curve``
        (one row per group and distinct time, starting at time 0).
    """
    check_ci_transform(ci_transform)
    data, order = select_groups(frame, groups)
    curves = {
        label: _group_curve(data, label, ci_transform)
        if (data[GROUP] == label).any()
        else pd.DataFrame(columns=CURVE_COLUMNS)
        for label in order
    }
    summary = typed([_summary_row(curves[label], label, ci_transform) for label in order], SUMMARY_SCHEMA)
    landmark_rows = [_landmark_row(curves[label], label, at, ci_transform) for label in order for at in landmarks]
    non_empty = [c for c in curves.values() if not c.empty]
    curve = pd.concat(non_empty, ignore_index=True) if non_empty else pd.DataFrame(columns=CURVE_COLUMNS)
    return KaplanMeierTables(
        summary=summary, landmarks=typed(landmark_rows, LANDMARK_SCHEMA), curve=typed(curve, CURVE_SCHEMA)
    )
