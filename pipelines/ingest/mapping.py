"""Apply a site profile to raw text: missing tokens, code lists, numbers and dates.

Typing never guesses: a value that the profile cannot turn into a contract
value becomes an issue (and the row goes to quarantine), it is never coerced
silently into NULL or a default.
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.ingest.issues import concat_issues, issues_where
from pipelines.ingest.profiles import SiteProfile
from schemas.contract import polars_schema

READABLE_FORMAT = {"%Y": "yyyy", "%m": "mm", "%d": "dd", "%y": "yy"}
# what each strptime code may match, so a format accepts only the digits it says: strptime's %Y also takes
# '17' (as year 17), so '3/6/17' under ['%d/%m/%Y', '%d/%m/%y'] would be 0017-06-03, never reaching '%y'
FORMAT_DIGITS = {
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%m": r"\d{1,2}",
    "%d": r"\d{1,2}",
    "%H": r"\d{1,2}",
    "%M": r"\d{2}",
    "%S": r"\d{2}",
    "%j": r"\d{1,3}",
    "%b": r"[^\d\s]+",
    "%B": r"[^\d\s]+",
    "%%": "%",
}
# a number as a registry sends it: digits, at most one decimal separator, no thousands separators ('1.250' in a
# decimal-comma profile is 1250 to the site, not 1.25), no exponent, NaN or infinity
NUMBER = r"^[+-]?(\d+([.]\d*)?|[.]\d+)$"


def _readable(date_format: str) -> str:
    for code, text in READABLE_FORMAT.items():
        date_format = date_format.replace(code, text)
    return date_format


def _format_pattern(date_format: str) -> str:
    """A regex matching exactly the text ``date_format`` can stand for (other codes: anything)."""
    parts = re.split(r"(%.)", date_format)
    return (
        "^"
        + "".join(
            FORMAT_DIGITS.get(part, ".+?") if part.startswith("%") and len(part) == 2 else re.escape(part)
            for part in parts
        )
        + "$"
    )


def _cleaned(profile: SiteProfile, table: str, column: str) -> pl.Expr:
    """The value with surrounding blanks trimmed and the profile's missing tokens as NULL (or the profile's constant,
    on the rows it applies to)."""
    constant = profile.constant(table, column)
    if constant is not None:
        where = profile.constant_where(table, column)
        value = pl.lit(constant, dtype=pl.Utf8)
        if not where:
            return value
        return pl.when(pl.any_horizontal([_cleaned(profile, table, c).is_not_null() for c in where])).then(value)
    value = pl.col(column).str.strip_chars()
    return pl.when(value.is_in(profile.missing_tokens(table, column))).then(None).otherwise(value)


def _typed(profile: SiteProfile, table: str, column: str, dtype: pl.DataType, cleaned: pl.Expr) -> tuple[pl.Expr, str]:
    """Expression converting a cleaned text column to its contract type, and what a failure means."""
    codes = profile.tables[table].codes.get(column)
    if codes:
        if dtype == pl.Boolean:  # site codes for yes and no (profiles.py checks they map to true or false)
            codes = {code: value.lower() == "true" for code, value in codes.items()}
        return cleaned.replace_strict(codes, default=None, return_dtype=dtype if dtype == pl.Boolean else pl.Utf8), (
            f"not in the site's code list for {column}: allowed {', '.join(codes)} "
            f"(to accept it, add it under tables.{table}.codes.{column} in the site's profile)"
        )
    if dtype == pl.Date:
        formats = profile.date_formats(table, column)
        parsed = pl.coalesce(
            [
                pl.when(cleaned.str.contains(_format_pattern(fmt))).then(
                    cleaned.str.strptime(pl.Date, fmt, strict=False, exact=True)
                )
                for fmt in formats
            ]
        )
        return parsed, f"not a valid date in the format {' or '.join(_readable(f) for f in formats)}"
    if dtype in (pl.Float64, pl.Int64):
        text = cleaned.str.replace(",", ".", literal=True) if profile.decimal == "," else cleaned
        if (
            profile.decimal == ","
        ):  # a '.' there is a thousands separator (or a wrong profile): never read as a decimal point
            text = pl.when(cleaned.str.contains(".", literal=True)).then(None).otherwise(text)
        kind = "a whole number" if dtype == pl.Int64 else "a number"
        number = pl.when(text.str.contains(NUMBER)).then(text.cast(dtype, strict=False))
        return number, f"not {kind} (decimal separator '{profile.decimal}', no thousands separator)"
    if dtype == pl.Boolean:
        truth = (
            pl.when(cleaned.is_in(profile.true_values)).then(True).when(cleaned.is_in(profile.false_values)).then(False)
        )
        return truth.otherwise(None), f"not a yes/no value ({'/'.join(profile.true_values + profile.false_values)})"
    return cleaned, ""


def map_to_contract(raw: pl.DataFrame, table: str, profile: SiteProfile) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed contract frame (same rows and order as ``raw``) and its conformance issues.

    ``raw`` carries LINE plus one text column per canonical column.  Each conversion runs once:
    a failure is a cleaned value whose typed value is NULL, read off both frames side by side.
    """
    schema = polars_schema(table)
    cleaned = raw.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"), *[_cleaned(profile, table, c).alias(c) for c in schema]
    )
    conversions = {column: _typed(profile, table, column, dtype, pl.col(column)) for column, dtype in schema.items()}
    typed = cleaned.select([expression.alias(column) for column, (expression, _) in conversions.items()])
    side_by_side = pl.concat([cleaned, typed.select(pl.all().name.prefix("__typed_"))], how="horizontal")
    issues = [
        issues_where(
            side_by_side,
            pl.col(column).is_not_null() & pl.col(f"__typed_{column}").is_null(),
            column=column,
            check_id=f"conformance.{_failure_kind(schema[column], column, profile, table)}",
            category="conformance",
            value=pl.col(column),
            message=pl.concat_str([pl.lit(f"{column}: '"), pl.col(column), pl.lit(f"' is {failure}")]),
        )
        for column, (_, failure) in conversions.items()
        if failure
    ]
    return typed, concat_issues(issues)


def _failure_kind(dtype: pl.DataType, column: str, profile: SiteProfile, table: str) -> str:
    """Stable check id suffix for a conversion failure."""
    if column in profile.tables[table].codes:
        return "code_list"
    return {pl.Date: "date", pl.Float64: "number", pl.Int64: "integer", pl.Boolean: "yes_no"}.get(dtype, "text")
