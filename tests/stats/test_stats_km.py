"""Kaplan-Meier conventions on small hand-checkable cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from pipelines.stats import kaplan_meier, pointwise_ci, survival_quantile


def frame(times: list[float], events: list[int], group: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"time_months": times, "event": events, "group": group})


def test_median_on_an_exact_half_flat_is_the_midpoint_as_in_r() -> None:
    cohort = frame(list(range(1, 11)), [1] * 10)  # S = 0.5 exactly on [5, 6)
    summary = kaplan_meier(cohort).summary.iloc[0]
    assert summary["median"] == 5.5  # R survfit: 5.5
    fit = KaplanMeierFitter().fit(cohort["time_months"], cohort["event"])
    assert median_survival_times(fit) == 5  # lifelines' first-crossing rule, which the engine does not use


def test_median_on_a_final_half_flat_runs_to_the_last_follow_up() -> None:
    summary = kaplan_meier(frame([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 1, 0, 0, 0, 0])).summary.iloc[0]
    assert summary["median"] == 6.0  # (4 + 8) / 2, R's rule for a flat at 0.5 up to the end


def test_survival_quantile_not_reached_and_nan_limits() -> None:
    times = np.array([0.0, 1.0, 2.0, 3.0])
    assert np.isnan(survival_quantile(times, np.array([1.0, 0.9, 0.8, 0.7])))
    assert survival_quantile(times, np.array([1.0, 0.9, np.nan, 0.4])) == 3.0


def test_median_not_reached_is_nan_never_a_number() -> None:
    tables = kaplan_meier(frame([1, 2, 3, 4, 5, 6], [1, 0, 0, 1, 0, 0]), landmarks=[2.5])
    summary = tables.summary.iloc[0]
    assert not summary["median_reached"]
    assert np.isnan(summary["median"]) and np.isnan(summary["median_upper"])
    assert summary["few_events"]


def test_listed_group_without_subjects_gets_an_empty_row() -> None:
    tables = kaplan_meier(frame([1, 2, 3], [1, 1, 0]), groups=["a", "b"], landmarks=[1])
    empty = tables.summary.set_index("group").loc["b"]
    assert (empty["n"], empty["events"], empty["median_reached"]) == (0, 0, False)
    assert tables.landmarks.set_index("group").loc["b", "n_at_risk"] == 0
    assert set(tables.curve["group"]) == {"a"}


def test_landmarks_numbers_at_risk_and_beyond_follow_up() -> None:
    cohort = frame([2, 4, 4, 6, 8, 10], [1, 0, 1, 1, 0, 0])
    landmarks = kaplan_meier(cohort, landmarks=[0, 4, 5, 12]).landmarks.set_index("time")
    assert landmarks["n_at_risk"].tolist() == [6, 5, 3, 0]  # time >= t, as R's summary.survfit
    assert landmarks["n_events"].tolist() == [0, 2, 2, 3]
    assert landmarks.loc[4, "survival"] == pytest.approx(5 / 6 * 4 / 5)
    assert landmarks.loc[0, ["survival", "lower", "upper"]].tolist() == [1.0, 1.0, 1.0]
    assert np.isnan(landmarks.loc[12, "survival"])  # past the last follow-up with S > 0: unknown


def test_survival_zero_is_reported_but_its_ci_is_undefined() -> None:
    tables = kaplan_meier(frame([1, 2, 3], [1, 1, 1]), landmarks=[5], ci_transform="log")
    last = tables.curve.iloc[-1]
    assert last["survival"] == 0 and np.isnan(last["lower"]) and np.isnan(last["upper"])
    assert tables.landmarks.iloc[0]["survival"] == 0


def test_step_function_counts() -> None:
    curve = kaplan_meier(frame([2, 4, 4, 6], [1, 0, 1, 1])).curve
    assert curve["time"].tolist() == [0, 2, 4, 6]
    assert curve["n_at_risk"].tolist() == [4, 4, 3, 1]
    assert curve["n_events"].tolist() == [0, 1, 1, 1]
    assert curve["n_censored"].tolist() == [0, 0, 1, 0]
    assert curve["survival"].tolist() == pytest.approx([1, 0.75, 0.5, 0])


def test_pointwise_ci_transforms_from_one_greenwood_variance() -> None:
    survival, variance = np.array([0.5]), np.array([0.04])  # se(log S) = 0.2
    z = 1.959963984540054
    log_lower, log_upper = pointwise_ci(survival, variance, "log")
    assert (log_lower[0], log_upper[0]) == pytest.approx((0.5 * np.exp(-0.2 * z), 0.5 * np.exp(0.2 * z)))
    plain_lower, plain_upper = pointwise_ci(survival, variance, "plain")
    assert (plain_lower[0], plain_upper[0]) == pytest.approx((0.5 - 0.1 * z, 0.5 + 0.1 * z))
    loglog_lower, loglog_upper = pointwise_ci(survival, variance, "log-log")
    half = z * 0.2 / np.log(2)
    assert (loglog_lower[0], loglog_upper[0]) == pytest.approx((0.5 ** np.exp(half), 0.5 ** np.exp(-half)))
    with pytest.raises(ValueError):
        pointwise_ci(survival, variance, "arcsine")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{"time_months": [-1.0]}, {"event": [2]}, {"group": [None]}])
def test_malformed_frames_are_rejected(bad: dict[str, list[object]]) -> None:
    cohort = frame([1.0], [1]).assign(**bad)
    with pytest.raises(ValueError):
        kaplan_meier(cohort)
