"""Every check the ingest runs, with its stable id, Kahn category, severity and message.

Three sources, listed once each: the file- and value-level checks defined here
(reading, mapping, pandera's column checks), the contract's row rules
(``schemas.contract``) and the cross-table rules (``schemas.crosschecks``).
``docs/validation.md`` embeds the table this module renders
(``python -m pipelines.ingest.checks`` rewrites it; a test fails when it is stale).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.identifiers import DIRECT_IDENTIFIER_PATTERNS, NOT_STORED_PATTERNS
from schemas.contract import CONTRACT
from schemas.crosschecks import CROSS_CHECKS

FATAL, ERROR, WARNING = "fatal", "error", "warning"  # fatal: the whole drop is rejected
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
DOC_START, DOC_END = "<!-- checks:start (generated) -->", "<!-- checks:end -->"


@dataclass(frozen=True)
class Check:
    check_id: str
    category: str  # Kahn framework: conformance, completeness, plausibility
    severity: str
    scope: str  # what it looks at: a file, a value, a row, a patient, or the tables a cross-table rule checks
    message: str


FILE_UNREADABLE = Check(
    "conformance.file_unreadable",
    "conformance",
    FATAL,
    "file",
    "the file is empty, binary, not in the profile's encoding, or not a CSV with the profile's delimiter and quoting",
)
DUPLICATE_HEADER = Check(
    "conformance.duplicate_header", "conformance", FATAL, "file", "a column name appears twice in the header"
)
REQUIRED_COLUMN_MISSING = Check(
    "completeness.required_column_missing",
    "completeness",
    FATAL,
    "file",
    "a column the contract requires is not in the file (check the profile's 'columns')",
)
DIRECT_IDENTIFIER = Check(
    "conformance.direct_identifier",
    "conformance",
    FATAL,
    "file",
    "a column header looks like a direct identifier (name, address, national id, phone, e-mail, ...)",
)
FILTER_COLUMN_MISSING = Check(
    "conformance.filter_column_missing",
    "conformance",
    FATAL,
    "file",
    "a filter of the profile names a column the file lacks (check the profile's 'filter')",
)
NO_PATIENTS = Check(
    "completeness.no_patients",
    "completeness",
    FATAL,
    "file",
    "the patients file holds no data rows: loading it would remove every patient of the site",
)
LINE_ACCOUNTING = Check(
    "completeness.line_accounting",
    "completeness",
    FATAL,
    "file",
    "the rows to load and quarantine do not match the archived file's data lines one for one "
    "(a fault of the registry, not of the data)",
)
FIELD_COUNT = Check(
    "conformance.field_count",
    "conformance",
    ERROR,
    "row",
    "the line has more or fewer fields than the header (a stray delimiter or a cut-off line)",
)
PATIENT_VALUES_DISAGREE = Check(
    "consistency.patient_values_disagree",
    "conformance",
    ERROR,
    "patient",
    "a patients file with one row per sample (grain: sample) holds different patient-level values for one patient",
)
PATIENT_QUARANTINED = Check(
    "consistency.patient_quarantined",
    "conformance",
    ERROR,
    "patient",
    "the patient's row in the patients file was quarantined",
)

GENERIC_CHECKS: tuple[Check, ...] = (
    FILE_UNREADABLE,
    DUPLICATE_HEADER,
    REQUIRED_COLUMN_MISSING,
    DIRECT_IDENTIFIER,
    NO_PATIENTS,
    FILTER_COLUMN_MISSING,
    LINE_ACCOUNTING,
    FIELD_COUNT,
    Check(
        "conformance.code_list",
        "conformance",
        ERROR,
        "value",
        "the value is not in the site's code list for the column",
    ),
    Check(
        "conformance.date", "conformance", ERROR, "value", "the value is not a valid date in the profile's date format"
    ),
    Check(
        "conformance.number",
        "conformance",
        ERROR,
        "value",
        "the value is not a number (with the profile's decimal separator)",
    ),
    Check("conformance.integer", "conformance", ERROR, "value", "the value is not a whole number"),
    Check("conformance.yes_no", "conformance", ERROR, "value", "the value is not one of the profile's yes/no tokens"),
    Check("completeness.required", "completeness", ERROR, "value", "a required value is empty"),
    Check("conformance.value_set", "conformance", ERROR, "value", "the value is not an allowed code of the contract"),
    Check(
        "plausibility.range", "plausibility", ERROR, "value", "the value is outside the plausible range of the column"
    ),
    Check("conformance.type", "conformance", ERROR, "value", "the value fails a type check of the contract"),
    PATIENT_VALUES_DISAGREE,
    PATIENT_QUARANTINED,
)


def all_checks() -> dict[str, Check]:
    """Check id -> check, over all three sources (a row rule shared by several tables is listed once)."""
    checks = {c.check_id: c for c in GENERIC_CHECKS}
    for model in CONTRACT.values():
        for rule in model.to_schema().checks:
            checks.setdefault(rule.name, Check(rule.name, rule.name.split(".")[0], ERROR, "row", rule.error))
    shared: dict[str, list] = {}
    for cross in CROSS_CHECKS:
        shared.setdefault(cross.check_id, []).append(cross)
    for check_id, group in shared.items():
        first = group[0]
        columns = {c.column for c in group}
        message = first.message if len(columns) == 1 else first.message.replace(first.column, "the row's date")
        checks.setdefault(
            check_id, Check(check_id, first.category, first.severity, ", ".join(c.table for c in group), message)
        )
    return checks


def checks_for_table(table: str) -> list[Check]:
    """The row-level checks that can quarantine or flag a row of ``table`` (fatal file checks reject the whole drop)."""
    rules = {rule.name for rule in CONTRACT[table].to_schema().checks}
    cross = {c.check_id for c in CROSS_CHECKS if c.table == table}
    generic = {c.check_id for c in GENERIC_CHECKS if c.severity != FATAL}
    if table == "patients":
        generic.discard(PATIENT_QUARANTINED.check_id)
    return [c for c in all_checks().values() if c.check_id in generic | rules | cross]


def render_tables() -> str:
    """The checks table, then the direct-identifier header patterns."""
    rows = ["| check id | Kahn category | severity | scope | message |", "|---|---|---|---|---|"]
    rows += [
        f"| `{c.check_id}` | {c.category} | {c.severity} | {c.scope} | {c.message} |" for c in all_checks().values()
    ]
    rows += [
        "",
        "Header patterns refused as direct identifiers (`conformance.direct_identifier`), matched on the normalised header:",
        "",
        "| looks like | pattern |",
        "|---|---|",
    ]
    rows += [f"| {label} | `{pattern.replace('|', chr(92) + '|')}` |" for label, pattern in DIRECT_IDENTIFIER_PATTERNS]
    rows += [
        "",
        "Unmapped columns not stored as site columns (`core.site_columns`, `docs/site-profiles.md`), matched the same way:",
        "",
        "| looks like | pattern |",
        "|---|---|",
    ]
    rows += [f"| {label} | `{pattern.replace('|', chr(92) + '|')}` |" for label, pattern in NOT_STORED_PATTERNS]
    return "\n".join(rows)


def rendered_doc(current: str) -> str:
    """``current`` (docs/validation.md) with the generated tables between the markers replaced."""
    head, rest = current.split(DOC_START, 1)
    _, tail = rest.split(DOC_END, 1)
    return f"{head}{DOC_START}\n{render_tables()}\n{DOC_END}{tail}"


def main() -> int:
    DOC_PATH.write_text(rendered_doc(DOC_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
