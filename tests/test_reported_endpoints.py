"""Reported endpoints (cBioPortal PFS_* / DFS_*): a time with its status, each from its own anchor, kept as sent.

The studies here are written by hand in shapes the generator never writes: a cBioPortal study with DFS only,
``[Not Available]`` tokens, a status without its time and a time without its status; a study with TCGA's
``1:PROGRESSION`` and a stated PFS anchor; a plain site sending PFS in days with a per-patient anchor column.
Every bad value is quarantined with its file, line, column and value as received; the anchors are stored
beside the values, the dialect's ``unknown`` default is said in the accounting, and the export writes the
values back so that a re-import reads the same.
"""

from __future__ import annotations

import csv

import pytest
import yaml

from pipelines.cbioportal_export import export_study
from pipelines.ingest.profiles import ProfileError, parse_profile
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.sql_models import define_settings, run_layer
from pipelines.stats import DAYS_PER_MONTH
from tests.test_cbioportal import format_findings

HEADER = [
    "#Patient Identifier\tSex\tOverall Survival (Months)\tOverall Survival Status\tDisease Free (Months)\t"
    "Disease Free Status",
    "#Patient id.\tSex.\tOS since diagnosis.\tOS status.\tDisease free in months since treatment.\tDFS status.",
    "#STRING\tSTRING\tNUMBER\tSTRING\tNUMBER\tSTRING",
    "#1\t1\t1\t1\t1\t1",
    "PATIENT_ID\tSEX\tOS_MONTHS\tOS_STATUS\tDFS_MONTHS\tDFS_STATUS",
]
DFS_ONLY = [
    *HEADER,
    "D1\tMale\t30.5\t0:LIVING\t12.25\t1:Recurred/Progressed",  # line 6
    "D2\tFemale\t14\t1:DECEASED\t14\t0:DiseaseFree",
    "D3\tMale\t20\t0:LIVING\t[Not Available]\t[Not Available]",  # no DFS: no anchor either
    "D4\tFemale\t9\t1:DECEASED\t[Not Available]\t1:Recurred/Progressed",  # status without time
    "D5\tMale\t18\t0:LIVING\t7.5\tNA",  # time without status
    "D6\tFemale\t22\t0:LIVING\t-2.5\t0:DiseaseFree",  # negative duration
    "D7\tMale\t25\t0:LIVING\tabc\t1:Recurred/Progressed",  # not a number (its status alone: not a second finding)
    "D8\tFemale\t11\t1:DECEASED\t5\t1:Progressed",  # not a DFS code (its time alone: not a second finding)
]
SAMPLES = [
    "#Patient Identifier\tSample Identifier\tSample Type",
    "#Patient id.\tSample id.\tType.",
    "#STRING\tSTRING\tSTRING",
    "#1\t1\t1",
    "PATIENT_ID\tSAMPLE_ID\tSAMPLE_TYPE",
    "D1\tD1-T1\tPrimary",
    "D2\tD2-T1\tMetastasis",
    "D3\tD3-T1\tPrimary",
]
CBIO_PROFILE = """site_id: {site}
dialect: cbioportal
relative_times: {{anchor: diagnosis, export_date: 2024-05-01{extra}}}
"""


def _drop(tmp_path, site: str, profile: str, files: dict[str, list[str]]) -> None:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "profiles" / f"{site}.yaml").write_text(profile)
    folder = tmp_path / "drops" / site
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")


def _load(con, settings, site: str):
    received = receive_drop(con, settings, site)
    assert received.status == "received", received.message
    loaded = load_core(con, settings, site)
    assert loaded.status == "loaded", loaded.message
    return loaded


def _findings(loaded) -> set[tuple]:
    with loaded.report.with_suffix(".csv").open(newline="") as handle:
        return {
            (r["file"], int(r["line_number"]), r["site_column"], r["value_as_received"], r["check_id"])
            for r in csv.DictReader(handle)
            if r["severity"] == "error"
        }


