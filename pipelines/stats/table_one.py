"""The "Table 1": characteristics of the subjects by group, in tidy long form, with tests and SMDs.

Counts, medians and tests are computed here (the long form the disclosure identities read); the
standardised mean differences come from the tableone library (``TableOne(..., smd=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kruskal, mannwhitneyu
from tableone import TableOne

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


def smd_by_group(data: pd.DataFrame, variables: Sequence[str], categorical: Sequence[str], order: list[str]) -> dict:
    """tableone's SMD of each variable, each group against the reference (the first of ``order``), and the largest.

    Returns {variable: ({group: SMD (reference, group)}, max |SMD| over every pair)}.  tableone's
    conventions: continuous (mean_g - mean_ref) / sqrt((sd_g^2 + sd_ref^2) / 2); categorical the
    multinomial SMD of Yang and Dalton (2012), >= 0; missing values left out.
    """
    present = [g for g in order if (data[GROUP] == g).any()]
    if len(present) < 2:
        return {}
    out = {}
    for variable in variables:
        # one variable at a time, over the groups where it is known: tableone fails on a group without values
        known = data.loc[data[variable].notna() & data[GROUP].isin(present), [GROUP, variable]]
        groups = [g for g in present if (known[GROUP] == g).any()]
        if len(groups) < 2 or present[0] not in groups:
            continue
        frame = known.assign(**{GROUP: known[GROUP].astype(str)})
        if variable in categorical:
            frame[variable] = frame[variable].astype(str)
        row = TableOne(
            frame,
            columns=[variable],
            categorical=[variable] if variable in categorical else [],
            groupby=GROUP,
            smd=True,
        ).smd_table.loc[variable]
        against = {}
        for g in groups[1:]:
            forward, backward = f"SMD ({groups[0]},{g})", f"SMD ({g},{groups[0]})"
            sign = 1.0 if forward in row.index or variable in categorical else -1.0  # categorical SMDs are >= 0
            against[g] = sign * float(row[forward if forward in row.index else backward])
        out[variable] = (against, float(np.nanmax(np.abs(row.to_numpy(float)))))
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


def _unit_rows(data: pd.DataFrame, order: list[str], cluster: str) -> list[dict[str, object]]:
    """Operations and patients per group (``kind = "units"``): an operation-level table counts both.

    A patient operated in two groups counts once in each and once in ``(all)``, so the patients of
    the groups need not add up to the whole.
    """
    rows = []
    for variable, size in ((OPERATIONS, len), (PATIENTS, lambda part: part[cluster].nunique())):
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
        The patient column when subjects are operations (the catalogue's ``cluster``): the table starts
        with the operations and the distinct patients of each group (``kind = "units"``, ``count``), and
        every characteristic below counts operations.

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
    rows = _unit_rows(data, order, cluster) if cluster else []
    as_categories = [v for v in variables if v in categorical or is_categorical(data[v])]
    for variable in variables:
        rows += (_categorical_rows if variable in as_categories else _continuous_rows)(data, variable, order)
        rows += _unknown_rows(data, variable, order)
    smd = smd_by_group(data, variables, as_categories, order)
    for row in rows:
        against, largest = smd.get(row["variable"], ({}, np.nan))
        row |= {"smd": against.get(row["group"], np.nan), "smd_max": largest}
    return typed(rows, TABLE_ONE_SCHEMA)
