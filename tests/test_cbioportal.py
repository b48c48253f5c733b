"""A cBioPortal GIST study, written by hand from the published file format, through the whole registry.

The study (fixtures/cbioportal/gist_handmade) has shapes the generator never writes: months from
diagnosis instead of dates, two samples for one patient, a pan-cancer row, a patient without OS data,
12.00 months beside 11.99.  The Kaplan-Meier numbers of the catalogue entry os_by_sample_type are
compared with lifelines and R computed straight from the study's OS_MONTHS / OS_STATUS, read here
with a reader of the test's own.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from lifelines import KaplanMeierFitter

from tests.stats.oracle import R_SCRIPTS, run_r

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "fixtures" / "cbioportal" / "gist_handmade"
PROFILE = ROOT / "fixtures" / "cbioportal" / "gist_cbio.yaml"
GIST = "Gastrointestinal Stromal Tumor"
# one patient of 15 has no OS data (quarantined, with its sample): above the default 5 % share, so the
# test registry's thresholds allow it for this site, as a registry taking such studies would
THRESHOLDS = (
    "default: {error: 0.05, warning: 0.20}\nchecks: {consistency.patient_quarantined: 0.10}\n"
    "sites: {gist_cbio: {completeness.required: 0.10, completeness.required_last_contact: 0.10}}\n"
)


def read_study_table(path: Path) -> list[dict[str, str]]:
    """A cBioPortal clinical file as rows: the '#' metadata lines skipped, tab-separated (the test's own reader)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def study_os_by_sample_type(study: Path) -> dict[str, tuple[list[float], list[int]]]:
    """(months, died) per sample type of the GIST samples whose patient has OS data, straight from the files."""
    patients = {row["PATIENT_ID"]: row for row in read_study_table(study / "data_clinical_patient.txt")}
    groups: dict[str, tuple[list[float], list[int]]] = {}
    for sample in read_study_table(study / "data_clinical_sample.txt"):
        patient = patients[sample["PATIENT_ID"]]
        if sample.get("CANCER_TYPE", GIST) != GIST or patient["OS_MONTHS"] in {"NA", ""}:
            continue
        times, events = groups.setdefault(sample["SAMPLE_TYPE"].lower(), ([], []))
        times.append(float(patient["OS_MONTHS"]))
        events.append(1 if patient["OS_STATUS"] == "1:DECEASED" else 0)
    return groups


def run_registry(root: Path, sites: dict[str, tuple[Path, str]], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Load each site's study folder with its profile text, then refresh the analyses and results; the registry file."""
    import dagster as dg

    for site, (folder, profile) in sites.items():
        shutil.copytree(folder, root / "drops" / site)
        (root / "profiles").mkdir(parents=True, exist_ok=True)
        (root / "profiles" / f"{site}.yaml").write_text(profile)
    (root / "thresholds.yaml").write_text(THRESHOLDS)
    for name, value in {
        "GIST_DUCKDB_PATH": root / "r.duckdb",
        "GIST_ARCHIVE_DIR": root / "archive",
        "GIST_OUTPUT_DIR": root / "out",
        "GIST_PUBLISH_DIR": root / "published",
        "GIST_PSEUDONYM_KEY": "cbioportal-test-key-0123456789abcdef",
        "GIST_DROP_DIR": root / "drops",
        "GIST_PROFILES_DIR": root / "profiles",
        "GIST_DATA_CUTOFF": "2025-06-30",
        "GIST_QUALITY_THRESHOLDS": root / "thresholds.yaml",
    }.items():
        monkeypatch.setenv(name, str(value))
    from pipelines.definitions import ASSETS, ingest_site
    from pipelines.defs.ingest import site_partitions
    from pipelines.resources import default_resources

    resources = default_resources()
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(site_partitions.name, sorted(sites))
    for site in sorted(sites):
        assert ingest_site(site, instance, resources).success
    assert dg.materialize(
        ASSETS, selection=dg.AssetSelection.groups("analysis", "results"), instance=instance, resources=resources
    ).success
    return root / "r.duckdb"


@pytest.fixture(scope="module")
def study_registry(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        path = run_registry(tmp_path_factory.mktemp("cbio"), {"gist_cbio": (STUDY, PROFILE.read_text())}, monkeypatch)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_every_patient_and_sample_is_accounted_for_and_the_filter_counted_with_its_rule(study_registry):
    con = study_registry
    status, counts = con.execute(
        "SELECT status, row_counts FROM audit.drops WHERE site_id = 'gist_cbio' AND status = 'loaded'"
    ).fetchone()
    assert status == "loaded"
    counts = json.loads(counts)
    patients = read_study_table(STUDY / "data_clinical_patient.txt")
    samples = read_study_table(STUDY / "data_clinical_sample.txt")
    # input = loaded + quarantined + filtered, per file
    assert counts["patients"]["loaded"] + counts["patients"]["quarantined"] == len(patients) == 15
    assert counts["samples"]["loaded"] + counts["samples"]["quarantined"] + counts["samples"]["filtered_by_rule"] == (
        len(samples)
    )
    assert counts["samples"]["filtered_by_rule"] == 1
    assert counts["samples"]["filter"] == f"CANCER_TYPE == {GIST}"
    quarantined = con.execute(
        "SELECT table_name, line_number, check_id FROM audit.quarantine WHERE site_id = 'gist_cbio' ORDER BY ALL"
    ).fetchall()
    # GIST-008 (line 13 of the patient file: four '#' lines, the header, then patients) has no OS data: its
    # OS_STATUS is empty (vital_status required) and so is its last contact
    assert quarantined == [
        ("patients", 13, "completeness.required"),
        ("samples", 15, "consistency.patient_quarantined"),
    ]
    reasons = con.execute(
        "SELECT all_messages FROM audit.quarantine WHERE site_id = 'gist_cbio' AND table_name = 'patients'"
    ).fetchone()[0]
    assert "a patient needs last_contact_date or last_contact_time" in reasons
    lines = {n for (n,) in con.execute("SELECT line_number FROM core.samples WHERE site_id = 'gist_cbio'").fetchall()}
    assert lines == set(range(6, 25)) - {15, 20}  # 15: GIST-008's sample; 20: the leiomyosarcoma row, filtered


def test_nothing_is_invented_and_times_are_stored_as_sent(study_registry):
    con = study_registry
    rows = con.execute(
        "SELECT birth_year, diagnosis_date, mutation_gene, last_contact_date, time_anchor, time_unit, "
        "last_contact_time, times_exported_on FROM core.patients WHERE site_id = 'gist_cbio'"
    ).fetchall()
    assert {r[:4] for r in rows} == {(None, None, None, None)}
    assert {r[4:6] for r in rows} == {("diagnosis", "months")}
    assert {str(r[7]) for r in rows} == {"2024-05-01"}
    assert sorted(r[6] for r in rows).count(12.0) == 2 and 11.99 in {r[6] for r in rows}
    types = dict(con.execute("SELECT sample_type, count(*) FROM core.samples GROUP BY ALL").fetchall())
    assert types == {"primary": 9, "metastasis": 7, "recurrence": 1}
    follow_up = con.execute(
        "SELECT censor_source, censor_date IS NULL, times_cutoff FROM intermediate.int_follow_up LIMIT 1"
    ).fetchone()
    assert follow_up[:2] == ("PATIENTS.LAST_CONTACT_TIME", True) and str(follow_up[2]) == "2024-05-01"


def test_twelve_months_sent_stays_on_the_right_side_of_the_12_month_landmark(study_registry):
    con = study_registry
    aval = sorted(
        a
        for (a,) in con.execute(
            "SELECT aval FROM analysis.os_by_sample_type WHERE group_label = 'metastasis'"
        ).fetchall()
    )
    assert 12.0 in aval and 11.99 in aval  # exactly as sent, not 365 / 30.4375 = 11.99 days-rounded
    at_risk = con.execute(
        "SELECT n_at_risk FROM results.km_landmarks WHERE analysis_id = 'os_by_sample_type' AND \"group\" = 'metastasis' "
        "AND time = 12"
    ).fetchone()[0]
    assert at_risk == sum(1 for a in aval if a >= 12)  # the 12.00 death is at risk at 12 months


def _km_rows(con, group: str):
    summary = con.execute(
        "SELECT n, events, median FROM results.km_summary WHERE analysis_id = 'os_by_sample_type' AND \"group\" = ?",
        [group],
    ).fetchone()
    curve = con.execute(
        "SELECT time, n_at_risk, survival, lower, upper FROM results.km_curve WHERE analysis_id = 'os_by_sample_type' "
        'AND "group" = ? AND time > 0 ORDER BY time',
        [group],
    ).fetchall()
    return summary, curve


@pytest.mark.parametrize("group", ["primary", "metastasis"])
def test_km_equals_lifelines_on_the_study_files(study_registry, group):
    times, events = study_os_by_sample_type(STUDY)[group]
    fitter = KaplanMeierFitter().fit(times, events)
    (n, n_events, median), curve = _km_rows(study_registry, group)
    assert (n, n_events) == (len(times), sum(events))
    assert median == pytest.approx(fitter.median_survival_time_)
    expected = fitter.survival_function_.iloc[1:, 0]  # lifelines' first row is time 0
    assert [t for t, *_ in curve] == pytest.approx(list(expected.index))
    assert [s for _, _, s, *_ in curve] == pytest.approx(list(expected.values), rel=1e-12)
    assert [r for _, r, *_ in curve] == [int(fitter.event_table.at_risk.loc[t]) for t in expected.index]


def test_km_equals_r_on_the_study_files(study_registry, tmp_path):
    groups = study_os_by_sample_type(STUDY)
    with (tmp_path / "frame.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", "time_months", "event"])
        for group in ("primary", "metastasis"):
            writer.writerows([group, t, e] for t, e in zip(*groups[group], strict=True))
    job = {
        "key": "os_by_sample_type/OS",
        "csv": str(tmp_path / "frame.csv"),
        "groups": ["primary", "metastasis"],
        "numeric": ["time_months", "event"],
        "landmarks": [6, 12, 24],
        "models": [],
    }
    (answer,) = run_r(R_SCRIPTS / "oracle.R", tmp_path, [job])
    for group in ("primary", "metastasis"):
        (n, n_events, _), curve = _km_rows(study_registry, group)
        km = answer["km"][group]
        assert (n, n_events) == (km["n"], km["events"])
        r_curve = km["curve"]
        assert [t for t, *_ in curve] == pytest.approx(r_curve["time"])
        assert [s for _, _, s, *_ in curve] == pytest.approx(r_curve["survival"], rel=1e-9)
        for ours, theirs in zip([lo for *_, lo, _ in curve], r_curve["lower"], strict=True):
            assert (theirs is None and (ours is None or math.isnan(ours))) or ours == pytest.approx(theirs, rel=1e-6)


COMBINED = [  # a cBioPortal "clinical data" download: one row per sample, the patient's values repeated
    "#Patient Identifier\tSample Identifier\tSex\tOverall Survival (Months)\tOverall Survival Status\tSample Type",
    "#Patient id.\tSample id.\tSex.\tOS since diagnosis.\tOS status.\tType of sample.",
    "#STRING\tSTRING\tSTRING\tNUMBER\tSTRING\tSTRING",
    "#1\t1\t1\t1\t1\t1",
    "PATIENT_ID\tSAMPLE_ID\tSEX\tOS_MONTHS\tOS_STATUS\tSAMPLE_TYPE",
    "A1\tA1-T1\tMale\t20.5\t0:LIVING\tPrimary",
    "A1\tA1-T2\tMale\t20.5\t0:LIVING\tMetastasis",
    "A2\tA2-T1\tFemale\t7.25\t1:DECEASED\tPrimary",
    "A2\tA2-T2\tMale\t7.25\t1:DECEASED\tMetastasis",
    "A2\tA2-T3\tFemale\t7.5\t1:DECEASED\tRecurrence",
    "A3\tA3-T1\tFemale\t14\t0:LIVING\tPrimary",
]
COMBINED_PROFILE = """site_id: cbio_combined
dialect: cbioportal
relative_times: {anchor: diagnosis, export_date: 2024-05-01}
tables:
  patients: {file: clinical.tsv, grain: sample}
  samples: {file: clinical.tsv}
"""


def test_one_row_per_sample_loads_each_patient_once_and_quarantines_disagreeing_values(con, settings, tmp_path):
    from pipelines.ingest.steps import load_core, receive_drop

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "cbio_combined.yaml").write_text(COMBINED_PROFILE)
    (tmp_path / "drops" / "cbio_combined").mkdir(parents=True)
    (tmp_path / "drops" / "cbio_combined" / "clinical.tsv").write_text("\n".join(COMBINED) + "\n")
    assert receive_drop(con, settings, "cbio_combined").status == "received"
    loaded = load_core(con, settings, "cbio_combined")
    assert loaded.status == "loaded", loaded.message
    patients, samples = loaded.counts["patients"], loaded.counts["samples"]
    assert (patients["data_lines"], patients["loaded"], patients["quarantined"], patients["merged"]) == (6, 2, 3, 1)
    assert (samples["data_lines"], samples["loaded"], samples["quarantined"]) == (6, 3, 3)
    assert "1 repeated patient lines loaded once" in loaded.summary()
    assert con.execute("SELECT line_number, last_contact_time FROM core.patients ORDER BY 1").fetchall() == [
        (6, 20.5),
        (11, 14.0),
    ]
    with loaded.report.with_suffix(".csv").open(newline="") as handle:
        findings = [r for r in csv.DictReader(handle) if r["check_id"] == "consistency.patient_values_disagree"]
    shown = {(int(r["line_number"]), r["site_column"], r["value_as_received"], r["message"]) for r in findings}
    sex = "sex differs across the patient's rows (one per sample): 'Female' (line 8), 'Male' (line 9)"
    months = "last_contact_time differs across the patient's rows (one per sample): '7.25' (line 8), '7.5' (line 10)"
    assert shown == {
        (8, "SEX", "Female", sex),
        (9, "SEX", "Male", sex),
        (10, "SEX", "Female", sex),
        (8, "OS_MONTHS", "7.25", months),
        (9, "OS_MONTHS", "7.25", months),
        (10, "OS_MONTHS", "7.5", months),
    }
    assert all(r["file"] == "clinical.tsv" and r["site_patient_id"] == "A2" for r in findings)


ID = re.compile(r"^[A-Za-z0-9._-]+$")


def format_findings(study: Path) -> list[str]:
    """What the published cBioPortal file-format rules (checked by its validator, validateData.py) find wrong."""
    found = []
    meta = {
        p.name: dict(line.split(": ", 1) for line in p.read_text().splitlines() if line)
        for p in study.glob("meta_*.txt")
    }
    study_meta = meta.get("meta_study.txt", {})
    found += [f"meta_study.txt: no {k}" for k in ("type_of_cancer", "cancer_study_identifier", "name", "description")
              if k not in study_meta]  # fmt: skip
    tables = {}
    for name, fields in meta.items():
        if name == "meta_study.txt":
            continue
        if fields.get("cancer_study_identifier") != study_meta.get("cancer_study_identifier"):
            found.append(f"{name}: cancer_study_identifier differs from meta_study.txt")
        if fields.get("genetic_alteration_type") != "CLINICAL" or fields.get("datatype") not in {
            "PATIENT_ATTRIBUTES",
            "SAMPLE_ATTRIBUTES",
        }:
            found.append(f"{name}: not a clinical meta file")
        lines = (study / fields["data_filename"]).read_text().split("\n")
        if lines[-1] == "":
            lines.pop()
        header = lines[4].split("\t")
        if not all(line.startswith("#") for line in lines[:4]) or lines[4].startswith("#"):
            found.append(f"{fields['data_filename']}: not four '#' metadata rows above the header")
        if any(len(line.split("\t")) != len(header) for line in lines):
            found.append(f"{fields['data_filename']}: a row with another number of fields than the header")
        datatypes, priorities = lines[2][1:].split("\t"), lines[3][1:].split("\t")
        if set(datatypes) - {"STRING", "NUMBER", "BOOLEAN"} or not all(p.lstrip("-").isdigit() for p in priorities):
            found.append(f"{fields['data_filename']}: bad datatype or priority row")
        rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[5:]]
        if any(not line for line in lines[5:]):
            found.append(f"{fields['data_filename']}: an empty line")
        for column, datatype in zip(header, datatypes, strict=True):
            if datatype == "NUMBER" and not all(_number_or_na(r[column]) for r in rows):
                found.append(f"{fields['data_filename']}: {column} holds a value that is not a number")
        for row in rows:
            if row.get("OS_STATUS", "NA") not in {"0:LIVING", "1:DECEASED", "NA"}:
                found.append(f"{fields['data_filename']}: OS_STATUS {row['OS_STATUS']!r}")
        tables[fields["datatype"]] = rows
    patients = [r["PATIENT_ID"] for r in tables.get("PATIENT_ATTRIBUTES", [])]
    samples = tables.get("SAMPLE_ATTRIBUTES", [])
    if len(set(patients)) != len(patients) or len({s["SAMPLE_ID"] for s in samples}) != len(samples):
        found.append("a patient or sample id appears twice")
    if not all(ID.match(i) for i in [*patients, *(s["SAMPLE_ID"] for s in samples)]):
        found.append("an id with characters other than letters, digits, '.', '_' and '-'")
    found += [
        f"sample {s['SAMPLE_ID']}: patient not in the patient file" for s in samples if s["PATIENT_ID"] not in patients
    ]
    found += [f"patient {p}: no sample" for p in set(patients) - {s["PATIENT_ID"] for s in samples}]
    return found


