"""The two ingest steps on small drops: quarantine, idempotence, rejection, privacy."""

import hashlib
import hmac
import uuid

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipelines.ingest.pseudonym import create_pseudonym_table
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.registry.ddl import create_registry
from tests.conftest import EPISODE, GOOD_PATIENT, write_site


def _load(con, settings, site="alpha"):
    return receive_drop(con, settings, site), load_core(con, settings, site)


def _count(con, sql):
    return con.execute(sql).fetchall()[0][0]


def test_every_row_is_loaded_or_quarantined_with_its_line(con, settings, tmp_path):
    patients = [
        GOOD_PATIENT,
        GOOD_PATIENT.replace("P1,male", "P2,X"),
        GOOD_PATIENT.replace("P1,", "P3,").replace("2015-01-02", "2015-02-31"),
        "," * 19,
        " , ," + "\t," * 17,
    ]
    episodes = [EPISODE, EPISODE.replace("P1", "P2"), EPISODE.replace("P1", "P404")]
    write_site(tmp_path, "alpha", patients, episodes)
    received, loaded = _load(con, settings)
    assert (received.status, loaded.status) == ("received", "loaded")
    assert received.counts["patients"] == {"input_rows": 3, "blank_rows": 2, "extra_columns": []}
    assert loaded.counts["patients"] == {"data_lines": 3, "filtered": 2, "loaded": 1, "quarantined": 2, "warnings": 0}
    assert loaded.counts["tki_episodes"] == {
        "data_lines": 3,
        "filtered": 0,
        "loaded": 1,
        "quarantined": 2,
        "warnings": 0,
    }
    rows = con.execute(
        "SELECT table_name, line_number, check_id, column_name FROM audit.quarantine ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("patients", 3, "conformance.value_set", "sex"),
        ("patients", 4, "conformance.date", "diagnosis_date"),
        ("tki_episodes", 3, "consistency.patient_quarantined", "patient_id"),
        ("tki_episodes", 4, "consistency.unknown_patient", "patient_id"),
    ]


def test_same_drop_twice_changes_nothing(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    _load(con, settings)
    before = con.execute("SELECT * FROM core.patients").fetchall()
    again = _load(con, settings)
    assert [step.status for step in again] == ["unchanged", "unchanged"]
    assert con.execute("SELECT * FROM core.patients").fetchall() == before
    assert _count(con, "SELECT count(*) FROM audit.drops") == 2


def test_new_drop_replaces_the_site_and_keeps_other_sites(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    write_site(tmp_path, "beta", [GOOD_PATIENT], [EPISODE])
    _load(con, settings, "alpha"), _load(con, settings, "beta")
    write_site(tmp_path, "alpha", [GOOD_PATIENT, GOOD_PATIENT.replace("P1,", "P2,")], [EPISODE])
    _load(con, settings, "alpha")
    counts = dict(con.execute("SELECT site_id, count(*) FROM core.patients GROUP BY ALL").fetchall())
    assert counts == {"alpha": 2, "beta": 1}


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02binary\xff\xfe", b"patient_id;sex\nP1;male\n", b'patient_id,sex,birth_year\n"P1,male,19'],
)
def test_unreadable_file_keeps_previous_good_state(con, settings, tmp_path, content):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    _load(con, settings)
    before = con.execute("SELECT * FROM core.patients").fetchall()
    (tmp_path / "drops" / "alpha" / "patients.csv").write_bytes(content)
    received, _ = _load(con, settings)
    assert received.status == "rejected"
    assert "patients.csv" in received.message
    assert con.execute("SELECT * FROM core.patients").fetchall() == before
    assert _count(con, "SELECT count(*) FROM audit.drops WHERE status = 'rejected'") == 1


def test_raw_archive_is_byte_identical(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    received, _ = _load(con, settings)
    archived = list((settings.archive_dir / "alpha" / received.drop_id).glob("*__patients.csv"))
    assert archived[0].read_bytes() == (tmp_path / "drops" / "alpha" / "patients.csv").read_bytes()


def test_site_patient_ids_never_reach_the_database(con, settings, tmp_path):
    write_site(
        tmp_path,
        "alpha",
        [GOOD_PATIENT.replace("P1,", "SECRET-ID-77,"), GOOD_PATIENT.replace("P1,male", "SECRET-ID-78,X")],
        [EPISODE.replace("P1", "SECRET-ID-77")],
    )
    _load(con, settings)
    con.execute(f"EXPORT DATABASE '{tmp_path / 'export'}' (FORMAT csv)")
    dumped = "".join(p.read_text() for p in (tmp_path / "export").glob("*.csv"))
    assert "SECRET-ID" not in dumped
    assert _count(con, "SELECT count(*) FROM core.patients") == 1
    assert _count(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0  # the staged site rows are gone too


@hypothesis_settings(deadline=None)
@given(
    key=st.binary(min_size=1, max_size=150),
    site_id=st.text(min_size=1, max_size=20),
    ids=st.lists(
        st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["P1", " P1", "P1\t", ""])), min_size=1, max_size=20
    ),
)
def test_pseudonyms_are_hmac_sha256_of_site_and_id(key, site_id, ids):
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE ids (patient_id VARCHAR)")
    con.executemany("INSERT INTO ids VALUES (?)", [[i] for i in ids])
    create_pseudonym_table(con, "pseudonyms", ["ids"], key, site_id)
    found = sorted(
        con.execute("SELECT site_patient_id, pseudonym FROM pseudonyms").fetchall()
    )  # a list: a repeated id must show
    trimmed = {i.strip(" \t\r\n\v\f") for i in ids if i is not None} - {""}
    assert found == sorted(
        (i, uuid.UUID(hmac.new(key, f"{site_id}\x1f{i}".encode(), hashlib.sha256).hexdigest()[:32])) for i in trimmed
    )


def test_folders_with_odd_names_are_reported_not_loaded(tmp_path):
    from pipelines.ingest.drops import ignored_folders, site_ids

    for name in ("warsaw", "Bad Site", "..hidden", "x" * 41, "seoul_2"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("a stray file")
    assert site_ids(tmp_path) == ["seoul_2", "warsaw"]
    assert ignored_folders(tmp_path) == sorted(["Bad Site", "..hidden", "x" * 41])


def test_a_registry_with_text_pseudonyms_gets_uuid_columns_with_the_same_values():
    con = duckdb.connect()
    pseudonym = "9e0e52cc2a15be18fae38e876788e616"
    for schema in ("raw", "core"):
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.patients (patient_id VARCHAR)")
        con.execute(f"INSERT INTO {schema}.patients VALUES (?)", [pseudonym])
    create_registry(con)
    for schema in ("raw", "core"):
        assert con.execute(f"SELECT typeof(patient_id), patient_id FROM {schema}.patients").fetchall() == [
            ("UUID", uuid.UUID(pseudonym))
        ]


def test_every_column_of_raw_core_audit_and_results_says_what_it_holds(con):
    from pipelines.registry.ddl import column_comments

    columns = con.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE schema_name IN ('raw', 'core', 'audit', 'results') ORDER BY ALL"
    ).fetchall()
    assert columns and [c[:3] for c in columns if not c[3]] == []  # none without a comment
    assert {c[:3] for c in columns} == set(column_comments())  # and no comment for a column that does not exist
    create_registry(con)  # a second run changes nothing and keeps them
    assert con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'core' AND comment IS NULL"
    ).fetchall() == [(0,)]
