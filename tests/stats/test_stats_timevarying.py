"""Immortal-time tools: data construction, statuses, and a simulation where the exposure does nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.stats import counting_process_frame, cox_model, immortal_time_analysis, landmark_frame, time_varying_cox

SMALL = pd.DataFrame(
    {
        "time_months": [10.0, 5.0, 8.0, 4.0, 6.0, 0.0, 7.0],
        "event": [1, 0, 1, 1, 0, 1, 1],
        "group": "cohort",
        "surgery_months": [3.0, np.nan, 0.0, 4.0, 7.0, np.nan, 2.0],
        "age": [50, 60, 70, 80, 90, 40, 55],
    }
)


def test_counting_process_rows() -> None:
    rows = counting_process_frame(SMALL, exposure="surgery_months", covariates=["age"])
    assert list(rows.columns) == ["id", "start", "stop", "event", "exposed", "age"]
    as_tuples = [tuple(r) for r in rows[["id", "start", "stop", "event", "exposed"]].itertuples(index=False)]
    assert as_tuples == [
        (0, 0.0, 3.0, 0, 0),
        (0, 3.0, 10.0, 1, 1),  # exposed at 3 inside follow-up: split, event on the exposed row
        (1, 0.0, 5.0, 0, 0),  # never exposed
        (2, 0.0, 8.0, 1, 1),  # exposed at the origin
        (3, 0.0, 4.0, 1, 0),  # exposed on the day follow-up ends: not exposed at risk
        (4, 0.0, 6.0, 0, 0),  # exposed only after follow-up ends
        (6, 0.0, 2.0, 0, 0),
        (6, 2.0, 7.0, 1, 1),  # subject 5 (time 0) has no time at risk
    ]
    assert rows.loc[rows["id"] == 0, "age"].tolist() == [50, 50]


def test_landmark_frame_keeps_those_at_risk_and_reorigins_time() -> None:
    at_five = landmark_frame(SMALL, exposure="surgery_months", landmark=5.0)
    assert at_five["time_months"].tolist() == [5.0, 3.0, 1.0, 2.0]  # subjects 0, 2, 4, 6 (time > 5)
    assert at_five["group"].tolist() == ["exposed", "exposed", "unexposed", "exposed"]  # 4: surgery at 7 > L


def test_time_varying_equals_ordinary_cox_when_nobody_switches() -> None:
    rng = np.random.default_rng(3)
    n = 200
    exposed = rng.random(n) < 0.5
    time = rng.exponential(np.where(exposed, 20.0, 10.0))
    frame = pd.DataFrame(
        {
            "time_months": np.minimum(time, 30),
            "event": (time <= 30).astype(int),
            "group": np.where(exposed, "exposed", "unexposed"),
            "surgery_months": np.where(exposed, 0.0, np.nan),
        }
    )
    varying = time_varying_cox(frame, exposure="surgery_months").iloc[0]
    fixed = cox_model(frame, reference_group="unexposed").coefficients.iloc[0]
    assert varying["term"] == fixed["term"] == "group=exposed"
    assert (varying["coef"], varying["se"]) == pytest.approx((fixed["coef"], fixed["se"]), abs=1e-6)


def test_time_varying_statuses() -> None:
    nobody = SMALL.assign(surgery_months=np.nan)
    assert (
        time_varying_cox(nobody, exposure="surgery_months")["status"].iloc[0] == "not_estimable: no exposed follow-up"
    )
    no_exposed_events = SMALL.assign(
        surgery_months=[3.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan], event=[0, 0, 1, 1, 0, 1, 1]
    )
    assert time_varying_cox(no_exposed_events, exposure="surgery_months")["status"].iloc[0] == (
        "not_estimable: no events during exposed follow-up"
    )


def simulate_null_surgery(n: int, seed: int) -> pd.DataFrame:
    """A cohort where surgery leaves the hazard unchanged (HR = 1 at all times).

    Event times are exponential (median ~21 months) whatever happens; surgery is scheduled
    at an exponential time (mean 18 months) and only takes place if the patient is still
    event-free and under follow-up then, exactly the selection that creates immortal time.
    """
    rng = np.random.default_rng(seed)
    event_time, censor_time = rng.exponential(30.0, n), rng.uniform(24.0, 96.0, n)
    surgery_time = rng.exponential(18.0, n)
    follow_up = np.minimum(event_time, censor_time)
    return pd.DataFrame(
        {
            "time_months": follow_up,
            "event": (event_time <= censor_time).astype(int),
            "group": "cohort",
            "surgery_months": np.where(surgery_time < follow_up, surgery_time, np.nan),
        }
    )


def test_naive_comparison_is_biased_and_the_corrections_are_not() -> None:
    results = immortal_time_analysis(
        simulate_null_surgery(2000, seed=20240611), exposure="surgery_months", landmarks=(6, 12)
    ).set_index("model")
    assert (results["status"] == "ok").all()
    naive = results.loc["naive"]
    assert naive["hr_upper"] < 0.5  # immortal time makes a useless operation look strongly protective
    varying = results.loc["time_varying"]
    assert varying["hr_lower"] < 1 < varying["hr_upper"]
    for landmark in ("landmark_6", "landmark_12"):
        row = results.loc[landmark]
        assert row["hr_lower"] < 1 < row["hr_upper"]
        assert 0.8 < row["hr"] < 1.25
        assert row["n"] < naive["n"]  # only those event-free and followed at the landmark


def test_time_varying_fit_equals_lifelines_counting_process_fitter() -> None:
    """The delayed-entry fit on (start, stop] rows reproduces lifelines' CoxTimeVaryingFitter with real switches."""
    from lifelines import CoxTimeVaryingFitter

    from pipelines.stats import counting_process_frame

    rng = np.random.default_rng(11)
    n = 400
    time = rng.exponential(20, n)
    frame = pd.DataFrame(
        {
            "time_months": np.minimum(time, 40).round(1),
            "event": (time <= 40).astype(int),
            "group": "all",
            "surgery_months": np.where(rng.random(n) < 0.4, rng.uniform(1, 15, n), np.nan).round(1),
            "sex": rng.choice(["male", "female"], n),
        }
    )
    ours = time_varying_cox(frame, exposure="surgery_months", covariates=["sex"]).set_index("term")
    rows = counting_process_frame(frame, exposure="surgery_months", covariates=["sex"])
    training = pd.DataFrame(
        {
            "exposed": rows["exposed"].astype(float),
            "male": (rows["sex"] == "male").astype(float),
            "id": rows["id"],
            "start": rows["start"],
            "stop": rows["stop"],
            "event": rows["event"],
        }
    )
    reference = (
        CoxTimeVaryingFitter().fit(training, id_col="id", event_col="event", start_col="start", stop_col="stop").summary
    )
    assert ours.loc["group=exposed", "coef"] == pytest.approx(reference.loc["exposed", "coef"], abs=1e-8)
    # the two fitters stop Newton-Raphson at slightly different points: SEs agree to 1e-5 relative
    assert ours.loc["group=exposed", "se"] == pytest.approx(reference.loc["exposed", "se(coef)"], rel=1e-5)
    assert ours.loc["sex=male", "coef"] == pytest.approx(reference.loc["male", "coef"], abs=1e-8)


