"""Disclosure control, tested by an attacker who sees only what is published.

A hand-made cohort with known small counts (a group of 3, 3 censored of 40, 2 events between two
landmarks, 1 man among 10 known sexes, 2 missing, ...) goes through the real pipeline code
(run_analysis, the results SQL layer, the report, the plot).  The attacker then:

* learns, without being told, every linear identity between the published counts: the same
  analysis is run on 160 random cohorts of the same design without suppression (and, to make it
  stronger than a real attacker, on the target's true counts), and the null space
  of the matrix (cohorts x published cells) is exactly the set of linear relations that hold on every
  cohort (n = events + censored, (all) = sum of groups, the same count in two views, ...);
* solves those identities for the withheld cells of the target (rank test, then the value), and
  fails on any withheld count that is determined and below the threshold;
* learns which differences of two cells are always >= 0 (one count nested in another: events by 6
  and by 12 months, at risk at two ticks, a model's n inside the group's) and fails when such a
  difference is determined and from 1 to k - 1 (differencing along time or between views);
* bounds every withheld cell by linear programming (withheld counts are never 0, differences of
  nested counts are >= 0) and fails when the bounds pin a small count;
* checks percent x n, a proportion and its exact CI, and the printed texts (report HTML, plot labels,
  limits footnote) for exact small counts.
"""

from __future__ import annotations

import dataclasses
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import pipelines.analyses as analyses
import pipelines.stats.binary as binary
from pipelines.analyses import run_analysis
from pipelines.catalogue import Analysis, BinaryOutcome
from pipelines.disclosure import MARK, suppress
from pipelines.registry.ddl import create_registry
from pipelines.registry.results import replace_catalogue
from pipelines.report import render_report
from pipelines.sql_models import define_settings, run_layer
from pipelines.stats import EndpointResults

pytestmark = pytest.mark.slow  # 160 cohorts through the real pipeline (~70 s): the full tier (CI)

K = 5
ANALYSIS = Analysis(
    id="attack",
    title="Disclosure attack",
    seed="000",
    endpoints=("OS",),
    groups=("A", "B", "C"),
    reference="A",
    covariates=("sex",),
    characteristics=("sex", "size_mm"),
    landmarks=(6.0, 12.0),
    binary_outcome=BinaryOutcome("OS", 12.0),
    exposure="surgery_months",
    exposure_landmarks=(6.0,),
    confounders_not_held="everything",
)
COUNT_HEADERS = {
    "n",
    "Events",
    "At risk",
    "Events so far",
    "Observed",
    "Outcome unknown",
    "Missing",
    "A",
    "B",
    "C",
    "(all)",
}
LAST = 30.0  # every cohort's longest follow-up (a censored subject of A), so every cohort has the same plot ticks
# (view, key columns, count columns): what is published, cell by cell
VIEWS = {
    "v_survival_summary": (("endpoint", "group"), ("n", "events", "censored"), "true"),
    "v_survival_at_landmarks": (("endpoint", "group", "time_months"), ("n_at_risk", "n_events"), "true"),
    "v_logrank": (("endpoint", "group"), ("n", "observed"), "true"),
    "v_hazard_ratios": (("endpoint", "source", "model"), ("n", "events", "n_excluded_missing"), "true"),
    "v_binary_outcomes": (("endpoint", "within_months", "group"), ("n", "n_missing", "events"), "true"),
    "v_table_one": (("variable", "level", "group"), ("count",), "kind = 'categorical'"),
    "v_table_one ": (
        ("variable", "group"),
        ("n", "n_missing"),
        "true",
    ),  # per variable and group (repeated on each level)
    "v_numbers_at_risk": (("endpoint", "group", "time_months"), ("n_at_risk",), "true"),
}


def _subject(group, time, event, sex, size, surgery=None):
    return {
        "group_label": group,
        "aval": time,
        "cnsr": 1 - event,
        "sex": sex,
        "size_mm": size,
        "surgery_months": surgery,
    }


