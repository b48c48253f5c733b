"""Hostile and odd input, written by hand in shapes the fixture generator never produces, as real files on disk fed
through the real functions (``load_profile``, ``stage_raw``, ``receive_drop`` / ``load_core``).

Each kind is refused with a message naming file, line and column and the cause, or read correctly, or neutralised
in every output (no site patient id in clear in the database, HTML escaped, CSV formula-safe)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.identifiers import direct_identifier
from pipelines.ingest.profiles import ProfileError, load_profile
from pipelines.ingest.rawread import FileRejected, stage_raw
from pipelines.ingest.steps import load_core, receive_drop
from tests.conftest import EPISODE, EPISODES_HEADER, GOOD_PATIENT, PATIENTS_HEADER, ROOT, write_site

SECRET = "SECRET-ID-"  # site patient ids no database table may hold in clear


def _site(tmp_path: Path, profile: str, patients: bytes, episodes: bytes | None = None, site: str = "alpha") -> None:
    """A drop written byte for byte, with its profile (YAML text; ``tables:`` included)."""
    (tmp_path / "profiles").mkdir(parents=True, exist_ok=True)
    (tmp_path / "profiles" / f"{site}.yaml").write_text(
        f"site_id: {site}\n{textwrap.dedent(profile)}", encoding="utf-8"
    )
    folder = tmp_path / "drops" / site
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "patients.csv").write_bytes(patients)
    (folder / "tki_episodes.csv").write_bytes(
        episodes if episodes is not None else f"{EPISODES_HEADER}\n{EPISODE}\n".encode()
    )


CANONICAL = "tables:\n  patients: {file: patients.csv}\n  tki_episodes: {file: tki_episodes.csv}\n"


def _stage(tmp_path: Path, data: bytes, profile: str = "", columns=("patient_id", "sex")) -> list[tuple]:
    """``data`` as patients.csv of site 'alpha' through stage_raw; the staged rows (line, parse_error, columns)."""
    _site(tmp_path, profile + CANONICAL, data)
    loaded = load_profile(tmp_path / "profiles" / "alpha.yaml")
    con = duckdb.connect()
    try:
        stage_raw(con, tmp_path / "drops" / "alpha" / "patients.csv", "patients", loaded, list(columns), "_t")
        return con.execute("SELECT * FROM _t ORDER BY line_number").fetchall()
    finally:
        con.close()


def _database_text(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    """Every table of the registry, exported as CSV text."""
    con.execute(f"EXPORT DATABASE '{folder}' (FORMAT csv)")
    return "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.csv"))


def _outcome(counts: dict) -> tuple[int, int]:
    """(loaded, quarantined) of one table's counts."""
    return counts["loaded"], counts["quarantined"]


def _patient(pid: str, **changes: str) -> str:
    fields = dict(zip(PATIENTS_HEADER.split(","), GOOD_PATIENT.split(","), strict=True))
    return ",".join({**fields, "patient_id": pid, **changes}.values())


# --- bytes no CSV export holds --------------------------------------------------------------------------------------


def test_a_nul_byte_far_past_the_first_64_kib_rejects_the_file_naming_line_and_column(tmp_path):
    rows = b"".join(f"P{i},male\n".encode() for i in range(20_000))  # ~200 KiB before the NUL
    with pytest.raises(FileRejected, match=r"patients\.csv: line 20002, column 'sex': a NUL byte"):
        _stage(tmp_path, b"patient_id,sex\n" + rows + b"P-last,ma\x00le\n")


def test_a_10_mb_line_is_refused_naming_the_line(tmp_path):
    with pytest.raises(FileRejected, match=r"patients\.csv: line 3 is longer than 128 KiB"):
        _stage(tmp_path, b"patient_id,sex\nP1,male\nP2," + b"x" * (10 << 20) + b"\nP3,female\n")