def test_counting_process_fitter_equals_lifelines_with_heavy_ties_and_entries_at_event_times() -> None:
    """Integer times: many events share a time, and rows enter exactly at other subjects' event times.

    R and lifelines count a row as at risk at t when start < t <= stop, and break ties with
    Efron's method; the fitter must agree with lifelines' CoxTimeVaryingFitter to rounding.
    """
    from lifelines import CoxTimeVaryingFitter

    from pipelines.stats.counting_cox import fit_counting_process_cox

    rng = np.random.default_rng(3)
    n = 2000
    stop = rng.integers(1, 30, n).astype(float)
    start = np.minimum(np.where(rng.random(n) < 0.5, rng.integers(0, 10, n), 0), stop - 1).astype(float)
    rows = pd.DataFrame(
        {
            "start": start,
            "stop": stop,
            "event": (rng.random(n) < 0.7).astype(int),
            "a": rng.normal(size=n),
            "b": (rng.random(n) < 0.3).astype(float),
        }
    )
    ours = fit_counting_process_cox(rows[["a", "b"]], rows["start"], rows["stop"], rows["event"]).summary
    reference = (
        CoxTimeVaryingFitter()
        .fit(rows.assign(id=np.arange(n)), id_col="id", event_col="event", start_col="start", stop_col="stop")
        .summary
    )
    for column in ("coef", "se(coef)", "p", "exp(coef) lower 95%", "exp(coef) upper 95%"):
        assert ours[column].to_numpy() == pytest.approx(reference.loc[["a", "b"], column].to_numpy(), rel=1e-6), column


