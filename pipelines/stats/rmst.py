"""Restricted mean survival time (RMST) per group and between groups, as R's survRM2 ``rmst2`` defines it.

Where hazards are not proportional a hazard ratio averages effects that change over time; the RMST up
to a horizon tau (the area under the Kaplan-Meier curve from 0 to tau: the expected event-free time
within tau) and its difference between groups need no such assumption.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from pipelines.stats.frame import EVENT, GROUP, TIME, Z95, select_groups, typed

DEFAULT_RMST_HORIZONS: tuple[float, ...] = (24.0, 60.0)
RMST_SCHEMA = {
    "group": "string",
    "tau": "float64",
    "n": "int64",
    "rmst": "float64",
    "se": "float64",
    "lower": "float64",
    "upper": "float64",
    "status": "string",
}
RMST_CONTRAST_SCHEMA = {
    "group": "string",
    "reference": "string",
    "tau": "float64",
    "difference": "float64",
    "difference_se": "float64",
    "difference_lower": "float64",
    "difference_upper": "float64",
    "difference_p": "float64",
    "ratio": "float64",
    "log_ratio_se": "float64",
    "ratio_lower": "float64",
    "ratio_upper": "float64",
    "ratio_p": "float64",
    "status": "string",
}
RMST_COLUMNS, RMST_CONTRAST_COLUMNS = list(RMST_SCHEMA), list(RMST_CONTRAST_SCHEMA)


def rmst_one(times: np.ndarray, events: np.ndarray, tau: float) -> tuple[float, float]:
    """RMST up to ``tau`` and its standard error for one group (survRM2's ``rmst1``).

    RMST = the area under the Kaplan-Meier step function on [0, tau].  Var = sum over the distinct event
    times t_i <= tau of A_i^2 d_i / (Y_i (Y_i - d_i)), A_i the area under the curve from t_i to tau, and
    a term with Y_i = d_i (the curve falls to 0) counted as 0, as survRM2 does.  The caller checks that
    tau is within the group's follow-up.
    """
    t, d = np.asarray(times, float), np.asarray(events, int)
    event_times = np.unique(t[(d == 1) & (t <= tau)])
    at_risk = np.array([(t >= u).sum() for u in event_times], dtype=float)
    deaths = np.array([((t == u) & (d == 1)).sum() for u in event_times], dtype=float)
    survival = np.cumprod(1 - deaths / at_risk) if event_times.size else np.array([])
    steps = np.r_[0.0, event_times, tau]
    heights = np.r_[1.0, survival]
    pieces = np.diff(steps) * heights  # area of each flat stretch of the curve within [0, tau]
    tail_area = np.cumsum(pieces[::-1])[::-1][1:]  # A_i: the area from event time i to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
    return float(pieces.sum()), float(np.sqrt((tail_area**2 * weight).sum()))


def _group_rows(data: pd.DataFrame, order: list[str], tau: float) -> list[dict[str, object]]:
    rows = []
    for label in order:
        part = data[data[GROUP] == label]
        row: dict[str, object] = {"group": label, "tau": tau, "n": len(part), "status": "ok"}
        if part.empty:
            row["status"] = "not_estimable: no subjects"
        elif tau > part[TIME].max():
            row["status"] = f"not_estimable: tau {tau:g} beyond the group's last follow-up ({part[TIME].max():g})"
        else:
            estimate, se = rmst_one(part[TIME].to_numpy(), part[EVENT].to_numpy(), tau)
            row |= {"rmst": estimate, "se": se, "lower": estimate - Z95 * se, "upper": estimate + Z95 * se}
        rows.append(row)
    return rows


def _contrast(group: dict[str, object], reference: dict[str, object]) -> dict[str, object]:
    """Difference (normal CI, Wald p) and ratio (CI and p on the log scale, delta method), as survRM2's rmst2."""
    row: dict[str, object] = {"group": group["group"], "reference": reference["group"], "tau": group["tau"]}
    if group["status"] != "ok" or reference["status"] != "ok":
        return row | {"status": "not_estimable: RMST of a group not estimable at tau"}
    mu, mu0, se, se0 = (float(v) for v in (group["rmst"], reference["rmst"], group["se"], reference["se"]))
    difference, difference_se = mu - mu0, float(np.hypot(se, se0))
    log_ratio, log_se = np.log(mu / mu0), float(np.hypot(se / mu, se0 / mu0))
    with np.errstate(divide="ignore", invalid="ignore"):
        difference_p = 2 * norm.sf(abs(difference) / difference_se) if difference_se > 0 else np.nan
        ratio_p = 2 * norm.sf(abs(log_ratio) / log_se) if log_se > 0 else np.nan
    return row | {
        "difference": difference,
        "difference_se": difference_se,
        "difference_lower": difference - Z95 * difference_se,
        "difference_upper": difference + Z95 * difference_se,
        "difference_p": difference_p,
        "ratio": float(np.exp(log_ratio)),
        "log_ratio_se": log_se,
        "ratio_lower": float(np.exp(log_ratio - Z95 * log_se)),
        "ratio_upper": float(np.exp(log_ratio + Z95 * log_se)),
        "ratio_p": ratio_p,
        "status": "ok",
    }


def rmst(
    frame: pd.DataFrame,
    *,
    reference_group: str,
    groups: Sequence[str] | None = None,
    horizons: Sequence[float] = DEFAULT_RMST_HORIZONS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RMST per group at each horizon, and each group against the reference.

    Parameters
    ----------
    frame
        Analysis frame (``time_months``, ``event``, ``group``).
    reference_group
        The group every other is compared with.
    groups
        Groups in display order; a listed group without subjects gets a not-estimable row.
    horizons
        The restriction times tau (same unit as ``time_months``).

    Returns
    -------
    tuple of pandas.DataFrame
        ``RMST_COLUMNS`` (one row per horizon and group: n, RMST, SE, normal 95% CI) and
        ``RMST_CONTRAST_COLUMNS`` (one row per horizon and non-reference group).  A tau beyond a group's
        last follow-up time (where survRM2 refuses) gives ``status`` 'not_estimable: ...' and NaN.
    """
    data, order = select_groups(frame, groups)
    if reference_group not in order:
        raise ValueError(f"reference group {reference_group!r} is not one of {order}")
    per_group, contrasts = [], []
    for tau in horizons:
        rows = {r["group"]: r for r in _group_rows(data, order, float(tau))}
        per_group += rows.values()
        contrasts += [_contrast(rows[g], rows[reference_group]) for g in order if g != reference_group]
    return typed(per_group, RMST_SCHEMA), typed(contrasts, RMST_CONTRAST_SCHEMA)