def target_cohort() -> pd.DataFrame:
    """The cohort attacked, with the small counts it must not give away (k = 5)."""
    rows = []
    # A: 40 subjects, 37 events (30 before 6 months, 2 between 6 and 12, 5 after), 3 censored (small)
    for i in range(30):
        rows.append(_subject("A", 0.2 + 0.18 * i, 1, "male" if i % 2 else "female", 50.0 + i))
    rows += [_subject("A", t, 1, "female", 60.0, surgery=t - 3.0) for t in (7.0, 9.0)]
    rows += [_subject("A", t, 1, "male", 61.0 + t, surgery=t / 2) for t in (13.0, 14.5, 16.0, 18.0, 20.0)]
    rows += [_subject("A", t, 0, "male", None) for t in (25.0, 27.0)]
    rows.append(_subject("A", LAST, 0, "female", None))
    # B: 3 subjects (small n): 2 events, 1 censored before 12 months
    rows += [
        _subject("B", 2.0, 1, "male", 40.0),
        _subject("B", 4.0, 1, "female", 41.0),
        _subject("B", 8.0, 0, "female", 42.0),
    ]
    # C: 12 subjects: 1 man, 9 women, 2 of unknown sex; 6 events; 2 censored before 12 months
    sexes = ["male"] + ["female"] * 9 + [None, None]
    times = [
        (1.0, 1),
        (2.0, 1),
        (3.0, 1),
        (4.0, 1),
        (5.0, 1),
        (14.0, 1),
        (10.0, 0),
        (11.0, 0),
        (15.0, 0),
        (18.0, 0),
        (20.0, 0),
        (22.0, 0),
    ]
    rows += [
        _subject("C", t, e, s, 70.0 + i, surgery=t / 3 if i % 3 == 0 else None)
        for i, ((t, e), s) in enumerate(zip(times, sexes, strict=True))
    ]
    return pd.DataFrame(rows)


def random_cohort(rng: np.random.Generator) -> pd.DataFrame:
    """A cohort of the same design (groups, levels, landmarks, last follow-up) with random counts.

    Sizes, event rates, the shape of follow-up, exposure and missingness vary by cohort and group, so
    that an ordering or identity that holds on every cohort holds because of what the counts are.
    """
    rows = [
        _subject("A", LAST, 0, "female", 50.0, 2.0),
        _subject("A", 1.0 + rng.random(), 1, "male", 51.0),
        _subject("A", 8.0 + rng.random(), 1, "female", 52.0, 7.0),
        _subject("A", 9.0 + rng.random(), 1, "male", 53.0),
    ]
    for group in ANALYSIS.groups:
        events, shape = rng.uniform(0.05, 0.95), rng.uniform(0.3, 3, 2)
        exposed, missing, men = rng.uniform(0, 0.8), rng.uniform(0, 0.4), rng.uniform(0.1, 0.9)
        for _ in range(int(rng.integers(1, 25))):
            sex = None if rng.random() < missing else ("male" if rng.random() < men else "female")
            size = None if rng.random() < missing else float(rng.normal(60, 15))
            time = float(0.05 + (LAST - 0.6) * rng.beta(*shape))
            surgery = float(rng.uniform(0, time)) if rng.random() < exposed else None
            rows.append(_subject(group, time, int(rng.random() < events), sex, size, surgery))
    return pd.DataFrame(rows)


def _load(con: duckdb.DuckDBPyConnection, cohort: pd.DataFrame) -> None:
    frame = cohort.assign(
        subject_id=[f"s{i}" for i in range(len(cohort))], patient_id=[f"p{i}" for i in range(len(cohort))], paramcd="OS"
    )
    con.register("_cohort", frame)
    con.execute("CREATE OR REPLACE TABLE analysis.attack AS SELECT * FROM _cohort")
    con.unregister("_cohort")


