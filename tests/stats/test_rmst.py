"""Restricted mean survival time: a hand computation, and R live (survival's rmean and survRM2's formulas).

``tests/r/rmst.R`` computes, for every analysis frame of the sample drops and a hand-written frame,
survival's ``summary(survfit(...), rmean = tau)`` RMST and SE and survRM2's ``rmst1``/``rmst2`` quantities
from survfit's steps (survRM2 is not installed); every published number must equal both to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.rmst import rmst
from tests.stats.oracle import R_SCRIPTS, catalogue_frames, rscript, run_r
from tests.stats.test_against_r import _reference_frames

SCRIPT = R_SCRIPTS / "rmst.R"
REL = 1e-6


def hand_frame() -> pd.DataFrame:
    """a: events at 2 and 6, censored at 4 and 10; b: every subject has an event, tied at 3, the last at 5 (S = 0)."""
    return pd.DataFrame(
        {
            "time_months": [2, 4, 6, 10, 1, 3, 3, 5],
            "event": [1, 0, 1, 0, 1, 1, 1, 1],
            "group": ["a"] * 4 + ["b"] * 4,
        }
    )


def test_rmst_by_hand() -> None:
    per_group, contrast = rmst(hand_frame(), reference_group="a", groups=["a", "b"], horizons=[5, 8])
    rows = per_group.set_index(["tau", "group"])
    # a, tau 8: S = 1 on [0, 2), 0.75 on [2, 6), 0.375 on [6, 8]; Var = 3.75^2 / 12 + 0.75^2 / 2
    assert rows.loc[(8.0, "a"), "rmst"] == pytest.approx(5.75)
    assert rows.loc[(8.0, "a"), "se"] == pytest.approx(np.sqrt(3.75**2 / 12 + 0.75**2 / 2))
    # b, tau 5: S = 1, 0.75, 0.25, then 0 at 5 (Y = d: a zero term); Var = 2^2 / 12 + 0.5^2 * 2 / 3
    assert rows.loc[(5.0, "b"), "rmst"] == pytest.approx(3.0)
    assert rows.loc[(5.0, "b"), "se"] == pytest.approx(np.sqrt(4 / 12 + 0.25 * 2 / 3))
    assert rows.loc[(8.0, "b"), "status"].startswith("not_estimable: tau 8 beyond")
    assert np.isnan(rows.loc[(8.0, "b"), "rmst"]) and rows.loc[(8.0, "b"), "n"] == 4
    at5 = contrast.set_index("tau").loc[5.0]
    a5 = rows.loc[(5.0, "a")]
    assert at5["difference"] == pytest.approx(3.0 - a5["rmst"])
    assert at5["difference_se"] == pytest.approx(np.hypot(a5["se"], rows.loc[(5.0, "b"), "se"]))
    assert at5["ratio"] == pytest.approx(3.0 / a5["rmst"])
    assert contrast.set_index("tau").loc[8.0, "status"].startswith("not_estimable")


def _compare(key: str, theirs: list[dict], per_group: pd.DataFrame, contrast: pd.DataFrame) -> list[str]:
    """Every estimable row against R; R must have exactly the estimable ones."""
    problems = []
    ok = per_group[per_group["status"] == "ok"].set_index(["group", "tau"])
    ok_contrast = contrast[contrast["status"] == "ok"].set_index(["group", "tau"])
    r_groups = {(r["group"], float(r["tau"])): r for r in theirs if "rmean" in r}
    r_contrasts = {(r["group"], float(r["tau"])): r for r in theirs if "difference" in r}
    if set(r_groups) != set(ok.index) or set(r_contrasts) != set(ok_contrast.index):
        return [f"{key}: estimable rows differ from R's"]
    pairs = [
        (ok, r_groups, [("rmst", "rmst"), ("rmst", "rmean"), ("se", "se"), ("se", "se_rmean")]),
        (ok_contrast, r_contrasts, [(c, c) for c in RMST_CONTRAST_NUMBERS]),
    ]
    for table, rows, columns in pairs:
        for index, r in rows.items():
            for ours, name in columns:
                a, b = float(table.loc[index, ours]), float(r[name])
                if abs(a - b) > max(REL * abs(b), 1e-12):
                    problems.append(f"{key} {index} {ours} vs R {name}: {a!r} vs {b!r}")
    return problems


RMST_CONTRAST_NUMBERS = (
    "difference",
    "difference_lower",
    "difference_upper",
    "difference_p",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "ratio_p",
)


def _run_r(folder: Path, jobs: list[dict]) -> dict[str, list[dict]]:
    return {
        r["key"]: r["rows"] if isinstance(r["rows"], list) else [] for r in run_r(SCRIPT, folder, jobs, timeout=600)
    }


def _job(folder: Path, key: str, frame: pd.DataFrame, groups: list[str], horizons: list[float]) -> dict:
    csv = folder / f"{key.replace('/', '_')}.csv"
    frame[["time_months", "event", "group"]].astype({"group": str}).to_csv(csv, index=False)
    return {"key": key, "csv": str(csv), "groups": groups, "horizons": horizons}


@pytest.mark.slow  # the live R oracle
def test_hand_frame_equals_r(tmp_path) -> None:
    frame = hand_frame()
    per_group, contrast = rmst(frame, reference_group="a", groups=["a", "b"], horizons=[3, 5, 8])
    theirs = _run_r(tmp_path, [_job(tmp_path, "hand", frame, ["a", "b"], [3, 5, 8])])
    assert len(theirs["hand"]) == 3 + 3 + 1  # tau 3 and 5: both groups and a contrast; tau 8: a only
    assert not _compare("hand", theirs["hand"], per_group, contrast)


@pytest.mark.slow  # the live R oracle
def test_reference_datasets_equal_r(tmp_path) -> None:
    """R's lung (days), gbsg2 (days) and rossi (weeks, heavy ties): RMST per group and the contrasts, two horizons each."""
    jobs, ours = [], {}
    for name, (frame, options) in _reference_frames().items():
        groups = options["groups"]
        event_times = frame.loc[frame["event"] == 1, "time_months"]
        horizons = [round(float(event_times.quantile(q)), 1) for q in (0.5, 0.9)]  # within follow-up, distinct
        ours[name] = rmst(frame, reference_group=groups[0], groups=groups, horizons=horizons)
        jobs.append(_job(tmp_path, name, frame, groups, horizons))
    theirs = _run_r(tmp_path, jobs)
    problems = [
        p for name, (per_group, contrast) in ours.items() for p in _compare(name, theirs[name], per_group, contrast)
    ]
    assert not problems, "\n".join(problems[:40])
    assert all(len(theirs[name]) == 2 * 3 for name in ours)  # per horizon: two groups and their contrast


