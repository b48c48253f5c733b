"""Times from an anchor, samples and row filters on small hand-written drops, and the bad input each must catch.

The site here sends days from a per-patient anchor column (DX / TKI1), ';'-delimited, with a samples
file: a shape the generator never writes.  Every bad value is quarantined or refused with its file,
line, column and value as received, and every line is accounted for.
"""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

from pipelines.ingest.profiles import ProfileError, parse_profile
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.stats import DAYS_PER_MONTH
from schemas.contract import CONTRACT, polars_schema
from tests.sql_registry import sql_registry

PROFILE = """site_id: relsite
delimiter: ';'
relative_times: {unit: days, export_date: 2025-01-31}
tables:
  patients:
    file: pat.csv
    columns: {patient_id: ID, sex: SEX, time_anchor: ANCHOR, last_contact_time: FU_DAYS, death_time: DEATH_DAYS,
              vital_status: STATUS}
    codes:
      time_anchor: {DX: diagnosis, TKI1: first_tki}
  samples:
    file: samples.csv
    columns: {patient_id: ID, sample_id: SAMPLE, sample_type: TYPE, sample_time: DAYS}
"""
PATIENTS = [
    "ID;SEX;ANCHOR;FU_DAYS;DEATH_DAYS;STATUS",
    "R1;male;DX;365;;alive",
    "R2;female;DX;-3;;alive",  # negative duration
    "R3;male;TKI1;abc;;alive",  # not a number
    "R4;female;SURG;100;;alive",  # an anchor the profile does not declare
    "R5;male;DX;400;380;dead",  # last contact after death
    "R6;female;DX;730.5;730.5;dead",
]
SAMPLES = [
    "ID;SAMPLE;TYPE;DAYS",
    "R1;S1;primary;10",
    "R9;S9;metastasis;5",  # no such patient
    "R6;S6;metastasis;800",  # after the patient's last contact
    "R6;S6b;primary;0",
    "R6;S6b;recurrence;3",  # the same sample id twice
]


def _site(tmp_path, profile: str = PROFILE, patients=PATIENTS, samples=SAMPLES) -> None:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "profiles" / "relsite.yaml").write_text(profile)
    folder = tmp_path / "drops" / "relsite"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pat.csv").write_text("\n".join(patients) + "\n")
    (folder / "samples.csv").write_text("\n".join(samples) + "\n")