def published_cells(con: duckdb.DuckDBPyConnection) -> dict[tuple, object]:
    """Every count the views publish, by (view, keys, column): its value, or None where withheld."""
    cells: dict[tuple, object] = {}
    for view, (keys, columns, where) in VIEWS.items():
        selected = ", ".join([*(f'"{k}"' for k in keys), *columns])
        rows = con.execute(
            f"SELECT DISTINCT {selected} FROM published.{view.strip()} WHERE analysis_id = 'attack' AND {where} ORDER BY ALL"
        ).fetchall()  # ordered: the same cells in the same order in every run, so the identities' basis is the same
        for row in rows:
            for column, value in zip(columns, row[len(keys) :], strict=True):
                key = (view.strip(), *row[: len(keys)], column)
                assert key not in cells, f"two values for {key}"
                cells[key] = value
    return cells


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    """The target published with k = 5, its true counts, and the cells of 160 random cohorts without suppression."""
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("attack"))
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, settings.data_cutoff, K)
    with pytest.MonkeyPatch.context() as patch:  # the learning runs skip the plots and the slow Monte Carlo p
        patch.setattr(analyses, "_plots", lambda *args, **kwargs: {})
        patch.setattr(binary, "MONTE_CARLO_RESAMPLES", 99)
        open_settings = dataclasses.replace(settings, min_cell_count=1)
        _load(con, target_cohort())
        run_analysis(con, ANALYSIS, open_settings)
        replace_catalogue(con, [ANALYSIS])
        run_layer(con, "results")
        truth = published_cells(con)
        rng = np.random.default_rng(2024)
        learned = []
        while len(learned) < 160:
            _load(con, random_cohort(rng))
            run_analysis(con, ANALYSIS, open_settings)
            cells = published_cells(con)
            if set(cells) == set(truth):  # the same design (every level present): the same cells
                learned.append([cells[key] for key in truth])
    _load(con, target_cohort())
    run_analysis(con, ANALYSIS, settings)
    published = published_cells(con)
    assert set(published) == set(truth)
    # the target's own true counts join the learning rows: what the attacker learns then holds on the target
    # too (an identity or ordering true on 160 cohorts but not on this one would only mislead it)
    learned.append([truth[key] for key in truth])
    yield con, settings, truth, published, np.array(learned, dtype=float)
    con.close()


def _relations(learned: np.ndarray) -> np.ndarray:
    """Every linear identity sum(c_i x_i) = 0 that holds on all learning cohorts (rows: a basis)."""
    _, singular, vt = np.linalg.svd(learned)
    rank = int((singular > 1e-8 * singular.max()).sum())
    return vt[rank:]


def _solve(
    relations: np.ndarray, names: list[tuple], published: dict[tuple, object], vector: np.ndarray
) -> float | None:
    """The value of vector . x if the published cells and the identities determine it, else None."""
    hidden = np.array([published[n] is None for n in names])
    known = np.array([0.0 if published[n] is None else float(published[n]) for n in names])
    a_h, rhs = relations[:, hidden], -relations[:, ~hidden] @ known[~hidden]
    target = vector[hidden]
    if not target.any():
        return float(vector @ known)
    # determined iff the hidden part of the vector is a combination of the identities' hidden parts
    coef, *_ = np.linalg.lstsq(a_h.T, target, rcond=None)
    if np.abs(a_h.T @ coef - target).max() > 1e-6:
        return None
    return float(coef @ rhs + vector[~hidden] @ known[~hidden])


def test_the_target_has_the_small_counts_it_should(attack):
    _, _, truth, published, _ = attack
    small = {key for key, value in truth.items() if 0 < value < K}
    assert len(small) >= 10 and all(published[key] is None for key in small)
    assert truth[("v_survival_summary", "OS", "B", "n")] == 3
    assert truth[("v_survival_summary", "OS", "A", "censored")] == 3
    assert truth[("v_table_one", "sex", "male", "C", "count")] == 1


def test_no_withheld_small_count_follows_from_the_identities(attack):
    _, _, truth, published, learned = attack
    names = list(truth)
    relations = _relations(learned)
    assert len(relations) >= 30  # n = events + censored, sums over groups and levels, repeated cells, ...
    recovered = {}
    for i, name in enumerate(names):
        if published[name] is None and 0 < truth[name] < K:
            value = _solve(relations, names, published, np.eye(len(names))[i])
            if value is not None and round(value) == truth[name]:
                recovered[name] = truth[name]
    assert not recovered, f"withheld counts recovered by arithmetic on published ones: {recovered}"


def _nested_pairs(learned: np.ndarray) -> list[tuple[int, int]]:
    """(i, j) with cell i >= cell j on every learning cohort and i != j on some: j is nested in i."""
    diff = learned[:, :, None] - learned[:, None, :]
    always = (diff >= 0).all(axis=0) & (diff > 0).any(axis=0)
    return [(i, j) for i, j in zip(*np.nonzero(always), strict=True)]


