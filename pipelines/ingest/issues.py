"""The one shape every finding about a row takes, from parsing to cross-table checks.

Issues are collected per table as polars frames with ``ISSUE_SCHEMA``; the row
is the 0-based position in the table's frame, later joined to the file line.
"""

from __future__ import annotations

import polars as pl

ISSUE_SCHEMA = {
    "row": pl.Int64,
    "column": pl.Utf8,
    "check_id": pl.Utf8,
    "category": pl.Utf8,  # Kahn framework: conformance, completeness, plausibility
    "severity": pl.Utf8,  # error (row quarantined) or warning (row loaded, warning recorded)
    "message": pl.Utf8,
    "value": pl.Utf8,
}


def empty_issues() -> pl.DataFrame:
    return pl.DataFrame(schema=ISSUE_SCHEMA)


def issues_where(
    frame: pl.DataFrame,
    mask: pl.Expr,
    *,
    column: str | None,
    check_id: str,
    category: str,
    message: pl.Expr | str,
    value: pl.Expr | None = None,
    severity: str = "error",
) -> pl.DataFrame:
    """One issue per row of ``frame`` where ``mask`` holds (frame must carry a 'row' column)."""
    message_expr = pl.lit(message) if isinstance(message, str) else message
    value_expr = pl.lit(None, dtype=pl.Utf8) if value is None else value.cast(pl.Utf8)
    return frame.filter(mask.fill_null(False)).select(
        pl.col("row").cast(pl.Int64),
        pl.lit(column, dtype=pl.Utf8).alias("column"),
        pl.lit(check_id).alias("check_id"),
        pl.lit(category).alias("category"),
        pl.lit(severity).alias("severity"),
        message_expr.cast(pl.Utf8).alias("message"),
        value_expr.alias("value"),
    )


def concat_issues(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([empty_issues(), *parts], how="vertical") if parts else empty_issues()