def test_a_cr_only_file_is_read_line_by_line_and_its_findings_name_the_right_lines(con, settings, tmp_path):
    """Excel for Mac's 'CSV (Macintosh)' ends lines with CR alone; the DuckDB reader is fed an LF copy."""
    lines = [PATIENTS_HEADER, _patient(f"{SECRET}1"), _patient(f"{SECRET}2", sex="robot"), _patient(f"{SECRET}3")]
    _site(
        tmp_path,
        CANONICAL,
        ("\r".join(lines) + "\r").encode(),
        f"{EPISODES_HEADER}\r{EPISODE.replace('P1', SECRET + '1')}\r".encode(),
    )
    assert receive_drop(con, settings, "alpha").status == "received"
    loaded = load_core(con, settings, "alpha")
    assert _outcome(loaded.counts["patients"]) == (2, 1)
    assert con.execute("SELECT line_number, check_id FROM audit.quarantine").fetchall() == [
        (3, "conformance.value_set")
    ]
    with loaded.report.with_suffix(".csv").open(encoding="utf-8") as handle:
        (finding,) = csv.DictReader(handle)
    assert (finding["line_number"], finding["site_patient_id"], finding["value_as_received"]) == (
        "3",
        f"{SECRET}2",
        "robot",
    )


def test_one_crlf_line_in_an_lf_file_is_read_not_reported_as_an_unterminated_quote(tmp_path):
    rows = _stage(tmp_path, b"patient_id,sex\nP1,male\r\nP2,female\nP3,male\n")
    assert [(line, pid, sex) for line, _, pid, sex in rows] == [
        (2, "P1", "male"),
        (3, "P2", "female"),
        (4, "P3", "male"),
    ]


def test_a_stray_cr_inside_a_line_of_an_lf_file_is_refused_naming_line_and_column(tmp_path):
    with pytest.raises(
        FileRejected, match=r"patients\.csv: line 3, column 'sex': a carriage return \(CR\) inside a line"
    ):
        _stage(tmp_path, b"patient_id,sex\nP1,male\nP2,fe\rmale\n")


def test_a_utf8_file_under_a_latin1_profile_is_refused_naming_the_profile_key(tmp_path):
    data = "patient_id,sex,mutation_detail\nP1,male,\nP2,female,délétion\n".encode()
    with pytest.raises(
        FileRejected,
        match=r"patients\.csv: line 3, column 'mutation_detail': the file is UTF-8, but the "
        r"profile says 'encoding: latin-1'.*alpha\.yaml",
    ):
        _stage(tmp_path, data, "encoding: latin-1\n", ("patient_id", "sex", "mutation_detail"))
    rows = _stage(
        tmp_path, data.decode().encode("latin-1"), "encoding: latin-1\n", ("patient_id", "sex", "mutation_detail")
    )
    assert rows[-1][-1] == "délétion"  # a real latin-1 file is read as before


# --- a line shifted by a stray delimiter ----------------------------------------------------------------------------


def test_a_shifted_line_leaves_no_site_id_in_clear_and_still_quarantines_its_patients_rows(con, settings, tmp_path):
    shifted = "," + _patient(f"{SECRET}2")  # a leading delimiter: every value one column to the right
    longer = _patient(f"{SECRET}3") + f",{SECRET}3-again"  # one field too many at the end: the id is in place
    episodes = [EPISODE.replace("P1", f"{SECRET}{n}") for n in (1, 2, 3)]
    _site(
        tmp_path,
        CANONICAL,
        "\n".join([PATIENTS_HEADER, _patient(f"{SECRET}1"), shifted, longer, ""]).encode(),
        "\n".join([EPISODES_HEADER, *episodes, ""]).encode(),
    )
    receive_drop(con, settings, "alpha")
    loaded = load_core(con, settings, "alpha")
    assert _outcome(loaded.counts["patients"]) == (1, 2)
    assert con.execute("SELECT table_name, line_number, check_id FROM audit.quarantine ORDER BY ALL").fetchall() == [
        ("patients", 3, "conformance.field_count"),
        ("patients", 4, "conformance.field_count"),
        (
            "tki_episodes",
            3,
            "consistency.unknown_patient",
        ),  # its id's field was empty: the episode's patient is unknown
        ("tki_episodes", 4, "consistency.patient_quarantined"),
    ]
    assert SECRET not in _database_text(con, tmp_path / "export")
    with loaded.report.with_suffix(".csv").open(
        encoding="utf-8"
    ) as handle:  # the registrar's report, beside the archive
        assert f"{SECRET}3" in handle.read()