def test_no_small_difference_of_nested_counts_is_published(attack):
    """Differencing: events by 12 minus by 6 months, at risk at two ticks, a group's n minus a model's, ..."""
    _, _, truth, published, learned = attack
    names = list(truth)
    relations = _relations(learned)
    pairs = _nested_pairs(learned)
    assert len(pairs) > 50
    found = {}
    for i, j in pairs:
        true = truth[names[i]] - truth[names[j]]
        if 0 < true < K:
            vector = np.zeros(len(names))
            vector[i], vector[j] = 1, -1
            value = _solve(relations, names, published, vector)
            if value is not None and round(value) == true:
                found[(names[i], names[j])] = true
    assert not found, f"small differences of published counts: {found}"


def test_bounds_do_not_pin_a_withheld_small_count(attack):
    """Linear programming over the identities: withheld counts are >= 1, nested differences >= 0."""
    _, _, truth, published, learned = attack
    names = list(truth)
    relations = _relations(learned)
    hidden = [i for i, n in enumerate(names) if published[n] is None]
    known = np.array([0.0 if published[n] is None else float(published[n]) for n in names])
    column = {i: c for c, i in enumerate(hidden)}
    others = [i for i in range(len(names)) if i not in column]
    a_eq = relations[:, hidden]
    b_eq = -relations[:, others] @ known[others]
    # the identities are a floating-point basis (SVD): hold them to a tolerance far below one count, so that
    # rounding in the basis never makes the system look infeasible
    tolerance = 1e-6 * np.maximum(1.0, np.abs(b_eq))
    a_ub, b_ub = [*a_eq, *-a_eq], [*(b_eq + tolerance), *(tolerance - b_eq)]
    for i, j in _nested_pairs(learned):  # x_j - x_i <= 0
        if i in column or j in column:
            row = np.zeros(len(hidden))
            bound = 0.0
            for index, sign in ((j, 1.0), (i, -1.0)):
                if index in column:
                    row[column[index]] += sign
                else:
                    bound -= sign * known[index]
            a_ub.append(row)
            b_ub.append(bound)
    pinned, unsolved = {}, []
    for i in hidden:
        if not 0 < truth[names[i]] < K:
            continue
        objective = np.zeros(len(hidden))
        objective[column[i]] = 1
        ends = [
            linprog(
                sign * objective,
                A_ub=np.array(a_ub),
                b_ub=np.array(b_ub),
                bounds=[(1, None)] * len(hidden),
                method="highs",
            )
            for sign in (1, -1)
        ]
        if any(e.status != 0 for e in ends):  # a learned identity that does not hold here: no bound from it
            unsolved.append(names[i])
            continue
        low, high = ends[0].fun, -ends[1].fun
        if np.ceil(low - 1e-6) >= np.floor(high + 1e-6) and round(low) == truth[names[i]]:
            pinned[names[i]] = (low, high, truth[names[i]])
    assert not pinned, f"withheld small counts pinned by bounds: {pinned}"
    assert not unsolved, f"bounds not found (inconsistent identities?) for {unsolved}"


def test_rates_and_percentages_do_not_give_counts_back(attack):
    con = attack[0]
    leaks = con.execute(
        "SELECT variable, level, \"group\" FROM published.v_table_one WHERE analysis_id = 'attack' "
        "AND percent IS NOT NULL AND (count IS NULL OR n IS NULL)"
    ).fetchall()
    assert not leaks  # percent x n = count
    leaks = con.execute(
        "SELECT \"group\" FROM published.v_binary_outcomes WHERE analysis_id = 'attack' AND "
        "(events IS NULL OR n IS NULL) AND (proportion IS NOT NULL OR lower IS NOT NULL OR upper IS NOT NULL)"
    ).fetchall()
    assert not leaks  # proportion x n = events; Clopper-Pearson limits identify events and n
    leaks = con.execute(
        "SELECT variable FROM published.v_table_one WHERE analysis_id = 'attack' AND kind = 'categorical' "
        "AND p IS NOT NULL AND (count IS NULL OR n IS NULL OR n_missing IS NULL)"
    ).fetchall()
    assert not leaks  # an exact test's p, matched over the tables that fit the margins
    small = con.execute(
        "SELECT DISTINCT \"group\" FROM published.v_table_one WHERE analysis_id = 'attack' AND "
        "kind = 'continuous' AND n IS NULL AND (median IS NOT NULL OR max IS NOT NULL)"
    ).fetchall()
    assert not small  # a small group's median and range are its patients' own values


