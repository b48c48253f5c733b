import datetime as dt

import polars as pl

from pipelines.ingest.mapping import map_to_contract
from pipelines.ingest.profiles import parse_profile
from schemas.contract import polars_schema

POLISH = parse_profile(
    {
        "site_id": "warsaw",
        "delimiter": ";",
        "decimal": ",",
        "date_format": "%d.%m.%Y",
        "missing": ["", "brak"],
        "true_values": ["T"],
        "false_values": ["N"],
        "tables": {
            "patients": {
                "file": "p.csv",
                "codes": {"sex": {"M": "male", "K": "female"}},
                "missing": {"birth_year": ["9999"]},
            }
        },
    },
    "warsaw.yaml",
)


def _raw(**values: list[str | None]) -> pl.DataFrame:
    n = len(next(iter(values.values())))
    columns = {c: values.get(c, [None] * n) for c in polars_schema("patients")}
    return pl.DataFrame(
        {"line_number": list(range(2, n + 2)), **columns}, schema_overrides={c: pl.Utf8 for c in columns}
    )


def test_dialect_values_become_contract_values():
    typed, issues = map_to_contract(
        _raw(
            sex=["M", "K"],
            diagnosis_date=["01.02.2019", " 28.02.2020 "],
            primary_size_mm=["12,5", "brak"],
            rupture=["T", "N"],
            birth_year=["1960", "9999"],
        ),
        "patients",
        POLISH,
    )
    assert issues.is_empty()
    assert typed["sex"].to_list() == ["male", "female"]
    assert typed["diagnosis_date"].to_list() == [dt.date(2019, 2, 1), dt.date(2020, 2, 28)]
    assert typed["primary_size_mm"].to_list() == [12.5, None]
    assert typed["rupture"].to_list() == [True, False]
    assert typed["birth_year"].to_list() == [1960, None]


def test_unmappable_values_are_issues_not_nulls():
    _, issues = map_to_contract(
        _raw(sex=["X"], diagnosis_date=["31.02.2019"], primary_size_mm=["12.5.1"], rupture=["tak"]), "patients", POLISH
    )
    found = {(r["column"], r["check_id"], r["value"]) for r in issues.iter_rows(named=True)}
    assert found == {
        ("sex", "conformance.code_list", "X"),
        ("diagnosis_date", "conformance.date", "31.02.2019"),
        ("primary_size_mm", "conformance.number", "12.5.1"),
        ("rupture", "conformance.yes_no", "tak"),
    }
    message = issues.filter(pl.col("column") == "diagnosis_date")["message"][0]
    assert "31.02.2019" in message and "dd.mm.yyyy" in message
