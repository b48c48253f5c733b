"""Site columns: the columns a profile does not map are kept as text in core.site_columns, queryable from SQL;
those that could identify a patient are not stored, and the ledger and the registrar's report say why.

The drop is written by hand (a consortium's centre, an MRN, notes, dates under other names), a shape the
generator never writes.
"""

from __future__ import annotations

import json

from pipelines.ingest.steps import load_core, receive_drop
from pipelines.publish import AnalystDates, analyst_relations
from tests.conftest import EPISODE, EPISODES_HEADER, PATIENTS_HEADER

EXTRA = "Center,MRN,Notes,Visit Date,Arm Code,Trial"
PATIENTS = [
    "P1,male,1960,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
    ",Boston,MRN-0001,seen by Dr Who,2019-05-01,A,T-1",
    "P2,female,1962,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
    ",New York,MRN-0002,,2019-06-01,2019-06-01,T-2",
    "P3,female,1963,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
    ",Boston,MRN-0003,,,B,T-3",
    "P4,X,1964,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
    ",New York,MRN-0004,,,B,T-4",
]
PROFILE = """site_id: consortium
tables:
  patients:
    file: patients.csv
    drop_columns: [Trial]
  tki_episodes: {file: tki_episodes.csv}
"""


def _loaded(con, settings):
    (settings.profiles_dir).mkdir(parents=True)
    (settings.profiles_dir / "consortium.yaml").write_text(PROFILE)
    folder = settings.drop_dir / "consortium"
    folder.mkdir(parents=True)
    (folder / "patients.csv").write_text("\n".join([f"{PATIENTS_HEADER},{EXTRA}", *PATIENTS]) + "\n")
    (folder / "tki_episodes.csv").write_text("\n".join([EPISODES_HEADER, EPISODE]) + "\n")
    received = receive_drop(con, settings, "consortium")
    assert received.status == "received", received.message
    loaded = load_core(con, settings, "consortium")
    assert loaded.status == "loaded", loaded.message
    return loaded


def test_unmapped_columns_are_stored_with_their_provenance_and_only_for_loaded_lines(con, settings):
    _loaded(con, settings)
    rows = con.execute(
        "SELECT s.table_name, s.line_number, s.column_name, s.value, s.source_file, s.drop_id = p.drop_id, "
        "s.patient_id = p.patient_id FROM core.site_columns s JOIN core.patients p USING (site_id, line_number) "
        "ORDER BY s.line_number"
    ).fetchall()
    assert rows == [
        ("patients", 2, "Center", "Boston", "patients.csv", True, True),
        ("patients", 3, "Center", "New York", "patients.csv", True, True),
        ("patients", 4, "Center", "Boston", "patients.csv", True, True),
    ]
    # the quarantined P4 (sex 'X') keeps its values in raw only, like its other values
    assert con.execute("SELECT line_number, value FROM raw.site_columns WHERE line_number = 5").fetchall() == [
        (5, "New York")
    ]
    assert con.execute("SELECT count(*) FROM core.site_columns WHERE line_number = 5").fetchone() == (0,)


def test_an_analysis_can_group_by_a_site_column_after_a_pivot(con, settings):
    _loaded(con, settings)
    by_centre = con.execute(
        """
        WITH wide AS (
            PIVOT (SELECT site_id, patient_id, column_name, value FROM core.site_columns WHERE table_name = 'patients')
            ON column_name USING first(value) GROUP BY site_id, patient_id
        )
        SELECT w.Center, count(*), count(*) FILTER (WHERE p.sex = 'female')
        FROM core.patients p JOIN wide w USING (site_id, patient_id) GROUP BY ALL ORDER BY 1
        """
    ).fetchall()
    assert by_centre == [("Boston", 2, 1), ("New York", 1, 1)]


def test_columns_that_could_identify_a_patient_are_not_stored_and_the_reasons_are_told(con, settings):
    loaded = _loaded(con, settings)
    stored = {v for (v,) in con.execute("SELECT value FROM raw.site_columns").fetchall()}
    assert stored == {"Boston", "New York"}  # no MRN, note, date, arm (dated values) or trial id
    (not_stored,) = con.execute("SELECT site_columns_not_stored FROM audit.drops WHERE status = 'received'").fetchone()
    assert json.loads(not_stored) == {
        "patients": {
            "MRN": "looks like a record or case identifier",
            "Notes": "looks like free text",
            "Visit Date": "looks like a date",
            "Arm Code": "its values look like dates",
            "Trial": "declared in the profile's drop_columns",
        }
    }
    html = loaded.report.read_text(encoding="utf-8")
    assert "Center (stored in core.site_columns)" in html
    assert 'MRN (<span class="warning">not stored: looks like a record or case identifier</span>)' in html
    assert "MRN-0001" not in html and "Dr Who" not in html


def test_site_columns_stay_out_of_the_analyst_tier(con, settings):
    _loaded(con, settings)
    relations = analyst_relations(con, AnalystDates("shift", 182))
    assert ("core", "patients") in relations and ("core", "site_columns") not in relations