def _layers(con) -> None:
    define_settings(con, None, min_cell_count=5)
    run_layer(con, "core")
    run_layer(con, "analysis")


def _dfs_study(con, settings, tmp_path):
    files = {"data_clinical_patient.txt": DFS_ONLY, "data_clinical_sample.txt": SAMPLES}
    _drop(tmp_path, "dfs_study", CBIO_PROFILE.format(site="dfs_study", extra=""), files)
    return _load(con, settings, "dfs_study")


def test_a_dfs_only_study_keeps_dfs_as_sent_with_the_unknown_anchor_said_and_quarantines_each_bad_pair(
    con, settings, tmp_path
):
    loaded = _dfs_study(con, settings, tmp_path)
    name = "data_clinical_patient.txt"
    assert _findings(loaded) == {
        (name, 9, "DFS_STATUS", "1:Recurred/Progressed", "completeness.dfs_status_without_time"),
        (name, 10, "DFS_MONTHS", "7.5", "completeness.dfs_time_without_status"),
        (name, 11, "DFS_MONTHS", "-2.5", "plausibility.range"),
        (name, 12, "DFS_MONTHS", "abc", "conformance.number"),
        (name, 13, "DFS_STATUS", "1:Progressed", "conformance.code_list"),
    }
    patients = loaded.counts["patients"]
    assert (patients["data_lines"], patients["loaded"], patients["quarantined"]) == (8, 3, 5)
    assert patients["endpoint_anchor_defaults"] == {"dfs": "unknown"}
    assert "DFS anchor not stated by the profile: stored as 'unknown'" in loaded.summary()
    assert "stored as <code>unknown</code>" in loaded.report.read_text()
    stored = con.execute(
        "SELECT line_number, last_contact_time, dfs_time, dfs_event, dfs_anchor, pfs_time, pfs_event, pfs_anchor "
        "FROM core.patients ORDER BY 1"
    ).fetchall()
    assert stored == [
        (6, 30.5, 12.25, True, "unknown", None, None, None),
        (7, 14.0, 14.0, False, "unknown", None, None, None),
        (8, 20.0, None, None, None, None, None, None),  # no DFS: no anchor, nothing made up
    ]
    # the registry's own time axis is untouched: no progression row, OS as before
    assert con.execute("SELECT count(*) FROM core.progressions").fetchone()[0] == 0
    _layers(con)
    frame = con.execute(
        "SELECT endpoint, anchor, time_as_sent, time_unit, days, months, event FROM analysis.reported_endpoints "
        "ORDER BY time_as_sent"
    ).fetchall()
    assert frame == [
        ("DFS", "unknown", 12.25, "months", 12.25 * DAYS_PER_MONTH, 12.25, True),
        ("DFS", "unknown", 14.0, "months", 14.0 * DAYS_PER_MONTH, 14.0, False),
    ]


def test_a_stated_pfs_anchor_and_tcga_status_codes_are_stored_without_a_default(con, settings, tmp_path):
    study = [
        "#Patient Identifier\tSex\tOverall Survival (Months)\tOverall Survival Status\t"
        "Progress Free Survival (Months)\tProgression Free Status",
        "#Patient id.\tSex.\tOS.\tOS status.\tPFS since treatment.\tPFS status.",
        "#STRING\tSTRING\tNUMBER\tSTRING\tNUMBER\tSTRING",
        "#1\t1\t1\t1\t1\t1",
        "PATIENT_ID\tSEX\tOS_MONTHS\tOS_STATUS\tPFS_MONTHS\tPFS_STATUS",
        "T1\tMALE\t40\t0:LIVING\t6.75\t1:PROGRESSION",
        "T2\tFEMALE\t12\t1:DECEASED\t12\t0:CENSORED",
    ]
    profile = CBIO_PROFILE.format(site="tcga", extra=", endpoint_anchors: {pfs: first_tki}")
    samples = [*SAMPLES[:5], "T1\tT1-T1\tPrimary", "T2\tT2-T1\tMetastasis"]
    _drop(tmp_path, "tcga", profile, {"data_clinical_patient.txt": study, "data_clinical_sample.txt": samples})
    loaded = _load(con, settings, "tcga")
    assert "endpoint_anchor_defaults" not in loaded.counts["patients"]
    assert "anchor not stated" not in loaded.summary()
    assert con.execute(
        "SELECT pfs_time, pfs_event, pfs_anchor, dfs_anchor FROM core.patients ORDER BY 1"
    ).fetchall() == [
        (6.75, True, "first_tki", None),
        (12.0, False, "first_tki", None),
    ]


