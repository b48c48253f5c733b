"""The cohort flow: counts from a hand-made per-patient frame, complementary suppression of its subtraction
chain, the declared steps of every analysis's flow view (labelled, in the CASE's order), the views on a
hand-built registry whose exclusions are known by hand, and on the sample registry against the analysed n."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import labels
from pipelines.analyses import analysis_flow
from pipelines.catalogue import CatalogueError, load_catalogue
from pipelines.disclosure import flag, suppress
from pipelines.registry.ddl import create_registry
from pipelines.report.flow import cohort_flow as report_flow
from pipelines.sql_models import define_settings, model_files, run_layer
from pipelines.stats.flow import NOT_COMPARED, cohort_flow
from tests.conftest import insert_results
from tests.sql_registry import sql_registry

K = 5
STEPS = ["registry_patients", "not_first_line_imatinib", "no_progression", "primary_resistance"]


def _patients(steps: list[tuple[float | None, str | None, int]]) -> pd.DataFrame:
    rows = [(step, reason) for step, reason, n in steps for _ in range(n)]
    return pd.DataFrame(rows, columns=["excluded_step", "excluded_reason"])


def test_every_declared_step_is_counted_in_order_with_a_zero_where_it_excludes_nobody():
    # rows out of step order, steps as floats (NULLs in a SQL integer column); no_progression excludes nobody
    patients = _patients([(3.0, "primary_resistance", 2), (None, None, 45), (1.0, "not_first_line_imatinib", 13)])
    flow = cohort_flow(patients, STEPS, {"A": 40, "B": 3})
    rows = flow.astype(object).where(flow.notna(), None)
    assert list(rows.itertuples(index=False, name=None)) == [
        (0, "cohort", "registry_patients", None, 60),
        (1, "excluded", "not_first_line_imatinib", None, 13),
        (1, "cohort", None, None, 47),
        (2, "excluded", "no_progression", None, 0),
        (2, "cohort", None, None, 47),
        (3, "excluded", "primary_resistance", None, 2),
        (3, "cohort", None, None, 45),
        (4, "excluded", NOT_COMPARED, None, 2),
        (4, "analysed", None, "A", 40),
        (4, "analysed", None, "B", 3),
    ]


@pytest.mark.parametrize(
    "step, reason",
    [(2.0, "primary_resistance"), (4.0, "not_declared"), (None, "primary_resistance"), (1.0, None)],
)
def test_a_row_off_the_declared_steps_is_an_error(step, reason):
    with pytest.raises(ValueError, match="not one of the declared steps"):
        cohort_flow(_patients([(step, reason, 1), (None, None, 4)]), STEPS, {"A": 4})


def test_more_analysed_than_pass_the_steps_is_an_error():
    with pytest.raises(ValueError, match="2 more than pass"):
        cohort_flow(_patients([(None, None, 5)]), STEPS, {"A": 7})


def _tables() -> dict[str, pd.DataFrame]:
    keys = {"analysis_id": "flowtest", "endpoint": "OS"}
    summary = pd.DataFrame(
        [
            {**keys, "group": "A", "n": 40, "events": 30, "censored": 10},
            {**keys, "group": "B", "n": 3, "events": 2, "censored": 1},
        ]
    )
    flow = cohort_flow(
        _patients([(1.0, "not_first_line_imatinib", 13), (3.0, "primary_resistance", 2), (None, None, 45)]),
        STEPS,
        {"A": 40, "B": 3},
    )
    flow.insert(0, "endpoint", None)
    flow.insert(0, "analysis_id", "flowtest")
    return {"km_summary": summary, "cohort_flow": flow}


def test_no_small_count_of_the_flow_follows_from_the_published_ones_by_subtraction():
    """Written out by hand: the chain 60 = 13 + 47, 47 = 0 + 47, 47 = 2 + 45, 45 = 2 + 40 + 3 and each group's
    n = events + censored; the step that excludes nobody publishes its 0, as every other zero count."""
    out = suppress(_tables(), K)
    flow, summary = out["cohort_flow"], out["km_summary"]
    cells = [("flow", i) for i in range(len(flow))] + [
        ("km", i, c) for i in range(2) for c in ("n", "events", "censored")
    ]
    value = {("flow", i): int(flow.loc[i, "n"]) for i in range(len(flow))}
    hidden = {("flow", i) for i in range(len(flow)) if flow.loc[i, flag("n")]}
    for i in range(2):
        for c in ("n", "events", "censored"):
            value[("km", i, c)] = int(summary.loc[i, c])
            if summary.loc[i, flag(c)]:
                hidden.add(("km", i, c))
    # the flow rows in order: 0 registry, 1 excl, 2 cohort, 3 excl (0), 4 cohort, 5 excl, 6 cohort, 7 excl, 8 A, 9 B
    assert flow.loc[3, "reason"] == "no_progression" and value[("flow", 3)] == 0 and ("flow", 3) not in hidden
    identities = [
        {("flow", 0): 1, ("flow", 1): -1, ("flow", 2): -1},
        {("flow", 2): 1, ("flow", 3): -1, ("flow", 4): -1},
        {("flow", 4): 1, ("flow", 5): -1, ("flow", 6): -1},
        {("flow", 6): 1, ("flow", 7): -1, ("flow", 8): -1, ("flow", 9): -1},
        {("flow", 8): 1, ("km", 0, "n"): -1},
        {("flow", 9): 1, ("km", 1, "n"): -1},
        *({("km", i, "n"): 1, ("km", i, "events"): -1, ("km", i, "censored"): -1} for i in range(2)),
    ]
    assert all(sum(coef * value[c] for c, coef in identity.items()) == 0 for identity in identities)
    unknown = [c for c in cells if c in hidden]
    matrix = np.array([[identity.get(c, 0) for c in unknown] for identity in identities], dtype=float)
    small = [c for c in unknown if 0 < value[c] < K]
    assert {("flow", 5), ("flow", 7), ("flow", 9)} <= set(small)  # the two small exclusions and group B
    rank = np.linalg.matrix_rank(matrix)
    for c in small:
        unit = np.zeros(len(unknown))
        unit[unknown.index(c)] = 1
        assert np.linalg.matrix_rank(np.vstack([matrix, unit])) > rank, f"{c} = {value[c]} follows by subtraction"


# --- the flow views of the catalogue -------------------------------------------------------------------------

D = dt.date
CUTOFF = D(2025, 6, 30)
CATALOGUE = load_catalogue()
_THEN = re.compile(r"\bTHEN\s+'(\w+)'")
_CALLED = re.compile(r"\banalysis\.(\w+)\(")


def declared_steps() -> dict[str, list[str]]:
    """Each catalogue analysis's declared flow boxes (``analysis.<id>_flow_steps()``), from the built analysis layer."""
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, CUTOFF, K)
    run_layer(con, "core"), run_layer(con, "analysis")
    steps = {a.id: con.execute(f"SELECT analysis.{a.id}_flow_steps()").fetchone()[0] for a in CATALOGUE}
    con.close()
    return steps


