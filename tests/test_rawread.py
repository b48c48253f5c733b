"""Reading a site file as text: the lines a value came from, and the site's own values read back off those lines."""

import duckdb

from pipelines.ingest.profiles import parse_profile
from pipelines.ingest.rawread import drop_staged_file, stage_raw, values_on_lines

PROFILE = parse_profile(
    {
        "site_id": "warsaw",
        "encoding": "cp1250",
        "delimiter": ";",
        "tables": {"patients": {"file": "pacjenci.csv", "columns": {"patient_id": "id_pacjenta", "sex": "płeć"}}},
    },
    "test",
)
LINES = [
    "id_pacjenta ;płeć;uwagi",
    'WAR-1;M;"zażółć; gęślą"',
    "WAR-2;K",
    ";;",
    "WAR-4;M;a;surplus",
    '"WAR-5";K;""',
    "WAR-6;M;",
]


def _write(tmp_path, lines):
    path = tmp_path / "pacjenci.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1250") + b"\r\n")
    return path


def test_values_are_read_off_the_wanted_lines_in_the_sites_encoding(tmp_path):
    values = values_on_lines(_write(tmp_path, LINES), PROFILE, "patients", "patient_id", [2, 3, 5, 6, 7], records=6)
    assert values.to_list() == ["WAR-1", "WAR-2", "WAR-4", "WAR-5", "WAR-6"]
    sexes = values_on_lines(_write(tmp_path, LINES), PROFILE, "patients", "sex", [3, 4], records=6)
    assert sexes.to_list() == ["K", None]


def test_a_record_spanning_lines_leaves_the_lookup_to_the_full_parse(tmp_path):
    path = _write(tmp_path, [*LINES[:2], 'WAR-3;K;"two\r\nlines"', *LINES[2:]])
    assert values_on_lines(path, PROFILE, "patients", "patient_id", [2], records=7) is None


def test_staged_rows_carry_their_file_lines_past_malformed_blank_and_spanning_records(tmp_path):
    path = _write(tmp_path, [*LINES[:2], 'WAR-3;K;"two\r\nlines"', *LINES[2:]])
    con = duckdb.connect()
    staged = stage_raw(con, path, "patients", PROFILE, ["patient_id", "sex"], "_t")
    rows = con.execute("SELECT line_number, patient_id, sex, parse_error IS NOT NULL FROM _t ORDER BY 1").fetchall()
    # a malformed line keeps only its patient id's field (to be pseudonymised): its other fields cannot be placed
    assert rows == [
        (2, "WAR-1", "M", False),
        (3, "WAR-3", "K", False),
        (5, "WAR-2", None, True),
        (7, "WAR-4", None, True),
        (8, "WAR-5", "K", False),
        (9, "WAR-6", "M", False),
    ]
    assert (staged.rows, staged.blank_rows) == (6, 1)
    drop_staged_file(con, "_t")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
