"""Proportional-hazards tests of a fitted Cox model (scaled Schoenfeld residuals).

Per-term tests come from lifelines' ``proportional_hazard_test`` with the rank time
transform: the Grambsch-Therneau score approximation that R's ``cox.zph`` used before
survival 3.0 (R now uses an exact score test, so p-values differ slightly from a current R,
and R's default transform is ``km``).  lifelines has no global test; :func:`global_ph_statistic`
adds the matching joint version of the same approximation.  The residuals themselves are
computed by :func:`scaled_schoenfeld_residuals` (equal to lifelines', whose routine is quadratic).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import TimeTransformers, proportional_hazard_test
from scipy.stats import chi2

from pipelines.stats.counting_cox import schoenfeld_residuals
from pipelines.stats.frame import typed

PH_SCHEMA = {"model": "string", "term": "string", "statistic": "float64", "df": "Int64", "p": "float64",
             "time_transform": "string", "status": "string"}
PH_COLUMNS = list(PH_SCHEMA)
TIME_TRANSFORM = "rank"


def scaled_schoenfeld_residuals(fitted: CoxPHFitter, training: pd.DataFrame) -> pd.DataFrame:
    """lifelines' ``compute_residuals(training, kind="scaled_schoenfeld")``, computed in O(n log n).

    d * (Schoenfeld residuals) @ V, with d the number of events and V the coefficients'
    covariance (the residual kernel is in :mod:`pipelines.stats.counting_cox`).
    """
    raw = schoenfeld_residuals(training, fitted.params_, training[fitted.duration_col], training[fitted.event_col])
    return fitted.event_observed.sum() * raw.dot(fitted.variance_matrix_)


def global_ph_statistic(fitted: CoxPHFitter, scaled_residuals: pd.DataFrame) -> float:
    """Joint chi-square (df = number of terms) of the per-term Schoenfeld tests.

    With w = sum_i (g_i - mean g) s_i over events i (g the transformed event time, s_i the
    scaled Schoenfeld residuals, d the number of events and V the coefficients' covariance),
    lifelines' per-term statistic is w_j^2 / (d V_jj S_gg); the global one is
    w' V^-1 w / (d S_gg), which reduces to the per-term value for a single term.
    """
    events = fitted.event_observed
    g = TimeTransformers().get(TIME_TRANSFORM)(fitted.durations, events, fitted.weights)[events.values]
    g = np.asarray(g, dtype=float) - np.mean(g)
    w = (g[:, None] * scaled_residuals.to_numpy()).sum(0)
    variance = fitted.variance_matrix_.to_numpy()
    return float(w @ np.linalg.solve(variance, w) / (events.sum() * (g**2).sum()))


def ph_test_rows(model: str, fitted: CoxPHFitter | None, training: pd.DataFrame, term_names: Sequence[str],
                 status: str) -> pd.DataFrame:
    """One row per term and a ``GLOBAL`` row (``PH_COLUMNS``); NaN with ``status`` when the model was not fitted.

    Parameters
    ----------
    model
        Label of the model (``model`` column).
    fitted
        The fitted lifelines model, or None when the fit was not estimable.
    training
        The frame the model was fitted on (needed for the residuals).
    term_names
        Terms of the model, in output order.
    status
        The model's status, repeated on every row.
    """
    if fitted is None:
        return typed([{"model": model, "term": name, "statistic": np.nan, "df": np.nan, "p": np.nan,
                      "time_transform": TIME_TRANSFORM, "status": status} for name in [*term_names, "GLOBAL"]],
                     PH_SCHEMA)
    residuals = scaled_schoenfeld_residuals(fitted, training)
    per_term = proportional_hazard_test(fitted, training, time_transform=TIME_TRANSFORM, precomputed_residuals=residuals)
    table = per_term.summary
    statistic = global_ph_statistic(fitted, residuals)
    rows = [{"model": model, "term": name, "statistic": float(table.loc[name, "test_statistic"]), "df": 1,
             "p": float(table.loc[name, "p"]), "time_transform": TIME_TRANSFORM, "status": status}
            for name in term_names if name in table.index]
    rows.append({"model": model, "term": "GLOBAL", "statistic": statistic, "df": len(table),
                 "p": float(chi2.sf(statistic, len(table))), "time_transform": TIME_TRANSFORM, "status": status})
    return typed(rows, PH_SCHEMA)