def _statements() -> dict[str, str]:
    """Every analysis-layer statement by the name it creates (comments dropped)."""
    found = {}
    for path in model_files("analysis"):
        for statement in re.split(r"(?=CREATE OR REPLACE )", re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))):
            created = re.match(r"CREATE OR REPLACE \w+ analysis\.(\w+)", statement)
            if created:
                found[created.group(1)] = statement
    return found


def _reasons_in_sql(name: str, statements: dict[str, str]) -> list[str]:
    """The reasons a flow statement's CASE can give, in order: a shared macro it calls comes first
    (``coalesce(<its reason>, CASE ...)``), then its own."""
    text = statements[name]
    called = [c for c in _CALLED.findall(text) if c in statements and c != name]
    return [*(r for c in called for r in _reasons_in_sql(c, statements)), *_THEN.findall(text)]


def test_every_analysis_declares_its_flow_steps_in_the_order_its_case_gives_them_and_each_has_words():
    statements, steps = _statements(), declared_steps()
    for analysis in CATALOGUE:
        root, *reasons = steps[analysis.id]
        assert root.startswith("registry_") and labels.known("variables", root.removeprefix("registry_")), root
        assert _reasons_in_sql(f"{analysis.id}_flow", statements) == reasons, analysis.id
        assert len(set(reasons)) == len(reasons) and NOT_COMPARED not in reasons, analysis.id
        missing = [code for code in (root, *reasons, NOT_COMPARED) if not labels.known("flow", code)]
        assert missing == [], analysis.id


