"""The catalogue's SQL frames on a hand-built registry of six patients whose right answers are known by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from pipelines.analyses import check_frame_columns, endpoint_frame
from pipelines.catalogue import CatalogueError, load_catalogue
from pipelines.sql_models import run_layer
from pipelines.stats import DAYS_PER_MONTH, event_within, landmark_frame
from tests.sql_registry import frame_rows, sql_registry

D = dt.date
CUTOFF = D(2025, 6, 30)


def _patient(pid, sex, gene, exon, advanced, last_contact, *, dead=False, tumours=2):
    return {
        "patient_id": pid,
        "sex": sex,
        "birth_year": 1960,
        "diagnosis_date": D(2015, 1, 1),
        "primary_site": "stomach",
        "mutation_gene": gene,
        "mutation_exon": exon,
        "advanced_disease_date": advanced,
        "tumour_count": tumours,
        "largest_tumour_mm": 40.0,
        "last_contact_date": last_contact,
        "vital_status": "dead" if dead else "alive",
        "death_date": last_contact if dead else None,
    }


def _episode(pid, line, agent, dose, start, end, reason, response="PR"):
    return {
        "patient_id": pid,
        "line": line,
        "agent": agent,
        "daily_dose_mg": dose,
        "start_date": start,
        "end_date": end,
        "end_reason": reason,
        "best_response": response,
    }


def _surgery(pid, date, intent, status, continued=True):
    return {
        "patient_id": pid,
        "surgery_date": date,
        "intent": intent,
        "disease_status": status,
        "resection": "R0",
        "tki_continued": continued,
    }


TABLES = {
    "patients": [
        _patient("P_SURG", "female", "KIT", 11, D(2019, 12, 1), D(2024, 1, 1)),  # operated at month 8 on imatinib
        _patient("P_PROG", "male", "KIT", 11, D(2019, 12, 1), D(2021, 1, 1), dead=True),  # focal progression at month 4
        _patient("P_INT", "female", "KIT", 9, D(2018, 12, 1), D(2025, 1, 1)),  # exon 9 on 800 mg, interrupted at 1 year
        _patient(
            "P_CONT", "male", "PDGFRA", 18, D(2018, 12, 1), D(2026, 1, 1), tumours=None
        ),  # followed past the cut-off
        _patient("P_SUN", "male", "SDH_deficient", None, D(2015, 1, 1), D(2024, 6, 1)),  # two operations on sunitinib
        _patient("P_STOP", "female", "KIT", 11, D(2019, 12, 1), D(2023, 1, 1)),  # imatinib stopped after surgery
    ],
    "tki_episodes": [
        _episode("P_SURG", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 8, 25), "surgery"),
        _episode("P_SURG", 1, "imatinib", 400, D(2020, 9, 20), D(2022, 1, 1), "progression"),
        _episode("P_PROG", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 5, 1), "progression", "SD"),
        _episode("P_PROG", 2, "sunitinib", 50, D(2020, 5, 10), D(2021, 1, 1), "death"),
        _episode("P_INT", 1, "imatinib", 800, D(2019, 1, 1), D(2020, 1, 3), "planned_interruption"),
        _episode("P_INT", 1, "imatinib", 800, D(2020, 9, 1), None, "ongoing"),
        _episode("P_CONT", 1, "imatinib", 400, D(2019, 1, 1), None, "ongoing"),
        _episode("P_SUN", 1, "imatinib", 400, D(2015, 1, 10), D(2016, 1, 1), "progression"),
        _episode("P_SUN", 2, "sunitinib", 50, D(2016, 1, 5), None, "ongoing"),
        _episode("P_STOP", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 10, 20), "surgery"),
        _episode("P_STOP", 1, "imatinib", 400, D(2021, 6, 1), None, "ongoing"),
    ],
    "surgeries": [
        _surgery("P_SURG", D(2018, 6, 1), "primary_resection", None, None),
        _surgery("P_SURG", D(2020, 9, 1), "cytoreductive", "responsive"),
        _surgery("P_SUN", D(2016, 6, 1), "cytoreductive", "stable"),
        _surgery("P_SUN", D(2017, 3, 1), "salvage", "focal_progression"),
        _surgery("P_STOP", D(2020, 11, 1), "cytoreductive", "responsive", continued=False),
    ],
    "progressions": [
        {"patient_id": "P_SURG", "progression_date": D(2022, 1, 1), "pattern": "multifocal"},
        {"patient_id": "P_PROG", "progression_date": D(2020, 5, 1), "pattern": "focal"},
        {"patient_id": "P_INT", "progression_date": D(2020, 8, 25), "pattern": "focal"},
        {"patient_id": "P_SUN", "progression_date": D(2016, 1, 1), "pattern": "multifocal"},
        {"patient_id": "P_SUN", "progression_date": D(2017, 2, 1), "pattern": "focal"},
        {"patient_id": "P_STOP", "progression_date": D(2021, 5, 20), "pattern": "focal"},
    ],
}
CATALOGUE = {a.id: a for a in load_catalogue()}


@pytest.fixture(scope="module")
def con():
    connection = sql_registry(TABLES, CUTOFF)
    yield connection
    connection.close()


def _months(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_MONTH


def test_surgery_at_month_8_is_exposed_from_the_12_not_the_6_month_landmark(con):
    frame = endpoint_frame(con, CATALOGUE["surgery_after_imatinib"], "PFS").set_index("subject_id")
    assert frame["group"].astype(str).to_dict() == {
        "P_CONT": "imatinib_alone",
        "P_INT": "imatinib_alone",
        "P_PROG": "imatinib_alone",
        "P_STOP": "surgery",
        "P_SUN": "imatinib_alone",
        "P_SURG": "surgery",
    }
    assert frame.loc["P_SURG", "surgery_months"] == pytest.approx(_months(D(2020, 1, 1), D(2020, 9, 1)))  # 8.02
    assert frame.loc["P_SURG", "time_months"] == pytest.approx(_months(D(2020, 1, 1), D(2022, 1, 1)))
    assert np.isnan(frame.loc["P_PROG", "surgery_months"])
    groups = {
        at: landmark_frame(frame.reset_index(), exposure="surgery_months", landmark=at).set_index("subject_id")["group"]
        for at in (6, 12)
    }
    assert groups[6]["P_SURG"] == "unexposed" and groups[12]["P_SURG"] == "exposed"
    assert "P_PROG" not in groups[6].index  # progressed at month 4: not at risk at either landmark


def test_operations_carry_the_tki_at_surgery_and_a_patient_may_have_several(con):
    rows = frame_rows(con, "analysis.surgery_on_tki", "PFS")
    assert rows["group_label"].to_dict() == {
        "P_STOP@2020-11-01": "imatinib",
        "P_SUN@2016-06-01": "sunitinib",
        "P_SUN@2017-03-01": "sunitinib",
        "P_SURG@2020-09-01": "imatinib",
    }
    assert rows.loc[["P_SUN@2016-06-01", "P_SUN@2017-03-01"], "operation_number"].tolist() == [1, 2]
    first = rows.loc["P_SUN@2016-06-01"]  # next progression after that operation: 2017-02-01
    assert (first["adt"].date(), first["cnsr"], first["evntdesc"]) == (D(2017, 2, 1), 0, "PROGRESSION")
    status = frame_rows(con, "analysis.status_at_surgery", "PFS")["group_label"].to_dict()
    assert status == {
        "P_STOP@2020-11-01": "responsive",
        "P_SUN@2016-06-01": "stable",
        "P_SUN@2017-03-01": "focal_progression",
        "P_SURG@2020-09-01": "responsive",
    }


def test_postop_tki_has_rfs_from_surgery_and_the_12_month_outcome(con):
    rows = frame_rows(con, "analysis.postop_tki")
    assert set(rows["paramcd"]) == {"RFS", "OS"}
    rfs = rows[rows["paramcd"] == "RFS"]
    assert rfs["group_label"].to_dict() == {"P_STOP": "stopped", "P_SURG": "continued"}
    assert (rfs.loc["P_STOP", "param"], rfs.loc["P_STOP", "evntdesc"]) == ("Recurrence-free survival", "RECURRENCE")
    assert rfs.loc["P_STOP", "aval"] == pytest.approx(_months(D(2020, 11, 1), D(2021, 5, 20)))
    frame = endpoint_frame(con, CATALOGUE["postop_tki"], "RFS").set_index("subject_id")
    within = event_within(frame, 12)
    assert (within["P_STOP"], within["P_SURG"]) == (1, 0)  # recurrence at 6.6 months; first recurrence at 16


def test_interruption_cohort_is_progression_free_on_imatinib_at_one_year(con):
    pfs = frame_rows(con, "analysis.imatinib_interruption", "PFS")
    assert pfs["group_label"].to_dict() == {"P_CONT": "continued", "P_INT": "interruption"}
    assert pfs.loc["P_INT", "startdt"].date() == D(2020, 1, 1)  # imatinib start + 365 days
    assert pfs.loc["P_INT", "aval"] == pytest.approx(_months(D(2020, 1, 1), D(2020, 8, 25)))
    censored = pfs.loc["P_CONT"]  # last contact 2026 is after the cut-off
    assert (censored["adt"].date(), censored["cnsr"], censored["evntdesc"]) == (CUTOFF, 1, "CENSORED AT DATA CUT-OFF")


def test_mutation_classes_and_the_exon9_dose_subgroup(con):
    classes = frame_rows(con, "analysis.mutation", "PFS")["group_label"].to_dict()
    assert classes == {
        "P_CONT": "pdgfra",
        "P_INT": "kit_exon9",
        "P_PROG": "kit_exon11",
        "P_STOP": "kit_exon11",
        "P_SUN": "wild_type",
        "P_SURG": "kit_exon11",
    }
    assert frame_rows(con, "analysis.mutation_exon9_dose", "PFS")["group_label"].to_dict() == {"P_INT": "imatinib_800"}


def test_progression_pattern_and_characteristics(con):
    os_rows = frame_rows(con, "analysis.progression_pattern", "OS")
    assert os_rows["group_label"].to_dict() == {
        "P_INT": "focal",
        "P_PROG": "focal",
        "P_STOP": "focal",
        "P_SURG": "multifocal",
        "P_SUN": "multifocal",
    }
    died = os_rows.loc["P_PROG"]
    assert (died["startdt"].date(), died["adt"].date(), died["evntdesc"]) == (D(2020, 5, 1), D(2021, 1, 1), "DEATH")
    characteristics = con.execute(
        "SELECT patient_id, prior_primary_resection, kit_exon11, multifocal_disease "
        "FROM intermediate.int_patient_characteristics ORDER BY patient_id"
    ).fetchall()
    assert characteristics == [
        ("P_CONT", False, False, None),
        ("P_INT", False, False, True),
        ("P_PROG", False, True, True),
        ("P_STOP", False, True, True),
        ("P_SUN", False, False, True),
        ("P_SURG", True, True, True),
    ]


def test_a_catalogue_entry_that_does_not_match_its_view_is_named(con):
    typo = dataclasses.replace(CATALOGUE["mutation"], covariates=("sex", "tumor_count"))
    with pytest.raises(CatalogueError, match=r"analysis 'mutation': column\(s\) tumor_count not in analysis.mutation"):
        check_frame_columns(con, typo)
    wrong_endpoint = dataclasses.replace(CATALOGUE["mutation"], endpoints=("RFS",))
    with pytest.raises(CatalogueError, match="analysis.mutation has no rows with PARAMCD 'RFS'"):
        endpoint_frame(con, wrong_endpoint, "RFS")


def test_rerunning_a_layer_drops_stale_views_and_turns_an_old_view_into_a_table(con):
    """An older database (frame as a view, a model since deleted) is rebuilt from the files without error."""
    con.execute("DROP TABLE analysis.mutation")
    con.execute("CREATE VIEW analysis.mutation AS SELECT 1 AS x")
    con.execute("CREATE VIEW analysis.deleted_model AS SELECT 1 AS x")
    run_layer(con, "analysis")
    kinds = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'analysis' AND table_name IN ('mutation', 'deleted_model', "
            "'mutation_subjects')"
        ).fetchall()
    )
    assert kinds == {"mutation": "BASE TABLE", "mutation_subjects": "VIEW"}
    assert len(frame_rows(con, "analysis.mutation", "PFS")) == 6