def test_time_varying_separation_is_a_status_not_a_number() -> None:
    """After the first event, every event happens to an exposed subject: the hazard ratio runs off to infinity."""
    separated = pd.DataFrame(
        {
            "time_months": [1.0, 3.0, 4.0, 5.0, 6.0],
            "event": [1, 1, 1, 1, 0],
            "group": "cohort",
            "surgery_months": [np.nan, 2.0, 2.0, 2.0, np.nan],
        }
    )
    row = time_varying_cox(separated, exposure="surgery_months").iloc[0]
    assert np.isnan(row["coef"]) and row["status"] == (
        "not_estimable: coefficient running off (monotone likelihood / separation)"
    )


def test_split_counting_process_rows_with_progression() -> None:
    """Hand-written: operated then progressing then dying; progressing before surgery; a kind not recorded."""
    frame = pd.DataFrame(
        {
            "time_months": [20.0, 15.0, 9.0, 12.0],
            "event": [1, 0, 1, 1],
            "group": "cohort",
            # 0: operated at 6 (TKI continued), progressed at 11, died at 20
            # 1: progressed at 4, operated at 8 (TKI stopped) - an order the surgery_after_imatinib SQL never
            #    produces (surgery only before progression), so the frame code must not assume it
            # 2: operated at 3 (TKI stopped), progressed on the day of death (9): no switch inside follow-up
            # 3: operated at 5, kind not recorded: in neither split column
            "continued": [6.0, np.nan, np.nan, np.nan],
            "stopped": [np.nan, 8.0, 3.0, np.nan],
            "progression_months": [11.0, 4.0, 9.0, np.nan],
        }
    )
    rows = counting_process_frame(
        frame, exposure={"continued": "continued", "stopped": "stopped", "progressed": "progression_months"}
    )
    assert [tuple(r) for r in rows.itertuples(index=False)] == [
        (0, 0.0, 6.0, 0, 0, 0, 0),
        (0, 6.0, 11.0, 0, 1, 0, 0),
        (0, 11.0, 20.0, 1, 1, 0, 1),  # the death is carried by the last row only
        (1, 0.0, 4.0, 0, 0, 0, 0),
        (1, 4.0, 8.0, 0, 0, 0, 1),
        (1, 8.0, 15.0, 0, 0, 1, 1),
        (2, 0.0, 3.0, 0, 0, 0, 0),
        (2, 3.0, 9.0, 1, 0, 1, 0),
        (3, 0.0, 12.0, 1, 0, 0, 0),  # unexposed in the split
    ]


def test_split_model_recovers_two_opposite_effects() -> None:
    """Simulation: exposure of kind a halves the hazard, kind b multiplies it by 5; one pooled HR hides both."""
    from pipelines.stats.timevarying import split_switch, time_varying_cox_with_ph_test

    rng = np.random.default_rng(11)
    n = 4000
    surgery = rng.uniform(2, 10, n)
    kind_b = rng.random(n) < 0.3
    before = rng.exponential(20.0, n)  # hazard 1/20 before the exposure
    after = rng.exponential(20.0 / np.where(kind_b, 5.0, 0.5), n)  # constant hazards: memoryless from the switch
    time = np.where(before < surgery, before, surgery + after)
    frame = pd.DataFrame(
        {
            "time_months": np.minimum(time, 40.0),
            "event": (time <= 40.0).astype(int),
            "group": "cohort",
            "a": np.where(~kind_b, surgery, np.nan),
            "b": np.where(kind_b, surgery, np.nan),
        }
    )
    rows = time_varying_cox_with_ph_test(frame, switches=[split_switch({"a": "a", "b": "b"})], ph_test=False)[0]
    rows = rows.set_index("term")
    for term, truth in (("exposure=a", 0.5), ("exposure=b", 5.0)):
        assert rows.loc[term, "hr_lower"] < truth < rows.loc[term, "hr_upper"], (term, rows.loc[term].to_dict())
    pooled = time_varying_cox(frame.assign(exposure=frame["a"].fillna(frame["b"])), exposure="exposure").iloc[0]
    assert 0.5 < pooled["hr"] < 5.0