@pytest.mark.slow  # the live R oracle
def test_every_published_rmst_equals_r(registry, tmp_path) -> None:
    rscript()
    con, _ = registry
    stored = {name: con.execute(f"FROM results.{name}").df() for name in ("rmst", "rmst_contrast")}
    jobs, expected = [], {}
    for analysis, endpoint, key, frame in catalogue_frames(con):
        groups = [analysis.reference, *(g for g in analysis.groups if g != analysis.reference)]
        jobs.append(_job(tmp_path, key, frame, groups, list(analysis.rmst_horizons)))
        expected[key] = [t[(t["analysis_id"] == analysis.id) & (t["endpoint"] == endpoint)] for t in stored.values()]
    theirs = _run_r(tmp_path, jobs)
    problems = [p for key, (g, c) in expected.items() for p in _compare(key, theirs[key], g, c)]
    assert not problems, "\n".join(problems[:40])
    assert (stored["rmst"]["status"] == "ok").sum() > 30


def test_published_rmst_n_is_the_survival_summary_n(registry) -> None:
    con, _ = registry
    differing = con.execute(
        'SELECT r.analysis_id, r.endpoint, r."group" FROM published.v_rmst r JOIN published.v_survival_summary s '
        'USING (analysis_id, endpoint, "group") '
        "WHERE r.n IS DISTINCT FROM s.n OR r.n_suppressed IS DISTINCT FROM s.n_suppressed"
    ).fetchall()
    assert not differing
    assert con.execute("SELECT count(*) FROM published.v_rmst_contrasts WHERE status = 'ok'").fetchone()[0] > 10
