"""Generate ``docs/data-dictionary.md`` from the pandera models: ``python -m schemas.dictionary``.

The dictionary is never edited by hand; a test fails when the committed file
differs from what the models generate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandera.polars as pa

from schemas.contract import CONTRACT
from schemas.crosschecks import CROSS_CHECKS

DICTIONARY_PATH = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"
TYPE_NAMES = {"String": "text", "Int64": "integer", "Float64": "number", "Date": "date", "Boolean": "yes/no"}


def _allowed(column: pa.Column) -> str:
    parts = []
    for check in column.checks:
        stats = check.statistics or {}
        if "allowed_values" in stats:
            parts.append(", ".join(f"`{v}`" for v in stats["allowed_values"]))
        elif "min_value" in stats:
            parts.append(f"{'>' if check.name == 'greater_than' else '≥'} {stats['min_value']}")
        elif "max_value" in stats:
            parts.append(f"{'<' if check.name == 'less_than' else '≤'} {stats['max_value']}")
    return "; ".join(parts)


def _table_section(table: str, model: type[pa.DataFrameModel]) -> list[str]:
    schema = model.to_schema()
    lines = [
        f"## {table}",
        "",
        (model.__doc__ or "").strip(),
        "",
        "| column | type | unit | required | allowed values | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for name, column in schema.columns.items():
        unit = (column.metadata or {}).get("unit") or ""
        lines.append(
            f"| `{name}` | {TYPE_NAMES.get(str(column.dtype), str(column.dtype))} | {unit} | "
            f"{'no' if column.nullable else 'yes'} | {_allowed(column)} | {column.description or ''} |"
        )
    rules = [f"- `{c.name}`: {c.error}" for c in schema.checks]
    if rules:
        lines += ["", "Row rules (error: the row is quarantined):", "", *rules]
    return lines + [""]


def render() -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from the pandera models in `schemas/contract.py` by `python -m schemas.dictionary`; do not edit by hand.",
        "Every site extract is mapped onto these tables by its site profile (`docs/site-profiles.md`).",
        "In the database, `patient_id` holds the keyed pseudonym, never the site's id: the first 128 bits of "
        "HMAC-SHA-256 of site and id, as a `UUID` (Parquet exports hold its text form).",
        "Unknown is a value: an optional column left empty is unknown (not recorded, or not known to the site), and a "
        "few code lists also say it explicitly (`mutation_gene` `unknown` beside `not_tested`, `primary_site` "
        "`not_specified`); analyses count unknowns (Table 1 rows of kind `unknown`, docs/results-dictionary.md), "
        "never fill them in. Columns a profile does not map are kept as text in `core.site_columns` "
        '(docs/site-profiles.md, "Site columns"); the risk class of the primary is derived, never sent '
        "(docs/risk-classification.md).",
        "",
    ]
    for table, model in CONTRACT.items():
        lines += _table_section(table, model)
    lines += ["## Cross-table rules", "", "| check id | table | severity | message |", "|---|---|---|---|"]
    lines += [f"| `{c.check_id}` | {c.table} | {c.severity} | {c.message} |" for c in CROSS_CHECKS]
    return "\n".join(lines) + "\n"


def main() -> int:
    DICTIONARY_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DICTIONARY_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