def test_a_flow_view_without_declared_steps_is_named(settings):
    con = duckdb.connect()
    create_registry(con)
    con.execute("CREATE VIEW analysis.surgery_on_tki_flow AS SELECT NULL AS excluded_step, NULL AS excluded_reason")
    with pytest.raises(CatalogueError, match=r"surgery_on_tki\.sql: analysis\.surgery_on_tki_flow needs"):
        analysis_flow(con, next(a for a in CATALOGUE if a.id == "surgery_on_tki"), pd.DataFrame())
    con.close()


LAST_CONTACT, DIAGNOSIS = D(2024, 1, 1), D(2015, 1, 1)


def _person(pid, gene, exon, *, last_contact=LAST_CONTACT, dead=False, diagnosis=DIAGNOSIS):
    return {
        "patient_id": pid,
        "sex": "female",
        "birth_year": 1960,
        "diagnosis_date": diagnosis,
        "primary_site": "stomach",
        "mutation_gene": gene,
        "mutation_exon": exon,
        "advanced_disease_date": D(2019, 12, 1),
        "tumour_count": 2,
        "largest_tumour_mm": 40.0,
        "last_contact_date": last_contact,
        "vital_status": "dead" if dead else "alive",
        "death_date": last_contact if dead else None,
    }


def _course(pid, line, agent, dose, start, end, reason, response="PR"):
    keys = ("patient_id", "line", "agent", "daily_dose_mg", "start_date", "end_date", "end_reason", "best_response")
    return dict(zip(keys, (pid, line, agent, dose, start, end, reason, response), strict=True))


def _operation(pid, date, intent, status, continued=None):
    keys = ("patient_id", "surgery_date", "intent", "disease_status", "resection", "tki_continued")
    return dict(zip(keys, (pid, date, intent, status, "R0", continued), strict=True))


