"""Proportional-hazards tests of a fitted Cox model: R ``cox.zph``'s score test (survival >= 3.0).

For each term, and jointly for all (``GLOBAL``), the score test of adding term x g(t) to the
model at the fitted coefficients, with g(t) = 1 - KM(t-) (R's default ``transform = "km"``);
Efron's tie handling throughout.  The numbers are R's
``cox.zph(coxph(Surv(time, event) ~ <dummy columns>, ties = "efron"), transform = "km")`` per
design column (one dummy per row, df 1; equivalently ``terms = FALSE`` on a factor) and its
``GLOBAL`` row; for (start, stop] rows ``coxph(Surv(start, stop, event) ~ ...)``.  The test uses
the model-based information also for clustered fits, as R does.  The kernel is
:func:`pipelines.stats.counting_cox.ph_score_test` (O(rows x terms^2)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from pipelines.stats.counting_cox import CountingProcessCox, ph_score_test
from pipelines.stats.frame import typed

PH_SCHEMA = {
    "model": "string",
    "term": "string",
    "statistic": "float64",
    "df": "Int64",
    "p": "float64",
    "time_transform": "string",
    "status": "string",
}
PH_COLUMNS = list(PH_SCHEMA)
TIME_TRANSFORM = "km"


def ph_test_rows(
    model: str,
    fitted: CountingProcessCox | None,
    design: pd.DataFrame,
    start: pd.Series | None,
    stop: pd.Series,
    event: pd.Series,
    term_names: Sequence[str],
    status: str,
) -> pd.DataFrame:
    """One row per term and a ``GLOBAL`` row (``PH_COLUMNS``); NaN with ``status`` when the model was not fitted.

    Parameters
    ----------
    model
        Label of the model (``model`` column).
    fitted
        The fitted model, or None when the fit was not estimable.
    design, start, stop, event
        What the model was fitted on (``start`` None for right-censored rows).
    term_names
        Terms of the model, in output order.
    status
        The model's status, repeated on every row.
    """
    if fitted is not None:
        try:
            per_term, global_statistic = ph_score_test(design, fitted.params_, start, stop, event)
        except np.linalg.LinAlgError:
            fitted, status = None, "not_estimable: singular information in the proportional-hazards test"
    if fitted is None:
        return typed(
            [
                {
                    "model": model,
                    "term": name,
                    "statistic": np.nan,
                    "df": np.nan,
                    "p": np.nan,
                    "time_transform": TIME_TRANSFORM,
                    "status": status,
                }
                for name in [*term_names, "GLOBAL"]
            ],
            PH_SCHEMA,
        )
    statistics = dict(zip(fitted.params_.index, per_term, strict=True))
    rows = [
        {
            "model": model,
            "term": name,
            "statistic": float(statistics[name]),
            "df": 1,
            "p": float(chi2.sf(statistics[name], 1)),
            "time_transform": TIME_TRANSFORM,
            "status": status,
        }
        for name in term_names
        if name in statistics
    ]
    rows.append(
        {
            "model": model,
            "term": "GLOBAL",
            "statistic": global_statistic,
            "df": len(statistics),
            "p": float(chi2.sf(global_statistic, len(statistics))),
            "time_transform": TIME_TRANSFORM,
            "status": status,
        }
    )
    return typed(rows, PH_SCHEMA)
