"""The registrar's validation report beside the archived drop: counts per check, first rows, rejections."""

import csv

import pytest

from pipelines.ingest.steps import load_core, receive_drop
from tests.conftest import EPISODE, GOOD_PATIENT, write_site


def _report_rows(path):
    with path.with_suffix(".csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("spanning", [False, True], ids=["one line per record", "a record spans two lines"])
def test_loaded_drop_report_lists_every_finding_with_value_as_received(con, settings, tmp_path, spanning):
    first = GOOD_PATIENT.replace("P1,", "SITE-7,")
    if spanning:  # a quoted field with a line break: the report must then parse the archived file whole
        first = first.replace(",11,,", ',11,"del\n557-558",')
    patients = [
        first,
        GOOD_PATIENT.replace("P1,male", "SITE-8,<b>X</b>"),
        GOOD_PATIENT.replace("P1,", "SITE-9,").rsplit(",", 2)[0],
    ]
    write_site(
        tmp_path,
        "alpha",
        patients,
        [EPISODE.replace("P1", "SITE-8"), EPISODE.replace("P1", "SITE-7").replace(",400,", ",4000,")],
    )
    receive_drop(con, settings, "alpha")
    loaded = load_core(con, settings, "alpha")
    assert loaded.report == settings.archive_dir / "alpha" / loaded.drop_id / "validation_report.html"
    rows = [
        {
            k: r[k]
            for k in (
                "file",
                "line_number",
                "site_column",
                "value_as_received",
                "site_patient_id",
                "check_id",
                "severity",
            )
        }
        for r in _report_rows(loaded.report)
    ]
    assert rows == [
        {
            "file": "patients.csv",
            "line_number": str(3 + spanning),
            "site_column": "sex",
            "value_as_received": "<b>X</b>",
            "site_patient_id": "SITE-8",
            "check_id": "conformance.value_set",
            "severity": "error",
        },
        {
            "file": "patients.csv",
            "line_number": str(4 + spanning),
            "site_column": "",
            "value_as_received": "",
            "site_patient_id": "SITE-9",
            "check_id": "conformance.field_count",
            "severity": "error",
        },
        {
            "file": "tki_episodes.csv",
            "line_number": "2",
            "site_column": "patient_id",
            "value_as_received": "SITE-8",
            "site_patient_id": "SITE-8",
            "check_id": "consistency.patient_quarantined",
            "severity": "error",
        },
        {
            "file": "tki_episodes.csv",
            "line_number": "3",
            "site_column": "",
            "value_as_received": "",
            "site_patient_id": "SITE-7",
            "check_id": "plausibility.dose_for_agent",
            "severity": "error",
        },
        {
            "file": "tki_episodes.csv",
            "line_number": "3",
            "site_column": "daily_dose_mg",
            "value_as_received": "4000",
            "site_patient_id": "SITE-7",
            "check_id": "plausibility.range",
            "severity": "error",
        },
    ]
    html = loaded.report.read_text(encoding="utf-8")
    assert "&lt;b&gt;X&lt;/b&gt;" in html and "<b>X</b>" not in html
    assert "The drop was loaded" in html and "conformance.field_count" in html and "SITE-9" in html


def test_report_shows_the_first_rows_and_counts_all(con, settings, tmp_path):
    patients = [GOOD_PATIENT.replace("P1,male", f"P{i},X") for i in range(30)]
    write_site(tmp_path, "alpha", patients, [EPISODE])
    receive_drop(con, settings, "alpha")
    loaded = load_core(con, settings, "alpha")
    html = loaded.report.read_text(encoding="utf-8")
    assert "30 findings" in html and "The first 20 are shown" in html
    assert html.count("<td><code>X</code></td>") == 20
    assert len([r for r in _report_rows(loaded.report) if r["check_id"] == "conformance.value_set"]) == 30


def test_rejected_drop_report_states_the_reason(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    (tmp_path / "drops" / "alpha" / "tki_episodes.csv").write_bytes(b"patient_id;line\nP1;1\n")
    received = receive_drop(con, settings, "alpha")
    assert received.status == "rejected"
    html = received.report.read_text(encoding="utf-8")
    assert "rejected as a whole" in html and "completeness.required_column_missing" in html
    assert "tki_episodes.csv: required column(s)" in html
    [row] = _report_rows(received.report)
    assert (row["file"], row["check_id"], row["severity"]) == (
        "tki_episodes.csv",
        "completeness.required_column_missing",
        "fatal",
    )


def test_unchanged_drop_still_points_at_its_report(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    receive_drop(con, settings, "alpha")
    first = load_core(con, settings, "alpha")
    again = receive_drop(con, settings, "alpha"), load_core(con, settings, "alpha")
    assert [step.status for step in again] == ["unchanged", "unchanged"]
    assert again[1].report == first.report and "No findings" in first.report.read_text(encoding="utf-8")


def test_messages_use_the_registrars_words_and_name_the_profile_key_to_change(con, settings, tmp_path):
    """No pandera check names (greater_than, isin, not_nullable); a value the profile reads as missing, or maps to no
    code, says which values are accepted and which key of the site's profile to change."""
    patients = [
        GOOD_PATIENT.replace("P1,male", "P1,M"),
        GOOD_PATIENT.replace("P1,male", "P2,unknown"),  # a missing token where a value is required
        GOOD_PATIENT.replace("P1,male", "P3,X"),  # no code maps X
    ]
    write_site(tmp_path, "alpha", patients, [EPISODE.replace(",400,", ",4000,")])
    (tmp_path / "profiles" / "alpha.yaml").write_text(
        "site_id: alpha\nmissing: ['', unknown]\ntables:\n"
        "  patients: {file: patients.csv, codes: {sex: {M: male, F: female}}}\n  tki_episodes: {file: tki_episodes.csv}\n"
    )
    receive_drop(con, settings, "alpha")
    loaded = load_core(con, settings, "alpha")
    messages = {r["value_as_received"]: r["message"] for r in _report_rows(loaded.report)}
    assert messages["unknown"] == (
        "sex is required, but the site's profile reads 'unknown' as missing (its 'missing' list): record one of M, F, "
        "or take 'unknown' out of 'missing' in the profile if it is a real value"
    )
    assert messages["X"] == (
        "sex: 'X' is not in the site's code list for sex: allowed M, F "
        "(to accept it, add it under tables.patients.codes.sex in the site's profile)"
    )
    assert messages["4000"] == "daily_dose_mg: 4000.0 is not plausible (must be at most 2000)"
    html = loaded.report.read_text(encoding="utf-8")
    assert not [word for word in ("greater_than", "less_than", "isin", "not_nullable", "in_range") if word in html]
