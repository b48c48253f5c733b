"""Binary outcomes per group (e.g. recurrence after surgery) and the contingency-table test shared with Table 1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import MonteCarloMethod, binomtest, chi2_contingency, fisher_exact

from pipelines.stats.frame import EVENT, GROUP, TIME, check_frame, order_groups, typed

BINARY_SCHEMA = {
    "group": "string",
    "n": "int64",
    "n_missing": "int64",
    "events": "int64",
    "proportion": "float64",
    "lower": "float64",
    "upper": "float64",
    "test": "string",
    "statistic": "float64",
    "p": "float64",
    "p_floor": "float64",
    "p_display": "string",
    "status": "string",
}
BINARY_COLUMNS = list(BINARY_SCHEMA)
MONTE_CARLO_RESAMPLES = 20_000
MONTE_CARLO_SEED = 20240611  # fixed, so a rerun on the same data gives the same p
MONTE_CARLO_FLOOR = 1 / (MONTE_CARLO_RESAMPLES + 1)  # scipy's Monte Carlo p counts the observed table: p >= this


def p_columns(test: str, p: float) -> dict[str, object]:
    """``p_floor`` (the smallest p the test can give, Monte Carlo only) and ``p_display``: "< floor" at the floor.

    A Monte Carlo p at its floor says no resampled table was as extreme; the true p is smaller, so it is
    never shown as if exact.  Table 1 and the binary outcomes both carry these columns.
    """
    floor = MONTE_CARLO_FLOOR if test == "fisher_monte_carlo" else np.nan
    if np.isnan(p):
        return {"p_floor": floor, "p_display": None}
    at_floor = not np.isnan(floor) and p <= floor * (1 + 1e-9)
    return {"p_floor": floor, "p_display": f"< {floor:.2g}" if at_floor else f"{p:.3g}"}


def contingency_test(table: np.ndarray) -> tuple[str, float, float]:
    """Test of independence for a contingency table: (test name, statistic, p).

    Empty rows and columns are dropped first.  A 2x2 table gets Fisher's exact test
    (statistic: the sample odds ratio, first row's odds over the second's).  A larger table with
    any expected count below 5, where the chi-square approximation is poor, gets the
    Fisher-Freeman-Halton exact test with a Monte Carlo p-value (scipy, fixed seed; statistic:
    the probability of the observed table); otherwise Pearson's chi-square without continuity
    correction.  With fewer than 2 non-empty rows or columns there is nothing to test: ``"none"``.
    """
    counts = np.asarray(table, dtype=int)
    counts = counts[counts.sum(1) > 0][:, counts.sum(0) > 0]
    if min(counts.shape) < 2:
        return "none", np.nan, np.nan
    if counts.shape == (2, 2):
        result = fisher_exact(counts)
        return "fisher_exact", float(result.statistic), float(result.pvalue)
    if (chi2_contingency(counts).expected_freq < 5).any():
        method = MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES, rng=np.random.default_rng(MONTE_CARLO_SEED))
        result = fisher_exact(counts, method=method)
        # scipy returns shape-(1,) arrays for a k x 2 table (a 3-level variable in two groups)
        return "fisher_monte_carlo", float(np.ravel(result.statistic)[0]), float(np.ravel(result.pvalue)[0])
    chi_square = chi2_contingency(counts, correction=False)
    return "chi_square", float(chi_square.statistic), float(chi_square.pvalue)


def event_within(frame: pd.DataFrame, horizon: float) -> pd.Series:
    """Whether each subject's event happened within ``horizon`` (1), did not (0), or is unknown (NA).

    A time-to-event frame becomes a binary outcome the way a published proportion is counted:
    1 for an event at or before the horizon; 0 for a subject followed event-free to the horizon
    (time >= horizon without an event by then); NA for a subject censored before it, whose outcome
    is unknown (counted in ``n_missing`` by :func:`binary_outcome`, never as a non-event).
    """
    data = check_frame(frame)
    known_event = (data[EVENT] == 1) & (data[TIME] <= horizon)
    outcome = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    outcome[known_event] = 1
    outcome[~known_event & (data[TIME] >= horizon)] = 0
    return outcome


def binary_outcome(frame: pd.DataFrame, outcome: str, *, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Events (outcome = 1) and proportions per group, with an exact 95% CI and a test across groups.

    Parameters
    ----------
    frame
        One row per subject with ``group`` and the 0/1 (or boolean) ``outcome`` column; a missing
        outcome is counted in ``n_missing`` and left out of n.
    outcome
        The outcome column.
    groups
        Groups in display order (default: all, sorted).

    Returns
    -------
    pandas.DataFrame
        ``BINARY_COLUMNS``, one row per group; ``lower``/``upper`` are Clopper-Pearson limits and
        the test (see :func:`contingency_test`) is repeated on every row, with ``p_floor`` and
        ``p_display`` ("< floor" where a Monte Carlo p is at its floor, :func:`p_columns`).
    """
    data, order = order_groups(frame, groups)
    values = data[outcome]
    if not values.dropna().isin([0, 1, True, False]).all():
        raise ValueError(f"'{outcome}' must be 0/1 or boolean")
    known = data[values.notna()]
    n = known.groupby(GROUP).size().reindex(order, fill_value=0)
    events = known.groupby(GROUP)[outcome].sum().reindex(order, fill_value=0).astype(int)
    missing = data[values.isna()].groupby(GROUP).size().reindex(order, fill_value=0)
    test, statistic, p = contingency_test(np.column_stack([events, n - events]))
    status = "ok" if test != "none" else "not_testable: fewer than 2 groups or outcomes observed"
    rows = []
    for label in order:
        interval = binomtest(int(events[label]), int(n[label])).proportion_ci() if n[label] else None
        rows.append(
            {
                "group": label,
                "n": int(n[label]),
                "n_missing": int(missing[label]),
                "events": int(events[label]),
                "proportion": events[label] / n[label] if n[label] else np.nan,
                "lower": interval.low if interval else np.nan,
                "upper": interval.high if interval else np.nan,
                "test": test,
                "statistic": statistic,
                "p": p,
                **p_columns(test, p),
                "status": status,
            }
        )
    return typed(rows, BINARY_SCHEMA)
