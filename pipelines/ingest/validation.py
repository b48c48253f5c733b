"""Run the contract on typed tables and decide, row by row, what is loaded.

pandera checks each table (types, required fields, code lists, ranges, row
rules); ``schemas.crosschecks`` checks across rows and tables.  Findings become
issues; a row with an error is quarantined, and so are the rows of a patient
whose patient row was quarantined (their analyses would be wrong without it).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from pipelines.ingest.checks import FIELD_COUNT, PATIENT_QUARANTINED
from pipelines.ingest.issues import concat_issues, empty_issues, issues_where
from schemas.contract import CONTRACT, RULE_COLUMNS
from schemas.crosschecks import CHILD_DATES, CROSS_CHECKS, Tables

RANGE_CHECKS = ("greater_than", "less_than", "in_range", "equal_to", "not_equal_to")


# pandera's check names, in the words a registrar uses ("greater_than(0)" -> "greater than 0")
_BOUNDS = {
    "greater_than_or_equal_to": "at least {}",
    "less_than_or_equal_to": "at most {}",
    "greater_than": "greater than {}",
    "less_than": "less than {}",
    "equal_to": "equal to {}",
    "not_equal_to": "other than {}",
}


def _bound(check: str) -> str:
    """``in_range(0, 100)`` -> ``from 0 to 100``; ``greater_than(0)`` -> ``greater than 0``."""
    name, _, argument = check.partition("(")
    argument = argument.removesuffix(")")
    if name == "in_range":
        low, _, high = argument.partition(",")
        return f"from {low.strip()} to {high.strip()}"
    return _BOUNDS.get(name, "{}").format(argument)


def _describe(check: str, column: str, value: str | None) -> tuple[str, str, str]:
    """check id, Kahn category and registrar message for a built-in pandera column check (no pandera names)."""
    if check == "not_nullable":
        return "completeness.required", "completeness", f"{column} is required but empty"
    if check.startswith("isin"):
        allowed = ", ".join(v.strip(" '\"") for v in check[5:-1].strip("[]").split(","))
        return (
            "conformance.value_set",
            "conformance",
            f"{column}: '{value}' is not one of the allowed values ({allowed})",
        )
    if check.startswith(RANGE_CHECKS) or check.startswith(tuple(_BOUNDS)):
        return "plausibility.range", "plausibility", f"{column}: {value} is not plausible (must be {_bound(check)})"
    return "conformance.type", "conformance", f"{column}: '{value}' is not a value of the expected kind"


def contract_issues(table: str, typed: pl.DataFrame) -> pl.DataFrame:
    """Issues pandera finds in one typed table (row = position in ``typed``)."""
    model = CONTRACT[table]
    try:
        model.validate(typed, lazy=True)
        return empty_issues()
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    if failures["index"].null_count():
        raise RuntimeError(
            f"{table}: contract failures without a row index: {failures.filter(pl.col('index').is_null()).to_dicts()}"
        )
    frame_checks = model.to_schema().checks
    records = []
    for failure in failures.iter_rows(named=True):
        if failure["schema_context"] == "DataFrameSchema":
            check = frame_checks[failure["check_number"]]
            check_id, column, message = check.name, None, check.error
            category = check_id.split(".")[0]
        else:
            column = failure["column"]
            check_id, category, message = _describe(failure["check"], column, failure["failure_case"])
        value = None if failure["schema_context"] == "DataFrameSchema" else failure["failure_case"]
        records.append(
            {
                "row": failure["index"],
                "column": column,
                "check_id": check_id,
                "category": category,
                "severity": "error",
                "message": message,
                "value": value,
            }
        )
    return pl.DataFrame(records, schema=empty_issues().schema)


def cross_issues(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Issues of the cross-row and cross-table rules, per table."""
    found: dict[str, list[pl.DataFrame]] = {table: [] for table in tables}
    shared = Tables(tables)
    for check in CROSS_CHECKS:
        if check.table not in tables:
            continue
        failing = check.failing_rows(shared)
        found[check.table].append(
            issues_where(
                failing,
                pl.lit(True),
                column=check.column,
                check_id=check.check_id,
                category=check.category,
                severity=check.severity,
                message=check.message,
                value=pl.col("value"),
            )
        )
    return {table: concat_issues(parts) for table, parts in found.items()}


def quarantine_dependants(tables: dict[str, pl.DataFrame], issues: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Add an issue to every row whose patient row is quarantined."""
    patients = tables["patients"]
    rejected_rows = issues["patients"].filter(pl.col("severity") == "error")["row"]
    rejected_ids = patients.filter(pl.col("row").is_in(rejected_rows.implode()))["patient_id"].drop_nulls().unique()
    result = dict(issues)
    for table in CHILD_DATES:
        if table in tables:
            dependants = issues_where(
                tables[table],
                pl.col("patient_id").is_in(rejected_ids.implode()),
                column="patient_id",
                check_id=PATIENT_QUARANTINED.check_id,
                category=PATIENT_QUARANTINED.category,
                message=PATIENT_QUARANTINED.message,
            )
            result[table] = concat_issues([issues[table], dependants])
    return result


def validate_tables(tables: dict[str, pl.DataFrame], parse_issues: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """All issues per table: parse issues, contract issues (not repeating a parse failure), cross-table issues.

    A line that could not be split into fields (``conformance.field_count``) keeps only that issue and, if its
    patient is quarantined, that one; its values, out of place, take no part in the rules across rows, except
    that a malformed patient row still names its patient so the patient's other rows follow it to quarantine.
    """
    numbered = {t: f.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64)) for t, f in tables.items()}
    malformed = {t: parse_issues[t].filter(pl.col("check_id") == FIELD_COUNT.check_id)["row"].implode() for t in tables}
    crossed = cross_issues(
        {t: f if t == "patients" else f.filter(~pl.col("row").is_in(malformed[t])) for t, f in numbered.items()}
    )
    combined = {}
    for table, frame in tables.items():
        parsed = parse_issues[table]
        contract = contract_issues(table, frame).join(
            parsed.select("row", "column"), on=["row", "column"], how="anti", nulls_equal=False
        )
        unparsed = (
            parsed.select("row", "column")
            .join(
                pl.DataFrame(
                    [(check, column) for check, columns in RULE_COLUMNS.items() for column in columns],
                    schema={"check_id": pl.Utf8, "column": pl.Utf8},
                    orient="row",
                ),
                on="column",
            )
            .select("row", "check_id")
        )
        contract = contract.join(unparsed, on=["row", "check_id"], how="anti")  # the value's own finding says why
        crossed_here = crossed[table].join(unparsed, on=["row", "check_id"], how="anti")
        combined[table] = concat_issues([parsed, contract, crossed_here])
    kept = (FIELD_COUNT.check_id, PATIENT_QUARANTINED.check_id)
    return {
        t: issues.filter(~pl.col("row").is_in(malformed[t]) | pl.col("check_id").is_in(kept))
        for t, issues in quarantine_dependants(numbered, combined).items()
    }