def _report(loaded) -> list[dict[str, str]]:
    with loaded.report.with_suffix(".csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_bad_times_anchors_and_samples_are_quarantined_with_file_line_column_and_value(con, settings, tmp_path):
    _site(tmp_path)
    assert receive_drop(con, settings, "relsite").status == "received"
    loaded = load_core(con, settings, "relsite")
    assert loaded.status == "loaded", loaded.message
    findings = {
        (r["file"], int(r["line_number"]), r["site_column"], r["value_as_received"], r["check_id"])
        for r in _report(loaded)
        if r["severity"] == "error"
    }
    assert {
        ("pat.csv", 3, "FU_DAYS", "-3", "plausibility.range"),
        ("pat.csv", 4, "FU_DAYS", "abc", "conformance.number"),
        ("pat.csv", 5, "ANCHOR", "SURG", "conformance.code_list"),
        ("samples.csv", 3, "ID", "R9", "consistency.unknown_patient"),
        ("samples.csv", 4, "DAYS", "800", "plausibility.sample_time_after_last_contact"),
        ("samples.csv", 6, "SAMPLE", "S6b", "consistency.duplicate_sample"),
    } <= findings
    rules = {(r["file"], int(r["line_number"]), r["check_id"]) for r in _report(loaded)}
    assert ("pat.csv", 6, "plausibility.contact_time_after_death") in rules
    # accounting: every data line loaded or quarantined, once
    for table, lines in (("patients", PATIENTS), ("samples", SAMPLES)):
        counts = loaded.counts[table]
        assert counts["loaded"] + counts["quarantined"] == counts["data_lines"] == len(lines) - 1
    kept = con.execute(
        "SELECT time_anchor, time_unit, last_contact_time, death_time, times_exported_on FROM core.patients ORDER BY ALL"
    ).fetchall()
    assert kept == [
        ("diagnosis", "days", 365.0, None, dt.date(2025, 1, 31)),
        ("diagnosis", "days", 730.5, 730.5, dt.date(2025, 1, 31)),
    ]


def test_a_filter_naming_a_column_the_file_lacks_rejects_the_drop_naming_file_and_rule(con, settings, tmp_path):
    _site(tmp_path, PROFILE + "    filter: CANCER_TYPE == Gastrointestinal Stromal Tumor\n")
    received = receive_drop(con, settings, "relsite")
    assert received.status == "rejected"
    assert "samples.csv" in received.message and "CANCER_TYPE == Gastrointestinal Stromal Tumor" in received.message
    assert "columns found: ID, SAMPLE, TYPE, DAYS" in received.message
    assert con.execute("SELECT count(*) FROM core.patients").fetchone()[0] == 0


def test_a_filter_keeps_matching_rows_and_counts_the_others_with_the_rule(con, settings, tmp_path):
    samples = [
        "ID;SAMPLE;TYPE;DAYS;CANCER",
        "R1;S1;primary;10;GIST",
        "R1;S2;primary;12;LMS",
        "R1;S3;metastasis;13; GIST ",  # trimmed, as every value
        ";;;;",  # blank: counted as blank, not as filtered
        "R1;S4;metastasis;14",  # malformed: quarantined, never filtered
    ]
    _site(tmp_path, PROFILE + "    filter: CANCER == GIST\n", PATIENTS[:2], samples)
    receive_drop(con, settings, "relsite")
    loaded = load_core(con, settings, "relsite")
    counts = loaded.counts["samples"]
    assert (counts["loaded"], counts["quarantined"], counts["filtered"], counts["filtered_by_rule"]) == (2, 1, 1, 1)
    assert counts["filter"] == "CANCER == GIST"
    assert "1 lines left out by the profile's filter" in loaded.summary()
    assert {s for (s,) in con.execute("SELECT sample_id FROM core.samples").fetchall()} == {"S1", "S3"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.replace("relative_times: {unit: days, export_date: 2025-01-31}\n", ""), "add 'relative_times'"),
        (lambda p: p.replace("unit: days", "unit: weeks"), "must be one of days, months"),
        (lambda p: p.replace("export_date: 2025-01-31", "export_date: soon"), "the date (YYYY-MM-DD)"),
        (lambda p: p.replace("unit: days,", "unit: days, anchor: diagnosis,"), "not both and not neither"),
        (lambda p: p.replace("      time_anchor: {DX: diagnosis, TKI1: first_tki}\n", ""), "declare the anchors"),
        (lambda p: p.replace("unit: days,", "unit: days, anchor: surgery,"), "anchor: 'surgery' must be one of"),
        (lambda p: p + "    filter: CANCER = GIST\n", "is not a filter"),
    ],
)
def test_profile_mistakes_about_times_and_filters_are_named(change, message):
    import yaml

    with pytest.raises(ProfileError, match="relsite.yaml") as err:
        parse_profile(yaml.safe_load(change(PROFILE)), "relsite.yaml")
    assert message in str(err.value)


def test_months_and_days_from_an_anchor_are_exact_and_never_pass_through_a_date():
    con = sql_registry(
        {
            "patients": pl.DataFrame(
                [
                # sent in months: 12.00 months is 12.0, on the right side of a 12-month landmark
                {"patient_id": "M", "sex": "male", "vital_status": "alive", "time_anchor": "diagnosis",
                 "time_unit": "months", "last_contact_time": 12.0},
                # sent in days: 365 days is 365 / 30.4375 months; death time from last contact for the dead
                {"patient_id": "D", "sex": "female", "vital_status": "dead", "time_anchor": "diagnosis",
                 "time_unit": "days", "last_contact_time": 365.0},
                # dated: the same days through dates
                {"patient_id": "C", "sex": "male", "vital_status": "alive", "diagnosis_date": dt.date(2020, 1, 1),
                 "last_contact_date": dt.date(2020, 12, 31)},
                # anchored at the first TKI: not a diagnosis origin, left out rather than shifted
                {"patient_id": "T", "sex": "male", "vital_status": "alive", "time_anchor": "first_tki",
                 "time_unit": "months", "last_contact_time": 5.0},
                ],
                schema=polars_schema("patients"),
            ),
            # the other tables empty, in the test's readable ids
            **{t: pl.DataFrame(schema=polars_schema(t)) for t in CONTRACT if t != "patients"},
        },
        cutoff=dt.date(2025, 6, 30),
    )  # fmt: skip
    con.execute(
        "CREATE VIEW s AS SELECT patient_id AS subject_id, site_id, patient_id, 'all' AS group_label, "
        "'diagnosis' AS origin_anchor FROM core.patients"
    )
    rows = {
        r[0]: r[1:]
        for r in con.execute("SELECT subject_id, aval, cnsr, srcdom FROM analysis.os_from_anchor('s')").fetchall()
    }
    assert rows["M"] == (12.0, 1, "PATIENTS.LAST_CONTACT_TIME")
    assert rows["D"] == (365 / DAYS_PER_MONTH, 0, "PATIENTS.LAST_CONTACT_TIME")
    assert rows["C"] == (365 / DAYS_PER_MONTH, 1, "PATIENTS.LAST_CONTACT_DATE")
    assert "T" not in rows
