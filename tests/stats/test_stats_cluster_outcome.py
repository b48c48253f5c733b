"""Robust variance for clustered subjects, the event-within-horizon outcome, and the immortal-time figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.stats import (
    analyse_endpoint,
    binary_outcome,
    cox_model,
    event_within,
    exposure_forest_figure,
    few_events_note,
    immortal_time_analysis,
    save_png,
)


def _cohort(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.5
    time = rng.exponential(np.where(treated, 20.0, 12.0))
    censor = rng.uniform(6, 40, n)
    return pd.DataFrame(
        {
            "time_months": np.minimum(time, censor),
            "event": (time <= censor).astype(int),
            "group": np.where(treated, "treated", "control"),
            "patient_id": [f"p{i}" for i in range(n)],
        }
    )


def test_cluster_robust_variance_does_not_count_a_repeated_patient_twice():
    """Each patient entered twice (as two operations with identical outcomes): the model-based SE
    shrinks by about sqrt(2), as if there were twice the information; the robust SE clustered by
    patient stays at the single-entry robust SE.  (Not exactly: duplicated times become Efron ties.)"""
    once = _cohort(300, seed=5)
    twice = pd.concat([once, once], ignore_index=True)
    single = cox_model(once, reference_group="control", cluster="patient_id").coefficients.iloc[0]
    naive = cox_model(twice, reference_group="control").coefficients.iloc[0]
    clustered = cox_model(twice, reference_group="control", cluster="patient_id").coefficients.iloc[0]
    assert naive["se"] == pytest.approx(single["se"] / np.sqrt(2), rel=0.05)
    assert clustered["se"] == pytest.approx(single["se"], rel=0.05)
    assert clustered["coef"] == pytest.approx(naive["coef"], abs=1e-9)  # same point estimate
    assert (clustered["n"], clustered["n_clusters"], pd.isna(naive["n_clusters"])) == (600, 300, True)
    assert clustered["hr_lower"] < naive["hr_lower"]  # the honest interval is wider


def test_analyse_endpoint_passes_the_cluster_to_every_cox_model():
    frame = _cohort(200, seed=6).assign(sex=lambda f: np.where(np.arange(len(f)) % 2, "male", "female"))
    results = analyse_endpoint(frame, reference_group="control", covariates=["sex"], cluster="patient_id")
    assert set(results.cox["n_clusters"]) == {200}
    assert (results.ph_test["status"] == "ok").all()


def test_event_within_horizon():
    frame = pd.DataFrame({"time_months": [3.0, 12.0, 12.0, 20.0, 5.0, 15.0], "event": [1, 1, 0, 1, 0, 0], "group": "g"})
    assert event_within(frame, 12).tolist() == [1, 1, 0, 0, pd.NA, 0]  # censored at 5 months: unknown
    counts = binary_outcome(frame.assign(outcome=event_within(frame, 12)), "outcome").iloc[0]
    assert (counts["n"], counts["n_missing"], counts["events"]) == (5, 1, 2)


def test_exposure_forest_and_few_events_note(tmp_path):
    rng = np.random.default_rng(7)
    frame = _cohort(150, seed=7).assign(surgery_months=np.where(rng.random(150) < 0.3, rng.uniform(7, 20, 150), np.nan))
    immortal = immortal_time_analysis(frame, exposure="surgery_months", landmarks=(6, 12))
    assert (
        immortal.loc[immortal["model"] == "landmark_6", "status"].iloc[0]
        == "not_estimable: group 'exposed' has no subjects"
    )
    path = save_png(exposure_forest_figure(immortal, title="t", footnote="f"), tmp_path / "immortal.png")
    assert path.stat().st_size > 10_000
    summary = analyse_endpoint(frame, reference_group="control").km_summary.assign(few_events=[True, False])
    note = few_events_note(summary)  # without the suppression's flags: the groups only, no counts
    assert note.startswith("Fewer than 10 events") and "control." in note and "treated" not in note
    flagged = summary.assign(events_suppressed=[True, False])
    assert "control (supp.)" in few_events_note(flagged)
    shown = int(summary["events"].iloc[0])
    assert f"control ({shown})" in few_events_note(flagged.assign(events_suppressed=False))
    assert few_events_note(summary.assign(few_events=False)) == ""
