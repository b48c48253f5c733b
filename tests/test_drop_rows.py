"""Lines with the wrong number of fields are quarantined one by one; identifying columns refuse the drop."""

import pytest

from pipelines.ingest.identifiers import direct_identifier
from pipelines.ingest.steps import load_core, receive_drop
from tests.conftest import EPISODE, GOOD_PATIENT, PATIENTS_HEADER, write_site


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_short_and_long_lines_are_quarantined_with_their_line(con, settings, tmp_path):
    short = GOOD_PATIENT.replace("P1,", "P2,").rsplit(",", 3)[0]
    long = GOOD_PATIENT.replace("P1,", "P3,") + ",surplus"
    write_site(
        tmp_path,
        "alpha",
        [GOOD_PATIENT, short, "", long, GOOD_PATIENT.replace("P1,", "P4,")],
        [EPISODE, EPISODE.replace("P1", "P2"), "P4,1,imatinib"],
    )
    received, loaded = receive_drop(con, settings, "alpha"), load_core(con, settings, "alpha")
    assert received.counts["patients"]["input_rows"] == 4
    assert loaded.counts["patients"] == {"data_lines": 4, "filtered": 0, "loaded": 2, "quarantined": 2, "warnings": 0}
    assert loaded.counts["tki_episodes"] == {
        "data_lines": 3,
        "filtered": 0,
        "loaded": 1,
        "quarantined": 2,
        "warnings": 0,
    }
    assert _rows(con, "SELECT table_name, line_number, check_id, message FROM audit.quarantine ORDER BY ALL") == [
        ("patients", 3, "conformance.field_count", "the line has 17 fields, the header has 20"),
        ("patients", 5, "conformance.field_count", "the line has 21 fields, the header has 20"),
        (
            "tki_episodes",
            3,
            "consistency.patient_quarantined",
            "the patient's row in the patients file was quarantined",
        ),
        ("tki_episodes", 4, "conformance.field_count", "the line has 3 fields, the header has 8"),
    ]
    assert _rows(con, "SELECT line_number FROM core.patients ORDER BY 1") == [(2,), (6,)]


def test_a_malformed_episode_does_not_disturb_the_patients_other_episodes(con, settings, tmp_path):
    second = "P1,2,sunitinib,50,2017-01-10,,ongoing,SD"
    write_site(
        tmp_path, "alpha", [GOOD_PATIENT], [EPISODE.replace(",,ongoing", ",2017-01-01,progression"), "P1,3,x", second]
    )
    receive_drop(con, settings, "alpha")
    loaded = load_core(con, settings, "alpha")
    assert loaded.counts["tki_episodes"] == {
        "data_lines": 3,
        "filtered": 0,
        "loaded": 2,
        "quarantined": 1,
        "warnings": 0,
    }


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("Surname", "name"),
        ("first_name", "name"),
        ("PatientName", "name"),
        ("nazwisko", "name"),
        ("Imię", "name"),
        ("Home Address", "postal address"),
        ("ZIP", "postcode"),
        ("kod_pocztowy", "postcode"),
        ("PESEL", "national id"),
        ("SSN", "national id"),
        ("NHS Number", "national id"),
        ("RRN", "national id"),
        ("Phone", "phone number"),
        ("telefon", "phone number"),
        ("E-mail", "e-mail address"),
        ("DOB", "full date of birth"),
        ("Date of Birth", "full date of birth"),
    ],
)
def test_identifying_headers_are_recognised(column, kind):
    assert direct_identifier(column) == kind


@pytest.mark.parametrize(
    "column",
    [
        "Patient ID",
        "id_pacjenta",
        "rok_urodzenia",
        "Birth Year",
        "Drug Name",
        "PT_NO",
        "Mutation Detail",
        "uwagi",
        "Tumor Count",
        "primary_site",
        "NF1 Syndrome",
        "telomere",
    ],
)
def test_clinical_headers_are_not_refused(column):
    assert direct_identifier(column) is None


def test_a_drop_with_an_identifying_column_is_refused_before_anything_is_stored(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    receive_drop(con, settings, "alpha"), load_core(con, settings, "alpha")
    before = _rows(con, "SELECT * FROM raw.patients")
    write_site(tmp_path, "alpha", [f"{GOOD_PATIENT},Kowalski-Secret"], [EPISODE])
    patients = tmp_path / "drops" / "alpha" / "patients.csv"
    patients.write_text(patients.read_text().replace(PATIENTS_HEADER, f"{PATIENTS_HEADER},Surname", 1))
    received = receive_drop(con, settings, "alpha")
    assert received.status == "rejected"
    assert "patients.csv" in received.message and "'Surname' (name)" in received.message
    assert _rows(con, "SELECT * FROM raw.patients") == before
    con.execute(f"EXPORT DATABASE '{tmp_path / 'export'}' (FORMAT csv)")
    assert "Kowalski-Secret" not in "".join(p.read_text() for p in (tmp_path / "export").glob("*.csv"))


def test_a_repeated_header_column_rejects_the_file(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT + ",male"], [EPISODE])
    patients = tmp_path / "drops" / "alpha" / "patients.csv"
    patients.write_text(patients.read_text().replace(PATIENTS_HEADER, f"{PATIENTS_HEADER},sex", 1))
    received = receive_drop(con, settings, "alpha")
    assert received.status == "rejected" and "sex appear more than once" in received.message
