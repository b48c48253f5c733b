"""The "Table 1": characteristics of the subjects by group, in tidy long form, with tests and SMDs.

Counts, medians and tests are computed here (the long form the disclosure identities read); the
standardised mean differences are tableone's (``TableOne(..., smd=True)``), in closed form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kruskal, mannwhitneyu

from pipelines.stats.binary import contingency_test, p_columns
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
    "p_floor": "float64",
    "p_display": "string",
    "smd": "float64",
    "smd_max": "float64",
}
TABLE_ONE_COLUMNS = list(TABLE_ONE_SCHEMA)
ALL_GROUPS = "(all)"
UNKNOWN_LEVEL = "(unknown)"  # the level of a variable's unknown row (kind "unknown")
OPERATIONS, PATIENTS = "operations", "patients"  # the units rows of an operation-level table


def _categorical_smd(counts: np.ndarray, a: int, b: int) -> float:
    """Yang and Dalton's (2012) multinomial SMD of groups ``a`` and ``b`` from their level counts (groups x levels).

    As tableone computes it: proportions over the known values, the first level dropped, the
    distance of the two proportion vectors in the mean of the groups' multinomial covariances;
    NaN where that covariance is singular (a level in neither group).
    """
    p = counts[[a, b], 1:] / counts[[a, b]].sum(1, keepdims=True)
    covariance = sum(np.diag(q) - np.outer(q, q) for q in p) / 2
    difference = p[1] - p[0]
    try:
        return float(np.sqrt(difference @ np.linalg.inv(covariance) @ difference))
    except np.linalg.LinAlgError:
        return np.nan


def smd_by_group(data: pd.DataFrame, variables: Sequence[str], categorical: Sequence[str], order: list[str]) -> dict:
    """tableone's SMD of each variable, each group against the reference (the first of ``order``), and the largest.

    Returns {variable: ({group: SMD (reference, group)}, max |SMD| over every pair)}.  tableone's
    conventions (``TableOne(..., smd=True)``, computed here in closed form, tested equal to it):
    continuous (mean_g - mean_ref) / sqrt((sd_g^2 + sd_ref^2) / 2) with sample SDs (0 for a
    single value); categorical the
    multinomial SMD of Yang and Dalton (2012), >= 0 (:func:`_categorical_smd`); missing values left out,
    and a variable is skipped where the reference or all but one group has no known value.
    """
    present = [g for g in order if (data[GROUP] == g).any()]
    if len(present) < 2:
        return {}
    out = {}
    for variable in variables:
        known = data.loc[data[variable].notna() & data[GROUP].isin(present), [GROUP, variable]]
        groups = [g for g in present if (known[GROUP] == g).any()]
        if len(groups) < 2 or present[0] not in groups:
            continue
        by_group = known.groupby(known[GROUP].astype(str), sort=False)[variable]
        if variable in categorical:
            counts = pd.crosstab(known[GROUP].astype(str), known[variable].astype(str)).reindex(groups).to_numpy(float)
            pair = lambda i, j, c=counts: _categorical_smd(c, i, j)  # noqa: E731
        else:
            values = by_group.agg(["mean", "var", "count"]).astype(float).reindex(groups).to_numpy()
            values[values[:, 2] == 1, 1] = 0.0  # tableone's SD of a single value is 0
            pair = lambda i, j, v=values: (v[j, 0] - v[i, 0]) / np.sqrt((v[i, 1] + v[j, 1]) / 2)  # noqa: E731
        with np.errstate(divide="ignore", invalid="ignore"):
            against = {g: float(pair(0, j)) for j, g in enumerate(groups) if j}
            every = [abs(pair(i, j)) for i in range(len(groups)) for j in range(i + 1, len(groups))]
        out[variable] = (against, float(np.nanmax(every)) if not np.isnan(every).all() else np.nan)
    return out


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
                **p_columns(test, p),
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
                    **p_columns(test, p),
                }
            )
    return rows


def _unknown_rows(data: pd.DataFrame, variable: str, order: list[str]) -> list[dict[str, object]]:
    """A row per group counting the subjects whose value is unknown (``kind = "unknown"``), when any is: Table 1
    shows the unknowns beside the levels instead of leaving them to a margin.

    ``count`` is ``n_missing``; ``percent`` is its share of the group's subjects (known and unknown).
    """
    unknown = data[variable].isna()
    if not unknown.any():
        return []
    rows = []
    for label in [*order, ALL_GROUPS]:
        part = unknown if label == ALL_GROUPS else unknown[data[GROUP] == label]
        missing, known = int(part.sum()), int((~part).sum())
        rows.append(
            {"variable": variable, "kind": "unknown", "level": UNKNOWN_LEVEL, "group": label, "n": known}
            | {"n_missing": missing, "count": missing, "percent": 100 * missing / part.size if part.size else np.nan}
            | {"test": "none", "p": np.nan, **p_columns("none", np.nan)}
        )
    return rows


def _unit_rows(data: pd.DataFrame, order: list[str], cluster: str, unit: str) -> list[dict[str, object]]:
    """Subjects (``unit``: operations, samples) and patients per group (``kind = "units"``): a table of
    several subjects per patient counts both.

    A patient operated in two groups counts once in each and once in ``(all)``, so the patients of
    the groups need not add up to the whole.
    """
    rows = []
    for variable, size in ((unit, len), (PATIENTS, lambda part: part[cluster].nunique())):
        for label in [*order, ALL_GROUPS]:
            part = data if label == ALL_GROUPS else data[data[GROUP] == label]
            number = int(size(part))
            rows.append(
                {"variable": variable, "kind": "units", "level": None, "group": label, "n": number}
                | {"n_missing": 0, "count": number, "test": "none", "p": np.nan, **p_columns("none", np.nan)}
            )
    return rows


def table_one(
    frame: pd.DataFrame,
    variables: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    cluster: str | None = None,
    unit: str = OPERATIONS,
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
    cluster
        The patient column when subjects are operations or samples (the catalogue's ``cluster``): the
        table starts with the subjects and the distinct patients of each group (``kind = "units"``,
        ``count``), and every characteristic below counts subjects.
    unit
        What the subjects are, a variable of the label catalogue (``operations``, ``samples``).

    Returns
    -------
    pandas.DataFrame
        ``TABLE_ONE_COLUMNS``.  Continuous variables: one row per group with n, median, IQR
        (q1, q3) and range (min, max); test Mann-Whitney (2 groups) or Kruskal-Wallis.
        Categorical variables: one row per level and group with count and percent of the
        group's non-missing values; test as :func:`pipelines.stats.binary.contingency_test`.
        ``n_missing`` counts missing values of the variable in the group; ``test``/``p`` (with
        ``p_floor``/``p_display``, see :func:`p_columns`) are repeated on every row of the variable.
        Unknowns: a variable with any missing value gets a row per group of ``kind = "unknown"`` (level
        ``"(unknown)"``, ``count`` = ``n_missing``, ``percent`` of the group's subjects).
        ``smd``: tableone's SMD of the group against the first listed group (the reference; NaN on the
        reference's and the ``(all)`` rows); ``smd_max``: the largest absolute SMD over every pair of groups.
    """
    data, order = order_groups(frame, groups)
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ValueError(f"frame lacks column(s): {', '.join(missing)}")
    rows = _unit_rows(data, order, cluster, unit) if cluster else []
    as_categories = [v for v in variables if v in categorical or is_categorical(data[v])]
    for variable in variables:
        rows += (_categorical_rows if variable in as_categories else _continuous_rows)(data, variable, order)
        rows += _unknown_rows(data, variable, order)
    smd = smd_by_group(data, variables, as_categories, order)
    for row in rows:
        against, largest = smd.get(row["variable"], ({}, np.nan))
        row |= {"smd": against.get(row["group"], np.nan), "smd_max": largest}
    return typed(rows, TABLE_ONE_SCHEMA)