def test_flags_say_withheld_per_column_and_never_mark_a_shown_count(attack):
    con = attack[0]
    for view, (_, columns, where) in VIEWS.items():
        for column in columns:
            bad = con.execute(
                f"SELECT count(*) FROM published.{view.strip()} WHERE analysis_id = 'attack' AND {where} "
                f"AND ({column} IS NULL) <> {column}_suppressed"
            ).fetchone()[0]
            assert bad == 0, (view, column)
    assert "suppressed" not in {
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'published' AND starts_with(table_name, 'v_')"
        ).fetchall()
    }


def test_printed_outputs_carry_no_exact_small_count(attack):
    con, settings, _, _, _ = attack
    from pipelines.analyses import _published
    from pipelines.stats import km_figure

    report = render_report(con, [ANALYSIS], settings)
    printed = []
    for table in re.findall(r"<table>.*?</table>", report, flags=re.S):
        header = re.findall(r"<th>([^<]*)</th>", table)
        for row in re.findall(r"<tr>(<td>.*?)</tr>", table, flags=re.S):
            for name, value in zip(header, re.findall(r"<td>([^<]*)</td>", row), strict=True):
                if name in COUNT_HEADERS and re.match(r"\d", value):  # a count, or Table 1's "count (percent%)"
                    printed.append((name, int(re.match(r"[\d,]+", value).group().replace(",", ""))))
    assert len(printed) > 10
    assert not [p for p in printed if 0 < p[1] < K], "a small count in a report table"
    assert MARK in report and "&lt;5" not in report
    # the limits and the plot footnote: groups with fewer than 10 events, without exact small counts
    limits = con.execute(
        "SELECT few_events_groups, footnote FROM published.v_limits WHERE analysis_id = 'attack'"
    ).fetchone()
    assert limits[0] and "B (supp.)" in limits[0] and not re.search(r"\(([1-4])\)", limits[0])
    # the figures, drawn as the pipeline draws them, from the suppressed tables
    tables = {
        name: con.execute(f"SELECT * FROM results.{name} WHERE analysis_id = 'attack'").df()
        for name in (*EndpointResults.__dataclass_fields__, "km_at_risk")
    }
    results = _published(tables, "OS")
    figure = km_figure(None, results, min_cell_count=K, at_risk=tables["km_at_risk"], footnote=limits[1])
    texts = [t.get_text() for t in figure.axes[0].texts] + [
        t.get_text() for t in figure.axes[0].get_legend().get_texts()
    ]
    small_printed = [t for t in texts if re.fullmatch(r"\d+", t) and 0 < int(t) < K]
    assert not small_printed, f"small numbers at risk printed: {small_printed}"
    legend = " ".join(t.get_text() for t in figure.axes[0].get_legend().get_texts())
    assert not re.search(r"(n|events)=[1-4]\b", legend), legend
    assert "B (n=supp., events=supp.)" in legend
    from pipelines.stats import forest_figure

    for model in ("univariable", "multivariable"):  # the forest plot's title: the model's n and events
        title = forest_figure(results.cox, model=model).axes[0].get_title()
        assert not re.search(r"(n|events)=[1-4]\b", title) and "?" not in title, title