# --- markup, formulas and SQL text in values and column names -------------------------------------------------------


def test_markup_formulas_and_sql_text_are_escaped_in_every_output(con, settings, tmp_path):
    markup_column, sql_column = "Sex <svg onload=alert(1)>", 'x"); DROP TABLE core.patients; --'
    mapped_sql = 'detail"; DROP TABLE raw.patients; --'  # a mapped column: its name is quoted into the staging SQL
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in (sql_column, mapped_sql)}
    header = (
        PATIENTS_HEADER.replace(",sex,", f',"{markup_column}",').replace(",mutation_detail,", f",{quoted[mapped_sql]},")
        + f",<img src=x onerror=alert(1)>,{quoted[sql_column]}"
    )
    patients = [
        _patient("P1", mutation_detail="-2+3") + ",,",
        _patient("P2", sex="<script>alert(1)</script>") + ",,",
        _patient("P3", sex='"=HYPERLINK(""http://evil.example"",""click"")"') + ",,",
        _patient("P4", sex="@SUM(A1)", mutation_detail="'); DROP TABLE raw.patients; --") + ",,",
        _patient("P5", primary_size_mm="-5") + ",,",
    ]
    profile = (
        f"tables:\n  patients: {{file: patients.csv, columns: {{sex: '{markup_column}', mutation_detail: '{mapped_sql}'}}}}\n"
        "  tki_episodes: {file: tki_episodes.csv}\n"
    )
    _site(tmp_path, profile, "\n".join([header, *patients, ""]).encode())
    assert receive_drop(con, settings, "alpha").status == "received"
    loaded = load_core(con, settings, "alpha")
    html = loaded.report.read_text(encoding="utf-8")
    for raw_markup in ("<script>", "<svg", "<img"):
        assert raw_markup not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        and "&lt;img src=x onerror=alert(1)&gt;" in html
        and "&lt;svg" in html
    )
    with loaded.report.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","click")' in cells and "'@SUM(A1)" in cells and "-5" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and c != "-5"]
    assert con.execute("SELECT mutation_detail FROM core.patients WHERE line_number = 2").fetchall() == [("-2+3",)]
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name IN ('raw', 'core') AND table_name = 'patients'"
    ).fetchall() == [(2,)]
    extra = json.loads(con.execute("SELECT extra_columns FROM audit.drops WHERE status = 'received'").fetchall()[0][0])
    assert (
        sql_column in extra["patients"] and "<img src=x onerror=alert(1)>" in extra["patients"]
    )  # kept as data, never run


# --- profiles: YAML and file entries --------------------------------------------------------------------------------


def _profile_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alpha.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]  # 9^10 strings once expanded
    path = _profile_file(
        tmp_path, "site_id: alpha\ndescription: {}\n" + "\n".join(levels) + "\ntables: {patients: {file: p.csv}}\n"
    )
    started = time.perf_counter()
    with pytest.raises(
        ProfileError, match=r"alpha\.yaml: line 3, column 5: YAML anchors and aliases .* are not allowed"
    ):
        load_profile(path)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['echo owned']",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!custom value",
        "!!str alpha",
    ],
)
def test_yaml_tags_are_refused(tmp_path, tagged):
    path = _profile_file(tmp_path, f"site_id: alpha\ndescription: {tagged}\ntables: {{patients: {{file: p.csv}}}}\n")
    with pytest.raises(ProfileError, match=r"alpha\.yaml: line 2, column 14: the YAML tag .* is not allowed"):
        load_profile(path)


def test_an_oversized_profile_is_refused_before_it_is_parsed(tmp_path):
    path = _profile_file(tmp_path, "site_id: alpha\ntables: {patients: {file: p.csv}}\n# " + "x" * (300 * 1024) + "\n")
    with pytest.raises(ProfileError, match=r"alpha\.yaml: \d+ bytes; a profile is at most 256 KiB"):
        load_profile(path)


