"""surgery_after_imatinib's honest designs on the sample drops: the split exposure recovers the generator's two
effects, the progression-adjusted OS model exists, and every published place labels the naive grouping.

The generator (fixtures/generator.py) multiplies the progression hazard after first-line cytoreductive surgery
by hr_surgery_after_imatinib (0.7) when the TKI is continued and by that times hr_postop_tki_stopped (7.0) when
it is stopped, conditional on tumour count and best response: the adjusted split model's CIs must cover both,
while the pooled time-varying HR lies between them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.labels import AnalysisLabels
from pipelines.stats.timevarying import NAIVE_LABEL

TRUTH = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "sample_drops" / "TRUTH.json").read_text())[
    "truth"
]
ID = "surgery_after_imatinib"


def _row(con, endpoint: str, model: str, term: str) -> tuple:
    rows = con.execute(
        "SELECT hr, hr_lower, hr_upper, status FROM results.immortal_time "
        "WHERE analysis_id = ? AND endpoint = ? AND model = ? AND term = ?",
        [ID, endpoint, model, term],
    ).fetchall()
    assert len(rows) == 1 and rows[0][3] == "ok", (endpoint, model, term, rows)
    return rows[0][:3]


def test_split_exposure_recovers_continued_and_stopped_effects(registry) -> None:
    con, _ = registry
    continued = TRUTH["hr_surgery_after_imatinib"]
    stopped = continued * TRUTH["hr_postop_tki_stopped"]
    for term, truth in (("exposure=continued", continued), ("exposure=stopped", stopped)):
        hr, lower, upper = _row(con, "PFS", "time_varying_split_adjusted", term)
        assert lower < truth < upper, (term, hr, lower, upper, truth)
    assert _row(con, "PFS", "time_varying_split_adjusted", "exposure=stopped")[1] > 1  # harm, not benefit
    pooled = _row(con, "PFS", "time_varying_adjusted", "group=exposed")[0]
    assert continued < pooled < stopped


def test_progression_adjusted_os_model_only_for_os(registry) -> None:
    con, _ = registry
    hr, lower, upper = _row(con, "OS", "time_varying_progression_adjusted", "progression=after")
    assert lower > 1  # dying is far likelier after progression: the confounder the naive models do not hold
    _row(con, "OS", "time_varying_progression_adjusted", "group=exposed")
    assert not con.execute(
        "SELECT count(*) FROM results.immortal_time WHERE analysis_id = ? AND endpoint = 'PFS' "
        "AND model LIKE 'time_varying_progression%'",
        [ID],
    ).fetchone()[0]


def test_naive_grouping_is_labelled_wherever_published(registry) -> None:
    con, tmp = registry
    designs = dict(
        con.execute(
            "SELECT DISTINCT source || ':' || model, design FROM published.v_hazard_ratios WHERE analysis_id = ?", [ID]
        ).fetchall()
    )
    assert designs["cox:univariable"] == designs["immortal_time:naive"] == NAIVE_LABEL
    assert designs["immortal_time:time_varying_split_adjusted"] == "time-varying, exposure split by kind"
    assert designs["immortal_time:landmark_12"] == "landmark"
    other = con.execute(
        "SELECT DISTINCT design FROM published.v_hazard_ratios WHERE analysis_id = 'mutation'"
    ).fetchall()
    assert other == [("as grouped",)]
    primary = con.execute(
        "SELECT DISTINCT model FROM published.v_hazard_ratios WHERE analysis_id = ? AND is_primary", [ID]
    ).fetchall()
    assert primary == [("time_varying_adjusted",)]
    assert {
        r[0]
        for r in con.execute("SELECT design FROM published.v_survival_summary WHERE analysis_id = ?", [ID]).fetchall()
    } == {NAIVE_LABEL}
    limits = con.execute(
        "SELECT endpoint, adjustment, time_dependent_confounding, primary_model, footnote FROM published.v_limits "
        "WHERE analysis_id = ? ORDER BY endpoint",
        [ID],
    ).fetchall()
    for endpoint, adjustment, confounding, primary_model, footnote in limits:
        assert "time-varying exposure split" in adjustment and primary_model == "time_varying_adjusted"
        assert "time-dependent confounder" in confounding and "the pooled exposure mixes" in confounding
        assert all(AnalysisLabels(ID).group(kind).lower() in confounding for kind in ("continued", "stopped"))
        assert NAIVE_LABEL in footnote
        assert ("progression as a time-varying covariate" in adjustment) == (endpoint == "OS")
    assert (
        con.execute('SELECT "primary" FROM results.analyses WHERE id = ?', [ID]).fetchone()[0]
        == "time_varying_adjusted"
    )