# Ten patients, each written to leave the cohorts at a known step (none of them a shape the generator draws:
# follow-up ending before imatinib starts, a diagnosis after the last contact, an operation off every TKI).
FLOW_TABLES = {
    "patients": [
        _person("P_NONE", "KIT", 11),  # never on a TKI
        _person("P_SUN1", "SDH_deficient", None),  # first line sunitinib, progressing on it
        _person("P_PD", "KIT", 11),  # primary resistance to imatinib
        _person("P_EX9", "KIT", 9),  # exon 9 on 600 mg (no compared dose); a primary resection on imatinib
        _person("P_DIED", "KIT", 11, last_contact=D(2020, 6, 1), dead=True),  # died at month 5, no progression
        _person("P_LOST", "KIT", 11, last_contact=D(2020, 9, 1)),  # last seen at month 8
        _person("P_OP", "KIT", 11),  # cytoreductive surgery on imatinib at month 7, and a primary resection in 2018
        _person("P_LATER", "KIT", 11),  # switched to sunitinib at month 4, operated on it, progressing on it
        _person("P_INTEARLY", "KIT", 11),  # imatinib interrupted at month 9, operated off any TKI
        _person("P_BADFU", "KIT", 11, last_contact=D(2020, 12, 1), diagnosis=D(2021, 2, 1)),  # follow-up ends first
    ],
    "tki_episodes": [
        _course("P_SUN1", 1, "sunitinib", 50, D(2020, 1, 1), D(2020, 6, 1), "progression", "SD"),
        _course("P_PD", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 4, 15), "progression", "PD"),
        _course("P_PD", 2, "sunitinib", 50, D(2020, 4, 20), None, "ongoing"),
        _course("P_EX9", 1, "imatinib", 600, D(2020, 1, 1), None, "ongoing"),
        _course("P_DIED", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 6, 1), "death", "SD"),
        _course("P_LOST", 1, "imatinib", 400, D(2020, 1, 1), None, "ongoing"),
        _course("P_OP", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 7, 20), "surgery"),
        _course("P_OP", 1, "imatinib", 400, D(2020, 8, 20), None, "ongoing"),
        _course("P_LATER", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 5, 1), "toxicity"),
        _course("P_LATER", 2, "sunitinib", 50, D(2020, 5, 10), None, "ongoing"),
        _course("P_INTEARLY", 1, "imatinib", 400, D(2020, 1, 1), D(2020, 10, 1), "planned_interruption"),
        _course("P_INTEARLY", 1, "imatinib", 400, D(2021, 3, 1), None, "ongoing"),
        _course("P_BADFU", 1, "imatinib", 400, D(2021, 1, 1), None, "ongoing"),
    ],
    "surgeries": [
        _operation("P_OP", D(2018, 6, 1), "primary_resection", None),
        _operation("P_OP", D(2020, 8, 1), "cytoreductive", "responsive", continued=True),
        _operation("P_LATER", D(2021, 3, 1), "salvage", None),
        _operation("P_INTEARLY", D(2021, 1, 15), "cytoreductive", "stable"),
        _operation("P_EX9", D(2022, 1, 1), "primary_resection", "stable"),
        _operation("P_BADFU", D(2021, 6, 1), "cytoreductive", "responsive", continued=True),
    ],
    "progressions": [
        {"patient_id": "P_SUN1", "progression_date": D(2020, 5, 20), "pattern": "focal"},
        {"patient_id": "P_PD", "progression_date": D(2020, 4, 1), "pattern": "multifocal"},
        {"patient_id": "P_LATER", "progression_date": D(2021, 6, 1), "pattern": "focal"},
    ],
    "samples": [
        {"patient_id": "P_OP", "sample_id": "S1", "sample_type": "primary"},
        {"patient_id": "P_OP", "sample_id": "S2", "sample_type": "metastasis"},
        {"patient_id": "P_PD", "sample_id": "S3", "sample_type": "recurrence"},
        {"patient_id": "P_EX9", "sample_id": "S4", "sample_type": None},
        {"patient_id": "P_BADFU", "sample_id": "S5", "sample_type": "metastasis"},
    ],
}
NFL, NOFU = "not_first_line_imatinib", "no_follow_up_after_origin"
IMATINIB_COHORT = {"P_NONE": NFL, "P_SUN1": NFL, "P_PD": None, "P_EX9": None, "P_DIED": None, "P_LOST": None}
IMATINIB_COHORT |= {"P_OP": None, "P_LATER": None, "P_INTEARLY": None, "P_BADFU": NOFU}
OPERATIONS = {
    "P_OP@2018-06-01": "not_advanced_disease",
    "P_OP@2020-08-01": None,
    "P_LATER@2021-03-01": None,
    "P_INTEARLY@2021-01-15": "not_on_imatinib_or_sunitinib",
    "P_EX9@2022-01-01": "primary_resection",
    "P_BADFU@2021-06-01": NOFU,
}
NO_SURGERY = "no_surgery_on_first_line_imatinib"
EXPECTED = {
    "surgery_after_imatinib": IMATINIB_COHORT | {"P_PD": "primary_resistance"},
    "mutation": IMATINIB_COHORT,
    "mutation_exon9_dose": {p: r or "not_kit_exon9" for p, r in IMATINIB_COHORT.items() if r != NOFU}
    | {"P_EX9": None, "P_BADFU": "not_kit_exon9"},
    "postop_tki": {p: r or NO_SURGERY for p, r in IMATINIB_COHORT.items()} | {"P_OP": None},
    "imatinib_interruption": {
        "P_NONE": NFL,
        "P_SUN1": NFL,
        "P_PD": "progression_before_landmark",
        "P_EX9": None,
        "P_DIED": "death_before_landmark",
        "P_LOST": "follow_up_ended_before_landmark",
        "P_OP": "surgery_before_landmark",
        "P_LATER": "later_line_before_landmark",
        "P_INTEARLY": "interruption_before_landmark",
        "P_BADFU": "follow_up_ended_before_landmark",
    },
    "progression_pattern": dict.fromkeys(IMATINIB_COHORT, "no_progression")
    | {"P_SUN1": "first_line_not_imatinib", "P_PD": None, "P_LATER": "first_progression_not_on_first_line"},
    "surgery_on_tki": OPERATIONS,
    "status_at_surgery": OPERATIONS | {"P_LATER@2021-03-01": "no_disease_status"},
    "os_by_sample_type": {
        "site:S1": None,
        "site:S2": None,
        "site:S3": None,
        "site:S4": "no_sample_type",
        "site:S5": NOFU,
    },
}