@pytest.mark.parametrize("file", ["../x.csv", "/etc/passwd", "sub/x.csv", "..", ".", "..\\\\x.csv", "C:x.csv", "''"])
def test_a_file_entry_that_is_not_a_plain_file_name_is_refused(tmp_path, file):
    path = _profile_file(tmp_path, f"site_id: alpha\ntables:\n  patients: {{file: {file}}}\n")
    with pytest.raises(ProfileError, match=r"alpha\.yaml\.tables\.patients\.file: .* must be a plain file name"):
        load_profile(path)


def test_a_symlinked_file_is_refused(tmp_path):
    _site(tmp_path, CANONICAL, f"{PATIENTS_HEADER}\n{GOOD_PATIENT}\n".encode())
    elsewhere = tmp_path / "elsewhere.csv"
    (tmp_path / "drops" / "alpha" / "patients.csv").rename(elsewhere)
    (tmp_path / "drops" / "alpha" / "patients.csv").symlink_to(elsewhere)
    with pytest.raises(FileRejected, match=r"patients\.csv: the file .* is a symbolic link"):
        stage_raw(
            duckdb.connect(),
            tmp_path / "drops" / "alpha" / "patients.csv",
            "patients",
            load_profile(tmp_path / "profiles" / "alpha.yaml"),
            ["patient_id"],
            "_t",
        )


def test_a_symlinked_site_folder_is_not_processed_nor_archived(con, settings, tmp_path):
    _site(tmp_path, CANONICAL, f"{PATIENTS_HEADER}\n{GOOD_PATIENT}\n".encode())
    (tmp_path / "drops" / "alpha").rename(tmp_path / "outside")
    (tmp_path / "drops" / "alpha").symlink_to(tmp_path / "outside", target_is_directory=True)
    received = receive_drop(con, settings, "alpha")
    assert received.status == "not_processed" and "is a symbolic link" in received.message
    assert con.execute("SELECT count(*) FROM raw.patients").fetchall() == [(0,)]
    assert not settings.archive_dir.exists() or not any(p.is_file() for p in settings.archive_dir.rglob("*"))


# --- dialect traps in the mapping -----------------------------------------------------------------------------------


def test_a_dot_in_a_decimal_comma_profile_is_not_read_as_a_decimal_point(con, settings, tmp_path):
    lines = [
        PATIENTS_HEADER,
        _patient("P1", primary_size_mm="12,5"),
        _patient("P2", primary_size_mm="1.250"),
        _patient("P3", primary_size_mm="1 250"),
    ]
    _site(
        tmp_path,
        'delimiter: ";"\ndecimal: ","\n' + CANONICAL,
        "\n".join(lines).replace(",", ";").replace("12;5", "12,5").encode(),
        f"{EPISODES_HEADER}\n{EPISODE}\n".replace(",", ";").encode(),
    )
    receive_drop(con, settings, "alpha")
    load_core(con, settings, "alpha")
    assert con.execute("SELECT primary_size_mm FROM core.patients").fetchall() == [(12.5,)]
    quarantined = con.execute(
        "SELECT line_number, check_id, message FROM audit.quarantine WHERE table_name = 'patients' ORDER BY 1"
    ).fetchall()
    assert quarantined == [
        (
            3,
            "conformance.number",
            "primary_size_mm: '1.250' is not a number (decimal separator ',', no thousands separator)",
        ),
        (
            4,
            "conformance.number",
            "primary_size_mm: '1 250' is not a number (decimal separator ',', no thousands separator)",
        ),
    ]


