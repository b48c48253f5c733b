"""Log-rank test across k groups, with observed and expected events per group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import group_survival_table_from_events

from pipelines.stats.frame import EVENT, GROUP, TIME, select_groups, typed

LOGRANK_SCHEMA = {
    "group": "string",
    "n": "int64",
    "observed": "int64",
    "expected": "float64",
    "statistic": "float64",
    "df": "Int64",
    "p": "float64",
    "status": "string",
}
LOGRANK_COLUMNS = list(LOGRANK_SCHEMA)


def _expected_events(data: pd.DataFrame) -> pd.Series:
    """Expected events per group under H0: sum over event times of d_t * n_jt / n_t.

    lifelines computes these inside ``multivariate_logrank_test`` but does not return them;
    they are recomputed here from the same lifelines survival table, the same way.
    """
    labels, removed, observed, _ = group_survival_table_from_events(data[GROUP], data[TIME], data[EVENT])
    at_risk = removed.sum(0).to_numpy() - removed.cumsum(0).shift(1).fillna(0)
    deaths, total_at_risk = observed.sum(1), at_risk.sum(1)
    expected = at_risk.mul(deaths / total_at_risk, axis="index").sum(0)
    return pd.Series(expected.to_numpy(), index=[str(label) for label in labels])


def logrank(frame: pd.DataFrame, *, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Log-rank (Mantel-Cox) test of equal survival across the groups with subjects.

    Parameters
    ----------
    frame
        Analysis frame (``time_months``, ``event``, ``group``).
    groups
        Groups to compare, in display order.  A listed group without subjects gets a row
        with n = 0 and is not part of the test (df = groups with subjects - 1).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group, n, observed, expected, statistic, df, p, status``; the
        test's chi-square ``statistic``, ``df`` and ``p`` are repeated on every row.  With fewer
        than two groups with subjects, or no events at all, ``status`` says why and the test
        columns are NaN.
    """
    data, order = select_groups(frame, groups)
    n = data.groupby(GROUP).size().reindex(order, fill_value=0)
    observed = data.groupby(GROUP)[EVENT].sum().reindex(order, fill_value=0)
    present = [label for label in order if n[label] > 0]
    statistic = p = df = np.nan
    expected = pd.Series(np.nan, index=order)
    if len(present) < 2:
        status = "not_estimable: fewer than 2 groups with subjects"
    elif observed.sum() == 0:
        status = "not_estimable: no events"
    else:
        result = multivariate_logrank_test(data[TIME], data[GROUP], data[EVENT])
        statistic, p, df = float(result.test_statistic), float(result.p_value), len(present) - 1
        expected = _expected_events(data).reindex(order)
        status = "ok"
    return typed(
        pd.DataFrame(
            {
                "group": order,
                "n": n.to_numpy(int),
                "observed": observed.to_numpy(int),
                "expected": expected.to_numpy(float),
                "statistic": statistic,
                "df": df,
                "p": p,
                "status": status,
            }
        ),
        LOGRANK_SCHEMA,
    )
