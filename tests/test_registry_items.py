"""The items real GIST registries record: the risk class derived in SQL, follow-up ends, the new checks.

Every input here is written by hand, at the boundaries of the published tables (Joensuu 2008's modified NIH
criteria, Miettinen and Lasota 2006's AFIP table; docs/risk-classification.md), in shapes the generator
never writes.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.ingest.issues import empty_issues
from pipelines.ingest.validation import validate_tables
from pipelines.registry.ddl import create_registry, ensure_registry, schema_fingerprint
from schemas.contract import polars_schema
from tests.sql_registry import sql_registry

D = dt.date
CUTOFF = D(2025, 6, 30)

# (patient, size mm, mitoses, denominator, specimen, site, rupture) -> (modified NIH, AFIP group, AFIP risk)
RISK_CASES = {
    "VLOW_2CM": ((20.0, 5.0, None, None, "stomach", False), ("very_low", "1", "none")),
    "LOW_JUST_OVER_2CM": ((21.0, 5.0, None, None, "small_bowel", False), ("low", "2", "low")),
    "LOW_GASTRIC": ((21.0, 5.0, None, None, "stomach", False), ("low", "2", "very_low")),
    "LOW_5CM_DUODENUM": ((50.0, 5.0, None, None, "duodenum", False), ("low", "2", "low")),
    "INT_5CM_6_GASTRIC": ((50.0, 6.0, None, None, "stomach", False), ("intermediate", "5", "moderate")),
    "HIGH_5CM_6_SMALL_BOWEL": ((50.0, 6.0, None, None, "small_bowel", False), ("high", "5", "high")),
    "INT_10_MITOSES_GASTRIC": ((50.0, 10.0, None, None, "stomach", False), ("intermediate", "5", "moderate")),
    "HIGH_OVER_10_MITOSES": ((50.0, 10.5, None, None, "stomach", False), ("high", "5", "moderate")),
    "INT_2CM_10_MITOSES_ANY_SITE": ((20.0, 10.0, None, None, "small_bowel", False), ("intermediate", "4", "high")),
    "HIGH_2CM_11_MITOSES": ((20.0, 11.0, None, None, "stomach", False), ("high", "4", "none")),
    "INT_10CM_GASTRIC": ((100.0, 5.0, None, None, "stomach", False), ("intermediate", "3a", "low")),
    "HIGH_10CM_RECTUM": ((100.0, 5.0, None, None, "colorectum", False), ("high", "3a", "insufficient_data")),
    "HIGH_OVER_10CM": ((101.0, 0.0, None, None, "stomach", False), ("high", "3b", "moderate")),
    "HIGH_OVER_5CM_OVER_5": ((51.0, 6.0, None, None, "stomach", False), ("high", "6a", "high")),
    "HIGH_RUPTURE": ((10.0, 1.0, None, None, "stomach", True), ("high", "1", "none")),
    "UNKNOWN_RUPTURE": ((10.0, 1.0, None, None, "stomach", None), ("unknown", "1", "none")),
    "HIGH_WHATEVER_ELSE": ((150.0, None, None, None, None, None), ("high", None, "unknown")),
    "LOW_SITE_UNKNOWN": ((30.0, 3.0, None, None, None, False), ("low", "2", "unknown")),
    "UNKNOWN_SITE_MATTERS": ((60.0, 3.0, None, None, "not_specified", False), ("unknown", "3a", "unknown")),
    "BIOPSY_COUNT": ((20.0, 2.0, "per_5mm2", "biopsy", "stomach", False), ("unknown", None, "unknown")),
    "PER_50_HPF": ((50.0, 6.0, "per_50hpf", "resection", "stomach", False), ("intermediate", "5", "moderate")),
    "DUODENUM_3A": ((70.0, 3.0, None, None, "duodenum", False), ("high", "3a", "insufficient_data")),
    "SMALL_BOWEL_3A": ((70.0, 3.0, None, None, "small_bowel", False), ("high", "3a", "moderate")),
    "OESOPHAGUS": ((60.0, 3.0, None, None, "oesophagus", False), ("high", "3a", "not_tabulated")),
}


def _patient(pid: str, **values) -> dict:
    return {
        "patient_id": pid,
        "sex": "female",
        "birth_year": 1960,
        "diagnosis_date": D(2015, 1, 1),
        "mutation_gene": "KIT",
        "mutation_exon": 11,
        "last_contact_date": D(2024, 1, 1),
        "vital_status": "alive",
        "death_date": None,
        "death_cause": None,
        "lost_to_follow_up": None,
        **values,
    }


@pytest.fixture(scope="module")
def risk_registry():
    patients = [
        _patient(
            pid,
            primary_size_mm=size,
            mitotic_rate=mitoses,
            mitotic_denominator=denominator,
            mitotic_specimen=specimen,
            primary_site=site,
            rupture=rupture,
        )
        for pid, ((size, mitoses, denominator, specimen, site, rupture), _) in RISK_CASES.items()
    ]
    patients += [
        _patient("LOST", lost_to_follow_up=True, mutation_gene="unknown", mutation_exon=None, birth_year=None),
        _patient(
            "DEAD_OTHER",
            vital_status="dead",
            death_date=D(2024, 1, 1),
            death_cause="treatment",
            mutation_gene="not_tested",
            mutation_exon=None,
        ),
        _patient("DEAD_NO_CAUSE", vital_status="dead", death_date=D(2024, 1, 1)),
    ]
    episodes = [
        {"patient_id": "LOST", "line": 1, "agent": "imatinib", "daily_dose_mg": 400.0, "start_date": D(2015, 2, 1),
         "end_date": D(2016, 2, 1), "end_reason": "planned_interruption", "setting": "adjuvant", "dose_change": "start"},
        {"patient_id": "LOST", "line": 1, "agent": "imatinib", "daily_dose_mg": 400.0, "start_date": D(2018, 1, 1),
         "end_date": D(2019, 1, 1), "end_reason": "toxicity", "setting": "advanced", "dose_change": "start"},
        {"patient_id": "LOST", "line": 1, "agent": "imatinib", "daily_dose_mg": 300.0, "start_date": D(2019, 1, 2),
         "end_date": None, "end_reason": "ongoing", "setting": None, "dose_change": "reduction"},
    ]  # fmt: skip
    surgeries = [{"patient_id": "LOST", "surgery_date": D(2015, 6, 1), "intent": "primary_resection"}]
    progressions = [{"patient_id": "LOST", "progression_date": D(2018, 1, 1), "pattern": "multifocal"}]
    tables = {"patients": patients, "tki_episodes": episodes, "surgeries": surgeries, "progressions": progressions}
    con = sql_registry(tables, CUTOFF)
    yield con
    con.close()


@pytest.mark.parametrize("pid", list(RISK_CASES))
def test_risk_class_is_derived_at_the_table_boundaries(risk_registry, pid):
    nih, group, afip = risk_registry.execute(
        "SELECT nih_modified_risk, afip_group, afip_risk FROM intermediate.int_risk_classification WHERE patient_id = ?",
        [pid],
    ).fetchone()
    assert (nih, group, afip) == RISK_CASES[pid][1]


def test_the_missing_inputs_of_a_risk_class_are_named(risk_registry):
    missing = dict(
        risk_registry.execute(
            "SELECT patient_id, risk_inputs_missing FROM intermediate.int_risk_classification "
            "WHERE patient_id IN ('VLOW_2CM', 'UNKNOWN_RUPTURE', 'BIOPSY_COUNT', 'HIGH_WHATEVER_ELSE')"
        ).fetchall()
    )
    assert missing == {
        "VLOW_2CM": None,
        "UNKNOWN_RUPTURE": "rupture",
        "BIOPSY_COUNT": "mitotic_rate (a biopsy count, not used)",
        "HIGH_WHATEVER_ELSE": "mitotic_rate, primary_site, rupture",
    }


def test_the_risk_class_reaches_the_patient_characteristics(risk_registry):
    row = risk_registry.execute(
        "SELECT nih_modified_risk, afip_risk FROM intermediate.int_patient_characteristics WHERE patient_id = 'HIGH_RUPTURE'"
    ).fetchone()
    assert row == ("high", "none")


def test_follow_up_ends_and_death_causes_are_classed(risk_registry):
    rows = {
        r[0]: r[1:]
        for r in risk_registry.execute(
            "SELECT patient_id, follow_up_end, death_cause_class FROM intermediate.int_follow_up "
            "WHERE patient_id IN ('LOST', 'DEAD_OTHER', 'DEAD_NO_CAUSE', 'VLOW_2CM')"
        ).fetchall()
    }
    assert rows == {
        "LOST": ("lost_to_follow_up", None),
        "DEAD_OTHER": ("death", "dead_of_other_cause"),
        "DEAD_NO_CAUSE": ("death", "dead_of_unknown_cause"),
        "VLOW_2CM": ("last_contact", None),
    }


def test_unknown_mutation_is_its_own_class_and_unknown_birth_year_an_unknown_age(risk_registry):
    rows = dict(
        risk_registry.execute(
            "SELECT patient_id, mutation_class FROM intermediate.int_patient_characteristics "
            "WHERE patient_id IN ('LOST', 'DEAD_OTHER', 'VLOW_2CM')"
        ).fetchall()
    )
    assert rows == {"LOST": "unknown", "DEAD_OTHER": "not_tested", "VLOW_2CM": "kit_exon11"}
    assert risk_registry.execute(
        "SELECT birth_year, kit_exon11 FROM intermediate.int_patient_characteristics WHERE patient_id = 'LOST'"
    ).fetchone() == (None, None)


def test_adjuvant_episodes_are_not_lines_for_advanced_disease_and_reductions_are_counted(risk_registry):
    lines = risk_registry.execute(
        "SELECT line, start_date, starting_dose_mg, episodes, dose_reductions FROM intermediate.int_tki_lines "
        "WHERE patient_id = 'LOST'"
    ).fetchall()
    assert lines == [(1, D(2018, 1, 1), 400.0, 2, 1)]


# --- the checks, on typed tables written by hand -------------------------------------------------------------


def _typed(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = polars_schema(table)
    named = {c for row in rows for c in row}
    frame = pl.DataFrame(rows, schema={c: d for c, d in schema.items() if c in named})
    return frame.with_columns(
        pl.lit(None, dtype=d).alias(c) for c, d in schema.items() if c not in frame.columns
    ).select(list(schema))


def _issues(tables: dict[str, list[dict]]) -> dict[str, list[tuple]]:
    typed = {t: _typed(t, rows) for t, rows in tables.items()}
    found = validate_tables(typed, {t: empty_issues() for t in typed})
    return {
        t: sorted((r["row"], r["check_id"], r["severity"]) for r in issues.iter_rows(named=True))
        for t, issues in found.items()
    }


def test_new_patient_items_are_checked():
    patients = [
        _patient("OK", ecog_advanced=4, advanced_disease_date=D(2016, 1, 1), metastasis_peritoneum=True,
                 peritoneal_lesions=3, mitotic_rate=4.0, mitotic_denominator="per_50hpf", mitotic_specimen="biopsy"),
        _patient("ECOG_5", ecog_advanced=5, advanced_disease_date=D(2016, 1, 1)),
        _patient("DENOMINATOR_ONLY", mitotic_denominator="per_5mm2"),
        _patient("PERITONEUM_NO", metastasis_peritoneum=False, peritoneal_lesions=2, advanced_disease_date=D(2016, 1, 1)),
        _patient("LOST_DEAD", lost_to_follow_up=True, vital_status="dead", death_date=D(2024, 1, 1)),
        _patient("CAUSE_ALIVE", death_cause="gist"),
        _patient("ECOG_NO_ADVANCED", ecog_advanced=1),
        _patient("LIVER_NO_ADVANCED", metastasis_liver=True),
        _patient("BAD_DENOMINATOR", mitotic_rate=3.0, mitotic_denominator="per_10hpf"),
    ]  # fmt: skip
    assert _issues({"patients": patients})["patients"] == [
        (1, "plausibility.range", "error"),
        (2, "conformance.mitotic_detail_without_count", "error"),
        (3, "conformance.peritoneal_lesions_without_peritoneum", "error"),
        (4, "conformance.lost_to_follow_up_but_dead", "error"),
        (5, "conformance.death_cause_without_death", "error"),
        (6, "completeness.ecog_without_advanced_disease", "warning"),
        (7, "completeness.metastases_without_advanced_disease", "warning"),
        (8, "conformance.value_set", "error"),
    ]


def _episode(line: int, dose: float, start: dt.date, change: str | None, setting: str | None = None) -> dict:
    return {
        "patient_id": "P",
        "line": line,
        "agent": "imatinib" if line == 1 else "sunitinib",
        "daily_dose_mg": dose,
        "start_date": start,
        "end_date": start + dt.timedelta(days=60),
        "end_reason": "toxicity",
        "setting": setting,
        "dose_change": change,
    }


def test_dose_changes_must_match_the_doses_and_settings_count_their_own_lines():
    episodes = [
        _episode(1, 400, D(2015, 6, 1), "start", "neoadjuvant"),  # before advanced disease: fine
        _episode(1, 400, D(2016, 3, 1), "start", "adjuvant"),  # adjuvant after advanced disease: warning
        _episode(1, 400, D(2017, 1, 1), "start"),
        _episode(1, 800, D(2017, 3, 2), "reduction"),  # 800 after 400 is no reduction
        _episode(1, 600, D(2017, 5, 2), "reduction"),
        _episode(1, 600, D(2017, 7, 2), "same_dose"),
        _episode(1, 800, D(2017, 9, 1), "start"),  # a 'start' that is not the line's first episode
        _episode(2, 50, D(2017, 11, 1), "escalation", "advanced"),  # nothing before it in line 2
    ]
    patients = [_patient("P", advanced_disease_date=D(2016, 1, 1))]
    found = _issues({"patients": patients, "tki_episodes": episodes})
    assert found["patients"] == []
    assert found["tki_episodes"] == [
        (1, "plausibility.perioperative_tki_after_advanced", "warning"),
        (3, "plausibility.dose_change_direction", "error"),
        (6, "plausibility.dose_change_direction", "error"),
        (7, "plausibility.dose_change_direction", "error"),
    ]


def test_response_assessments_are_checked_and_belong_to_a_patient():
    responses = [
        {"patient_id": "P", "assessment_date": D(2017, 1, 1), "criteria": "Choi", "response": "PR", "modality": "CT"},
        {"patient_id": "P", "assessment_date": D(2017, 4, 1), "criteria": "Choi", "response": "SD",
         "modality": "ultrasound"},
        {"patient_id": "P", "assessment_date": D(2017, 7, 1), "criteria": "RECIST 1.1", "response": "SD"},
        {"patient_id": "P", "assessment_date": D(2017, 9, 1), "criteria": "RECIST_1.1", "response": "PD",
         "modality": "MRI"},
        {"patient_id": "NOBODY", "assessment_date": D(2017, 9, 1), "criteria": "RECIST_1.1", "response": "PD"},
        {"patient_id": "P", "assessment_date": D(2014, 9, 1), "criteria": "RECIST_1.1", "response": "CR"},
    ]  # fmt: skip
    found = _issues({"patients": [_patient("P")], "responses": responses})
    assert found["responses"] == [
        (1, "plausibility.choi_without_ct", "warning"),
        (2, "conformance.value_set", "error"),
        (4, "consistency.unknown_patient", "error"),
        (5, "plausibility.event_before_diagnosis", "error"),
    ]


def test_a_registry_made_before_the_new_items_gains_their_columns():
    """Optional contract columns and the site-column tables are added to an existing registry, nothing else changes."""
    con = duckdb.connect()
    create_registry(con)
    con.execute(
        "INSERT INTO core.tki_episodes (site_id, drop_id, source_file, line_number, line) VALUES ('s', 'd', 'f', 2, 1)"
    )
    for layer in ("raw", "core"):
        con.execute(f"ALTER TABLE {layer}.patients DROP COLUMN ecog_advanced")
        con.execute(f"ALTER TABLE {layer}.tki_episodes DROP COLUMN setting")
        con.execute(f"DROP TABLE {layer}.site_columns")
    con.execute("ALTER TABLE audit.drops DROP COLUMN site_columns_not_stored")
    create_registry(con)
    columns = set(
        con.execute("SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns()").fetchall()
    )
    for name in ("raw.patients.ecog_advanced", "core.tki_episodes.setting", "core.site_columns.value",
                 "audit.drops.site_columns_not_stored"):  # fmt: skip
        assert (name,) in columns
    assert con.execute("SELECT line, setting FROM core.tki_episodes").fetchall() == [(1, None)]


def test_ensure_registry_runs_the_ddl_only_for_a_file_not_made_by_this_code():
    """A file made by this code is left as it is (one row read); one made before, or by other code, is migrated."""
    con = duckdb.connect()
    ensure_registry(con)
    assert con.execute("SELECT fingerprint FROM audit.registry_schema").fetchall() == [(schema_fingerprint(),)]
    con.execute("ALTER TABLE core.patients DROP COLUMN ecog_advanced")
    ensure_registry(con)  # the fingerprint matches: no DDL, so the column stays dropped
    assert "ecog_advanced" not in {c[0] for c in con.execute("DESCRIBE core.patients").fetchall()}
    con.execute("UPDATE audit.registry_schema SET fingerprint = 'made by older code'")
    ensure_registry(con)
    assert "ecog_advanced" in {c[0] for c in con.execute("DESCRIBE core.patients").fetchall()}
    assert con.execute("SELECT fingerprint FROM audit.registry_schema").fetchall() == [(schema_fingerprint(),)]
    con.execute("DROP TABLE audit.registry_schema")  # a registry from before the fingerprint
    ensure_registry(con)
    assert con.execute("SELECT count(*) FROM audit.registry_schema").fetchone() == (1,)