def test_a_four_digit_year_format_does_not_swallow_a_two_digit_year(con, settings, tmp_path):
    patient = _patient("P1", diagnosis_date="3/6/17", advanced_disease_date="1/1/2018", last_contact_date="01/01/20")
    _site(
        tmp_path,
        "date_format: ['%d/%m/%Y', '%d/%m/%y']\n" + CANONICAL,
        f"{PATIENTS_HEADER}\n{patient}\n".encode(),
        f"{EPISODES_HEADER}\n{EPISODE.replace('2016-01-10', '10/1/2018')}\n".encode(),
    )
    receive_drop(con, settings, "alpha")
    assert _outcome(load_core(con, settings, "alpha").counts["patients"]) == (1, 0)
    assert con.execute(
        "SELECT diagnosis_date, advanced_disease_date, last_contact_date FROM core.patients"
    ).fetchall() == [(dt.date(2017, 6, 3), dt.date(2018, 1, 1), dt.date(2020, 1, 1))]


# --- direct identifiers in other languages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("Nom", "name"),
        ("Prénom", "name"),
        ("Nom de famille", "name"),
        ("Nom_patient", "name"),
        ("Cognome", "name"),
        ("Nome", "name"),
        ("Nome e cognome", "name"),
        ("Nombre", "name"),
        ("Nombre del paciente", "name"),
        ("Apellidos", "name"),
        ("Vorname", "name"),
        ("Nachname", "name"),
        ("Patientenname", "name"),
        ("imię_i_nazwisko", "name"),
        ("ireum", "name"),
        ("환자 이름", "name"),
        ("환자이름", "name"),
        ("성명", "name"),
        ("Adresse", "postal address"),
        ("Straße", "postal address"),
        ("Anschrift", "postal address"),
        ("Indirizzo", "postal address"),
        ("Dirección", "postal address"),
        ("Domicilio", "postal address"),
        ("주소", "postal address"),
        ("Code postal", "postcode"),
        ("PLZ", "postcode"),
        ("Postleitzahl", "postcode"),
        ("CAP", "postcode"),
        ("Código postal", "postcode"),
        ("우편번호", "postcode"),
        ("NIR", "national id"),
        ("Numéro de sécurité sociale", "national id"),
        ("codice_fiscale", "national id"),
        ("Versichertennummer", "national id"),
        ("DNI", "national id"),
        ("Número de la Seguridad Social", "national id"),
        ("jumin_deungnok_beonho", "national id"),
        ("주민등록번호", "national id"),
        ("Téléphone", "phone number"),
        ("Telefonnummer", "phone number"),
        ("Teléfono", "phone number"),
        ("Cellulare", "phone number"),
        ("전화번호", "phone number"),
        ("Courriel", "e-mail address"),
        ("Correo electrónico", "e-mail address"),
        ("Geburtsdatum", "full date of birth"),
        ("Date de naissance", "full date of birth"),
        ("Data di nascita", "full date of birth"),
        ("Fecha de nacimiento", "full date of birth"),
        ("생년월일", "full date of birth"),
    ],
)
def test_non_english_identifying_headers_are_refused(column, kind):
    assert direct_identifier(column) == kind


@pytest.mark.parametrize(
    "column",
    [
        "rok_urodzenia",
        "Drug Name",
        "Name of drug",
        "nombre_lesiones",
        "Nombre de lésions",
        "Nombre total de lésions",
        "nombre_tumores",
        "nome_farmaco",
        "Nom du médicament",
        "Année de naissance",
        "Geburtsjahr",
        "anno_di_nascita",
        "año_nacimiento",
        "via_somministrazione",
        "Größe (mm)",
        "numero_paziente",
        "numéro_patient",
        "liczba_dni",
        "dni_leczenia",
        "data_rozpoznania",
        "wielkość_guza_mm",
        "환자번호",
        "진단일",
        "Capecitabine",
        "Patient ID",
        "Mitotic rate",
        "telomere",
    ],
)
def test_clinical_headers_in_other_languages_pass(column):
    assert direct_identifier(column) is None


def _with_extra_columns(con, settings, tmp_path, header: str, values: str):
    """A canonical drop whose patients file has extra columns, received."""
    write_site(tmp_path, "alpha", [f"{GOOD_PATIENT},{values}"], [EPISODE])
    patients = tmp_path / "drops" / "alpha" / "patients.csv"
    patients.write_text(patients.read_text().replace(PATIENTS_HEADER, f"{PATIENTS_HEADER},{header}", 1))
    return receive_drop(con, settings, "alpha")