PLAIN = """site_id: daysite
relative_times: {unit: days, anchor: diagnosis, export_date: 2025-01-31}
tables:
  patients:
    file: pat.csv
    columns: {patient_id: ID, sex: SEX, last_contact_time: FU, vital_status: VS, pfs_time: PFS_D, pfs_event: PFS_E,
              pfs_anchor: PFS_FROM}
    codes:
      pfs_event: {P: true, C: false}
      pfs_anchor: {TKI1: first_tki, DX: diagnosis}
  samples:
    file: samples.csv
    columns: {patient_id: ID, sample_id: SAMPLE, sample_type: TYPE}
"""
PLAIN_PATIENTS = [
    "ID,SEX,FU,VS,PFS_D,PFS_E,PFS_FROM",
    "A1,male,900,alive,365,P,TKI1",
    "A2,female,400,dead,400,C,DX",
    "A3,male,500,alive,120,P,SURG",  # an anchor the profile does not declare
    "A4,female,300,alive,200,P,",  # a time without its anchor
    "A5,male,250,alive,,,",  # no PFS at all
]
PLAIN_SAMPLES = ["ID,SAMPLE,TYPE", "A1,S1,primary", "A2,S2,metastasis", "A5,S5,primary"]


def test_a_per_patient_anchor_column_quarantines_an_undeclared_or_missing_anchor(con, settings, tmp_path):
    _drop(tmp_path, "daysite", PLAIN, {"pat.csv": PLAIN_PATIENTS, "samples.csv": PLAIN_SAMPLES})
    loaded = _load(con, settings, "daysite")
    findings = _findings(loaded)
    assert ("pat.csv", 4, "PFS_FROM", "SURG", "conformance.code_list") in findings
    rows = {(file, line, check) for file, line, _, _, check in findings}
    assert ("pat.csv", 5, "conformance.endpoint_without_anchor") in rows
    assert {line for _, line, *_ in findings} == {4, 5}  # one reason each: the missing anchor is not said twice
    assert con.execute(
        "SELECT pfs_time, pfs_event, pfs_anchor, time_unit FROM core.patients ORDER BY 1 NULLS FIRST"
    ).fetchall() == [
        (None, None, None, "days"),
        (365.0, True, "first_tki", "days"),
        (400.0, False, "diagnosis", "days"),
    ]
    _layers(con)
    assert con.execute("SELECT anchor, days, months FROM analysis.reported_endpoints ORDER BY days").fetchall() == [
        ("first_tki", 365.0, 365 / DAYS_PER_MONTH),
        ("diagnosis", 400.0, 400 / DAYS_PER_MONTH),
    ]