@pytest.fixture(scope="module")
def hand_built():
    connection = sql_registry(FLOW_TABLES, CUTOFF)
    yield connection
    connection.close()


@pytest.mark.parametrize("analysis", CATALOGUE, ids=lambda a: a.id)
def test_each_flow_view_sends_each_hand_built_unit_out_at_the_step_known_by_hand(hand_built, analysis):
    con, expected = hand_built, EXPECTED[analysis.id]
    view = f"analysis.{analysis.id}_flow"
    key = "subject_id" if "subject_id" in {c for c, *_ in con.execute(f"DESCRIBE {view}").fetchall()} else "patient_id"
    rows = con.execute(f"SELECT {key}::VARCHAR, excluded_reason, excluded_step FROM {view}").fetchall()
    assert {unit: reason for unit, reason, _ in rows} == expected and len(rows) == len(expected)
    steps = con.execute(f"SELECT analysis.{analysis.id}_flow_steps()").fetchone()[0]
    assert all(step == (steps.index(reason) if reason else None) for _, reason, step in rows)
    kept = con.execute(f"SELECT DISTINCT subject_id::VARCHAR FROM analysis.{analysis.id}").fetchall()
    assert sorted(s for (s,) in kept) == sorted(u for u, r in expected.items() if r is None)  # the frame's subjects


def test_the_counts_of_a_hand_built_flow_show_every_step_with_its_zero(hand_built):
    analysis = next(a for a in CATALOGUE if a.id == "imatinib_interruption")
    summary = pd.DataFrame(
        [{"endpoint": "PFS", "group": "continued", "n": 1}, {"endpoint": "PFS", "group": "interruption", "n": 0}]
    )
    flow = analysis_flow(hand_built, analysis, summary)
    excluded = flow[flow["kind"] == "excluded"]
    assert dict(zip(excluded["reason"], excluded["n"], strict=True)) == {
        NFL: 2,
        "progression_before_landmark": 1,
        "death_before_landmark": 1,
        "follow_up_ended_before_landmark": 2,
        "surgery_before_landmark": 1,
        "later_line_before_landmark": 1,
        "interruption_before_landmark": 1,
        NOFU: 0,
        NOT_COMPARED: 0,
    }
    assert flow["n"].iloc[0] == 10 and flow.loc[flow["kind"] == "cohort", "n"].iloc[-1] == 1