def test_unflagged_tables_are_suppressed_when_inserted_directly():
    """Rows written straight into results tables by hand: the decision, then the views, on their own."""
    keys = {"analysis_id": "hand", "endpoint": "OS"}
    summary = pd.DataFrame(
        [
            {**keys, "group": "x", "n": 20, "events": 18, "censored": 2},
            {**keys, "group": "y", "n": 9, "events": 9, "censored": 0},
        ]
    )
    flagged = suppress({"km_summary": summary}, K)["km_summary"]
    row = flagged.iloc[0]
    assert row["censored_suppressed"] and (row["events_suppressed"] or row["n_suppressed"])  # n = events + censored
    assert not flagged.iloc[1][["n_suppressed", "events_suppressed", "censored_suppressed"]].any()
    con = duckdb.connect()
    create_registry(con)
    define_settings(con, None, K)
    con.register("_flagged", flagged)
    con.execute(
        "CREATE OR REPLACE TABLE results.km_summary AS SELECT *, 1.0 AS median, 1.0 AS median_lower, 1.0 AS median_upper, "
        "true AS median_reached, false AS few_events, 'log-log' AS ci_transform FROM _flagged"
    )
    for table in ("km_landmarks", "km_at_risk", "logrank"):
        con.execute(f'CREATE OR REPLACE TABLE results.{table} (analysis_id VARCHAR, endpoint VARCHAR, "group" VARCHAR)')
    con.execute(
        'CREATE OR REPLACE TABLE results.km_curve (analysis_id VARCHAR, endpoint VARCHAR, "group" VARCHAR, time DOUBLE, '
        "n_at_risk BIGINT, survival DOUBLE, lower DOUBLE, upper DOUBLE, ci_transform VARCHAR)"
    )
    for name in ("00_suppression.sql", "05_design_labels.sql", "10_v_survival_summary.sql"):
        con.execute(open(f"sql/results/{name}").read())
    rows = con.execute('SELECT "group", n, events, censored FROM published.v_survival_summary ORDER BY 1').fetchall()
    x = rows[0]
    assert x[3] is None and sum(v is None for v in x[1:]) >= 2 and rows[1] == ("y", 9, 9, 0)
    # a table written without flags still gets primary suppression from the SQL fallback
    con.execute("ALTER TABLE results.km_summary DROP COLUMN censored_suppressed")
    con.execute("ALTER TABLE results.km_summary ADD COLUMN censored_suppressed BOOLEAN")
    assert con.execute(
        "SELECT censored, censored_suppressed FROM published.v_survival_summary WHERE \"group\" = 'x'"
    ).fetchone() == (None, True)


@pytest.mark.parametrize("k", [2, 3, 11])
def test_other_thresholds_hold_on_a_row(k):
    """n = events + censored with small parts at any threshold: never exactly one withheld count in the row."""
    rng = np.random.default_rng(k)
    for _ in range(200):
        events, censored = (int(v) for v in rng.integers(0, 3 * k, 2))
        frame = pd.DataFrame(
            [
                {
                    "analysis_id": "r",
                    "endpoint": "OS",
                    "group": "g",
                    "n": events + censored,
                    "events": events,
                    "censored": censored,
                }
            ]
        )
        row = suppress({"km_summary": frame}, k)["km_summary"].iloc[0]
        hidden = [c for c in ("n", "events", "censored") if row[f"{c}_suppressed"]]
        assert len(hidden) != 1, (events, censored, hidden)
        values = {c: row[c] for c in ("n", "events", "censored")}
        assert all(not 0 < values[c] < k for c in values if c not in hidden)
        if set(hidden) == {"events", "censored"}:  # n published: both >= 1 withheld, not both pinned to 1
            assert values["n"] > 2


def test_units_rows_of_an_operation_level_table_one_withhold_a_small_patient_count():
    """Table 1 of operations: 12 operations of 3 patients in group y are published as operations, the 3 patients
    withheld (n and count alike); the patients of the groups need not add up to (all), so nothing is derived."""
    from pipelines.stats import table_one

    frame = pd.DataFrame(
        {
            "group": ["x"] * 20 + ["y"] * 12,
            "patient_id": [f"p{i}" for i in range(20)] + ["q1"] * 5 + ["q2"] * 4 + ["q3"] * 3,
            "sex": ["male", "female"] * 16,
        }
    )
    table = table_one(frame, ["sex"], groups=["x", "y"], cluster="patient_id").assign(analysis_id="hand", endpoint=None)
    summary = pd.DataFrame(
        [
            {"analysis_id": "hand", "endpoint": "OS", "group": g, "n": n, "events": n // 2, "censored": n - n // 2}
            for g, n in (("x", 20), ("y", 12))
        ]
    )
    flagged = suppress({"km_summary": summary, "table_one": table}, K)["table_one"]
    flagged = flagged.query("kind == 'units'").set_index(["variable", "group"])
    assert flagged.loc[("patients", "y"), ["n_suppressed", "count_suppressed"]].tolist() == [True, True]
    assert not flagged.loc[("operations", "y"), ["n_suppressed", "count_suppressed"]].any()
    assert not flagged.loc[("patients", "(all)"), "count_suppressed"]  # 23 patients
