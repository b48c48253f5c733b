"""The "Table 1": characteristics of the subjects by group, in tidy long form, with tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kruskal, mannwhitneyu

from pipelines.stats.binary import contingency_test
from pipelines.stats.frame import GROUP, is_categorical, levels, order_groups, typed

TABLE_ONE_SCHEMA = {
    "variable": "string",
    "kind": "string",
    "level": "string",
    "group": "string",
    "n": "int64",
    "n_missing": "int64",
    "count": "Int64",
    "percent": "float64",
    "median": "float64",
    "q1": "float64",
    "q3": "float64",
    "min": "float64",
    "max": "float64",
    "test": "string",
    "p": "float64",
}
TABLE_ONE_COLUMNS = list(TABLE_ONE_SCHEMA)
ALL_GROUPS = "(all)"


def _continuous_test(samples: list[np.ndarray]) -> tuple[str, float]:
    """Mann-Whitney U for 2 groups, Kruskal-Wallis for more: rank tests, as registry variables are rarely normal."""
    samples = [s for s in samples if s.size]
    if len(samples) < 2:
        return "none", np.nan
    if np.unique(np.concatenate(samples)).size == 1:
        return "none (all values identical)", np.nan
    if len(samples) == 2:
        return "mann_whitney", float(mannwhitneyu(*samples, alternative="two-sided").pvalue)
    return "kruskal_wallis", float(kruskal(*samples).pvalue)


def _continuous_rows(data: pd.DataFrame, variable: str, order: list[str]) -> list[dict[str, object]]:
    values = pd.to_numeric(data[variable])
    test, p = _continuous_test([values[data[GROUP] == g].dropna().to_numpy(float) for g in order])
    rows = []
    for label in [*order, ALL_GROUPS]:
        part = values if label == ALL_GROUPS else values[data[GROUP] == label]
        known = part.dropna()
        rows.append(
            {
                "variable": variable,
                "kind": "continuous",
                "level": None,
                "group": label,
                "n": int(known.size),
                "n_missing": int(part.isna().sum()),
                "median": known.median(),
                "q1": known.quantile(0.25),
                "q3": known.quantile(0.75),
                "min": known.min(),
                "max": known.max(),
                "test": test,
                "p": p,
            }
        )
    return rows


def _categorical_rows(data: pd.DataFrame, variable: str, order: list[str]) -> list[dict[str, object]]:
    values = data[variable]
    categories = levels(values)
    counts = pd.crosstab(values, data[GROUP]).reindex(index=categories, columns=order, fill_value=0)
    test, _, p = contingency_test(counts.to_numpy())
    counts[ALL_GROUPS] = counts.sum(axis=1)  # every count is read off this one table
    missing = values.isna().groupby(data[GROUP]).sum().reindex(order, fill_value=0)
    missing[ALL_GROUPS] = missing.sum()  # the frame holds only the listed groups
    rows = []
    for label in [*order, ALL_GROUPS]:
        n = int(counts[label].sum())
        for category in categories:
            count = int(counts.at[category, label])
            rows.append(
                {
                    "variable": variable,
                    "kind": "categorical",
                    "level": str(category),
                    "group": label,
                    "n": n,
                    "n_missing": int(missing[label]),
                    "count": count,
                    "percent": 100 * count / n if n else np.nan,
                    "test": test,
                    "p": p,
                }
            )
    return rows


def table_one(
    frame: pd.DataFrame,
    variables: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
) -> pd.DataFrame:
    """Baseline characteristics per group and overall, one tidy row per (variable, level, group).

    Parameters
    ----------
    frame
        One row per subject with ``group`` and the variables (any grouping, not only survival frames).
    variables
        Columns to describe, in output order.
    groups
        Groups in display order (default: all, sorted); the overall column is ``group = "(all)"``.
    categorical
        Numeric columns to treat as categorical (e.g. a 0/1 code or an exon number); text,
        boolean and pandas categorical columns always are.

    Returns
    -------
    pandas.DataFrame
        ``TABLE_ONE_COLUMNS``.  Continuous variables: one row per group with n, median, IQR
        (q1, q3) and range (min, max); test Mann-Whitney (2 groups) or Kruskal-Wallis.
        Categorical variables: one row per level and group with count and percent of the
        group's non-missing values; test as :func:`pipelines.stats.binary.contingency_test`.
        ``n_missing`` counts missing values of the variable in the group; ``test``/``p`` are
        repeated on every row of the variable.
    """
    data, order = order_groups(frame, groups)
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ValueError(f"frame lacks column(s): {', '.join(missing)}")
    rows = []
    for variable in variables:
        as_categories = variable in categorical or is_categorical(data[variable])
        rows += (_categorical_rows if as_categories else _continuous_rows)(data, variable, order)
    return typed(rows, TABLE_ONE_SCHEMA)