@pytest.mark.parametrize("analysis", CATALOGUE, ids=lambda a: a.id)
def test_on_the_sample_registry_each_flow_keeps_the_frames_subjects_and_ends_in_the_analysed_n(registry, analysis):
    con, _ = registry
    view, frame = f"analysis.{analysis.id}_flow", f"analysis.{analysis.id}"
    key = "subject_id" if "subject_id" in {c for c, *_ in con.execute(f"DESCRIBE {view}").fetchall()} else "patient_id"
    kept = f"SELECT site_id, {key}::VARCHAR FROM {view} WHERE excluded_reason IS NULL"
    subjects = f"SELECT site_id, subject_id::VARCHAR FROM {frame}"
    assert con.execute(f"{kept} EXCEPT {subjects}").fetchall() == []
    assert con.execute(f"{subjects} EXCEPT {kept}").fetchall() == []
    # the frame's own rule sends out exactly the subjects view's rows the frame left out
    (given,) = con.execute(f"SELECT count(*) FROM analysis.{analysis.id}_subjects").fetchone()
    (framed,) = con.execute(f"SELECT count(DISTINCT (site_id, subject_id)) FROM {frame}").fetchone()
    (sent,) = con.execute(f"SELECT count(*) FROM {view} WHERE excluded_reason = ?", [NOFU]).fetchone()
    assert sent == given - framed
    # the published chain: every declared step with the view's count (0 included), ending in the groups' n
    rows = con.execute(
        'SELECT kind, reason, "group", n FROM results.cohort_flow WHERE analysis_id = ? '
        "ORDER BY step, kind = 'cohort', kind = 'analysed'",
        [analysis.id],
    ).fetchall()
    by_reason = dict(con.execute(f"SELECT excluded_reason, count(*) FROM {view} GROUP BY ALL").fetchall())
    steps = con.execute(f"SELECT analysis.{analysis.id}_flow_steps()").fetchone()[0]
    excluded = [(reason, n) for kind, reason, _, n in rows if kind == "excluded"]
    assert excluded[:-1] == [(reason, by_reason.get(reason, 0)) for reason in steps[1:]]
    assert rows[0][3] == sum(by_reason.values())
    (first,) = analysis.endpoints[:1]
    (analysed,) = con.execute(
        "SELECT coalesce(sum(n), 0) FROM results.km_summary WHERE analysis_id = ? AND endpoint = ?",
        [analysis.id, first],
    ).fetchone()
    (outside,) = con.execute(
        f"SELECT count(*) FROM {frame} WHERE paramcd = ? AND NOT list_contains(?, group_label)",
        [first, list(analysis.groups)],
    ).fetchone()
    last_cohort = [n for kind, _, _, n in rows if kind == "cohort"][-1]
    assert excluded[-1] == (NOT_COMPARED, outside) and last_cohort - outside == analysed
    assert sum(n for kind, _, _, n in rows if kind == "analysed") == analysed


def test_every_declared_step_of_every_analysis_is_drawn_in_words_never_as_its_code():
    """Each analysis's declared boxes (one unit leaving at each step) through the published view into the report's flow."""
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, CUTOFF, K)
    run_layer(con, "results")
    steps = declared_steps()
    for analysis in CATALOGUE:
        root, *reasons = steps[analysis.id]
        units = _patients(
            [*((float(i), r, 1) for i, r in enumerate(reasons, 1)), (None, None, 2 * len(analysis.groups))]
        )
        flow = cohort_flow(units, steps[analysis.id], dict.fromkeys(analysis.groups, 2))
        insert_results(
            con,
            "cohort_flow",
            [row | {"analysis_id": analysis.id, "n_suppressed": False} for row in flow.to_dict("records")],
        )
        drawn = report_flow(con, analysis, K)
        texts = [
            drawn.unit,
            *(s.label for s in drawn.steps),
            *(e[0] for s in drawn.steps if s.excluded for e in [s.excluded]),
        ]
        texts += [label for label, _ in drawn.analysed + drawn.excluded]
        assert len(drawn.steps) == len(reasons) + 1 and all(s.excluded for s in drawn.steps[1:]), analysis.id
        codes = {root, *reasons, NOT_COMPARED}
        # a code shown as itself or with its underscores as spaces (the label catalogue's fallback for a missing word)
        assert [t for t in texts if "_" in t or t in codes or t.replace(" ", "_") in codes] == [], analysis.id
        assert drawn.steps[1].label == f"{labels.variable(root.removeprefix('registry_'))} remaining", analysis.id
    con.close()