NULL_VALUES = {"", "na", "[not applicable]", "[not available]", "[pending]", "[discrepancy]", "[completed]", "[null]"}


def _number_or_na(value: str) -> bool:
    """A NUMBER attribute holds a number or one of the validator's null values (compared case-insensitively)."""
    try:
        return value.lower() in NULL_VALUES or math.isfinite(float(value))
    except ValueError:
        return False


def test_the_hand_written_study_follows_the_format_rules():
    assert format_findings(STUDY) == []


def test_the_export_follows_the_format_and_reimporting_it_gives_the_same_survival(study_registry, tmp_path):
    from pipelines.cbioportal_export import export_study

    written = export_study(study_registry, tmp_path / "study", "gist_registry_test")
    assert (written.patients, written.samples) == (13, 17)  # GIST-008 quarantined, LMS-101 without a GIST sample
    assert format_findings(tmp_path / "study") == []
    text = "".join(p.read_text() for p in (tmp_path / "study").glob("data_*.txt"))
    assert "GIST-0" not in text and "2024-" not in text  # no site id, no date
    profile = (
        "site_id: reimported\ndialect: cbioportal\nrelative_times: {anchor: diagnosis, export_date: 2024-05-01}\n"
        "tables:\n  samples:\n    columns: {specimen_type: SPECIMEN_TYPE}\n"
        "    codes: {specimen_type: {Resection: resection, Biopsy: biopsy}}\n"
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        path = run_registry(tmp_path / "again", {"reimported": (tmp_path / "study", profile)}, monkeypatch)
    again = duckdb.connect(str(path), read_only=True)
    try:
        for table, order in (
            ("km_summary", '"group"'),
            ("km_curve", '"group", time'),
            ("km_landmarks", '"group", time'),
        ):
            query = f"SELECT * EXCLUDE (analysis_id) FROM results.{table} WHERE analysis_id = 'os_by_sample_type' ORDER BY {order}"
            assert again.execute(query).fetchall() == study_registry.execute(query).fetchall(), table
    finally:
        again.close()


def test_line_numbers_count_the_metadata_rows_also_for_a_malformed_line(con, settings, tmp_path):
    from pipelines.ingest.steps import load_core, receive_drop

    short = [*COMBINED[:7], "A2\tA2-T1\tFemale\t7.25", COMBINED[10]]  # line 8 lacks two fields
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "cbio_combined.yaml").write_text(COMBINED_PROFILE)
    (tmp_path / "drops" / "cbio_combined").mkdir(parents=True)
    (tmp_path / "drops" / "cbio_combined" / "clinical.tsv").write_text("\n".join(short) + "\n")
    receive_drop(con, settings, "cbio_combined")
    loaded = load_core(con, settings, "cbio_combined")
    assert loaded.status == "loaded", loaded.message
    rows = con.execute("SELECT table_name, line_number, check_id FROM audit.quarantine ORDER BY ALL").fetchall()
    assert rows == [("patients", 8, "conformance.field_count"), ("samples", 8, "conformance.field_count")]
    assert con.execute("SELECT line_number FROM core.samples ORDER BY 1").fetchall() == [(6,), (7,), (9,)]