def _without_anchor_column(profile: str) -> str:
    return profile.replace(",\n              pfs_anchor: PFS_FROM", "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.replace("      pfs_anchor: {TKI1: first_tki, DX: diagnosis}\n", ""), "declare the anchors"),
        (_without_anchor_column, "state it, e.g. 'endpoint_anchors: {pfs: first_tki}'"),
        (
            lambda p: p.replace("export_date: 2025-01-31", "export_date: 2025-01-31, endpoint_anchors: {pfs: unknown}"),
            "either here or as the patients' column 'pfs_anchor', not both",
        ),
        (
            lambda p: _without_anchor_column(p).replace(
                "export_date: 2025-01-31", "export_date: 2025-01-31, endpoint_anchors: {pfs: surgery}"
            ),
            "endpoint_anchors.pfs: 'surgery' must be one of",
        ),
        (
            lambda p: p.replace("export_date: 2025-01-31", "export_date: 2025-01-31, endpoint_anchors: {os: unknown}"),
            "'os' is not a reported endpoint (pfs, dfs)",
        ),
        (
            lambda p: p.replace("export_date: 2025-01-31", "export_date: 2025-01-31, endpoint_anchors: {dfs: unknown}"),
            "endpoint_anchors.dfs: no column is mapped to dfs_time or dfs_event",
        ),
        (lambda p: p.replace("{P: true, C: false}", "{P: progressed, C: false}"), "map to true or false; 'P'"),
    ],
)
def test_profile_mistakes_about_reported_endpoints_are_named(change, message):
    with pytest.raises(ProfileError, match="daysite.yaml") as err:
        parse_profile(yaml.safe_load(change(PLAIN)), "daysite.yaml")
    assert message in str(err.value)


def _reimport(con, settings, tmp_path, study) -> None:
    profile = CBIO_PROFILE.format(site="again", extra="")
    (tmp_path / "profiles" / "again.yaml").write_text(profile)
    (tmp_path / "drops" / "again").mkdir(parents=True)
    for path in study.iterdir():
        (tmp_path / "drops" / "again" / path.name).write_bytes(path.read_bytes())
    _load(con, settings, "again")
    _layers(con)


def _endpoints(con, site: str) -> list[tuple]:
    return con.execute(
        "SELECT endpoint, months, event FROM analysis.reported_endpoints JOIN core.samples USING (site_id, patient_id) "
        "WHERE site_id = ? ORDER BY ALL",
        [site],
    ).fetchall()


def test_the_export_writes_reported_dfs_as_sent_and_a_reimport_reads_the_same(con, settings, tmp_path):
    _dfs_study(con, settings, tmp_path)
    _layers(con)
    export_study(con, tmp_path / "study", "reported_test")
    assert format_findings(tmp_path / "study") == []
    text = (tmp_path / "study" / "data_clinical_patient.txt").read_text()
    assert "DFS_MONTHS\tDFS_STATUS" in text and "PFS_MONTHS" not in text  # only the endpoints some patient has
    assert "from its anchor: unknown." in text
    _reimport(con, settings, tmp_path, tmp_path / "study")
    assert _endpoints(con, "again") == _endpoints(con, "dfs_study") == [("DFS", 12.25, True), ("DFS", 14.0, False)]


def test_days_are_exported_in_months_exactly_and_come_back_as_the_same_days(con, settings, tmp_path):
    _drop(tmp_path, "daysite", PLAIN, {"pat.csv": PLAIN_PATIENTS, "samples.csv": PLAIN_SAMPLES})
    _load(con, settings, "daysite")
    _layers(con)
    export_study(con, tmp_path / "study", "reported_days")
    text = (tmp_path / "study" / "data_clinical_patient.txt").read_text()
    assert "from its anchor: diagnosis, first_tki." in text
    assert "1:PROGRESSED" in text and "0:CENSORED" in text
    _reimport(con, settings, tmp_path, tmp_path / "study")
    days = con.execute("SELECT site_id, days, event FROM analysis.reported_endpoints ORDER BY ALL").fetchall()
    back, sent = ([(d, e) for s, d, e in days if s == site] for site in ("again", "daysite"))
    assert [e for _, e in back] == [e for _, e in sent] == [True, False]
    assert [d for d, _ in back] == pytest.approx([d for d, _ in sent], rel=1e-15)
    assert [d for d, _ in sent] == [365.0, 400.0]