def test_a_french_identifying_header_refuses_the_drop(con, settings, tmp_path):
    received = _with_extra_columns(con, settings, tmp_path, "Nom", "Dupont")
    assert received.status == "rejected" and "'Nom' (name)" in received.message
    assert "Dupont" not in _database_text(con, tmp_path / "export")


# --- a killed run leaves no copy of the raw ids -----------------------------------------------------------------------

CHILD = """
import sys, time
from pathlib import Path
import duckdb
import pipelines.ingest.rawread as rawread
from pipelines.ingest.profiles import load_profile

def stuck(readable, delimiter, name):  # stop while the transcoded copy exists
    print("staging", flush=True)
    time.sleep(120)

rawread._header = stuck
rawread.stage_raw(duckdb.connect(), Path(sys.argv[1]), "patients", load_profile(Path(sys.argv[2])), ["patient_id"], "_t")
"""


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="the in-memory copy is Linux's memfd")
def test_a_run_killed_while_transcoding_leaves_no_copy_of_the_raw_ids_on_disk(tmp_path):
    _site(tmp_path, "encoding: cp1250\n" + CANONICAL, f"patient_id,sex\n{SECRET}1,mężczyzna\n".encode("cp1250"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "drops" / "alpha" / "patients.csv"),
            str(tmp_path / "profiles" / "alpha.yaml"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    try:
        assert child.stdout.readline().strip() == "staging"
        copies = [os.readlink(f"/proc/{child.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{child.pid}/fd")]
        assert any(link.startswith("/memfd:gist-registry-raw") for link in copies)  # the copy exists, in memory only
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    on_disk = [
        p for p in [*tmp.rglob("*"), *(tmp_path / "drops").rglob("*")] if p.is_file() and p.name != "patients.csv"
    ]
    assert not [p for p in on_disk if SECRET.encode() in p.read_bytes()]


# --- the byte scan across its blocks, and records spanning lines ------------------------------------------------------


def test_the_byte_scan_sees_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.ingest.rawread._CHUNK", 8)  # every CRLF, line and NUL below straddles blocks
    monkeypatch.setattr("pipelines.ingest.rawread.MAX_LINE_BYTES", 20)
    rows = _stage(tmp_path, b"patient_id,sex\r\nP1,male\r\nP22,female\r\nP333,male\r\n")
    assert [(line, pid) for line, _, pid, _ in rows] == [(2, "P1"), (3, "P22"), (4, "P333")]
    with pytest.raises(FileRejected, match=r"line 3 is longer than 0 KiB"):
        _stage(tmp_path, b"patient_id,sex\nP1,male\nP2,female-and-then-some\nP3,male\n")
    with pytest.raises(FileRejected, match=r"line 4, column 'sex': a NUL byte"):
        _stage(tmp_path, b"patient_id,sex\nP1,male\nP22,male\nP3,ma\x00le\n")


def test_a_shifted_line_is_caught_in_a_file_whose_records_span_lines(tmp_path):
    """With a quoted line break the lines are walked by the csv module: the shifted line is caught there too."""
    data = b'patient_id,sex,mutation_detail\nP1,male,"del\n557-558"\n,' + SECRET.encode() + b"2,female,\nP3,male,\n"
    rows = _stage(tmp_path, data, columns=("patient_id", "sex", "mutation_detail"))
    assert rows == [
        (2, None, "P1", "male", "del\n557-558"),
        (4, "the line has 4 fields, the header has 3", None, None, None),
        (5, None, "P3", "male", None),
    ]


def test_markup_in_a_rejected_header_is_escaped_in_the_report(con, settings, tmp_path):
    received = _with_extra_columns(con, settings, tmp_path, "<script>x</script>,<script>x</script>", "1,2")
    assert received.status == "rejected" and "<script>x</script> appear more than once" in received.message
    html = received.report.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt; appear more than once" in html
