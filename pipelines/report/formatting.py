"""How numbers read in the report: counts, months with CIs, p-values, and suppressed cells."""

from __future__ import annotations

import math

# Columns holding counts of patients: NULL there means "withheld" (sql/results/00_suppression.sql).
COUNT_COLUMNS = frozenset(
    {
        "n",
        "events",
        "censored",
        "n_at_risk",
        "n_events",
        "observed",
        "patients",
        "tki_episodes",
        "surgeries",
        "progressions",
        "n_missing",
        "count",
        "n_excluded_missing",
    }
)
MISSING = "—"
WITHHELD = "supp."  # pipelines.disclosure.MARK: the same for every withheld count, small or complementary


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value: object, min_cell_count: int) -> str:
    """A count, or ``supp.`` where the results views withheld it.

    Not ``<k``: a withheld count is a count from 1 to k - 1 or a larger one withheld so that such a count
    cannot be derived, and the views do not say which (that would narrow it down again).
    """
    return WITHHELD if is_missing(value) else f"{int(value):,}"


def number(value: object, digits: int = 2) -> str:
    return MISSING if is_missing(value) else f"{value:.{digits}f}"


def estimate_ci(value: object, lower: object, upper: object, digits: int = 2, missing: str = MISSING) -> str:
    """``12.3 (9.8–15.1)``; a limit that does not exist reads ``NR`` (not reached)."""
    if is_missing(value):
        return missing
    bound = lambda x: "NR" if is_missing(x) else f"{x:.{digits}f}"  # noqa: E731
    return f"{value:.{digits}f} ({bound(lower)}–{bound(upper)})"


def p_value(value: object) -> str:
    if is_missing(value):
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def p_or_floor(value: object, display: object) -> str:
    """A p-value, or its ``p_display`` where that reads "< floor" (a Monte Carlo p at its floor is not exact)."""
    return str(display) if str(display or "").startswith("<") else p_value(value)


def cell(column: str, value: object, min_cell_count: int) -> str:
    """Any results value, formatted by what its column holds (the fallback for tables without a layout)."""
    if column in COUNT_COLUMNS:
        return count(value, min_cell_count)
    if column == "p" or column.endswith("_p"):
        return p_value(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value, 3)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return MISSING if value is None else str(value)
