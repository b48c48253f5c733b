"""Competing risks against known truth: a simulated constant-hazards structure, and edge cases by hand.

The live comparison with R (cmprsk) is tests/stats/test_competing_against_r.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.stats.competing import competing_cox, cumulative_incidence, gray_test
from pipelines.stats.km import kaplan_meier


def _frame(time: list[float], cause: list[int], group: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"time_months": time, "cause": cause, "group": group})
    return frame.assign(event=(frame["cause"] > 0).astype(int))


def _simulated(n: int, hazards: dict[str, tuple[float, float]], seed: int) -> pd.DataFrame:
    """Constant cause-specific hazards (h1, h2) per group, uniform censoring on (0, 60) months."""
    rng = np.random.default_rng(seed)
    parts = []
    for group, (h1, h2) in hazards.items():
        latent = rng.exponential(1 / (h1 + h2), n)
        cause = np.where(rng.random(n) < h1 / (h1 + h2), 1, 2)
        censor = rng.uniform(0, 60, n)
        parts.append(
            pd.DataFrame(
                {
                    "time_months": np.minimum(latent, censor),
                    "cause": np.where(latent <= censor, cause, 0),
                    "group": group,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(event=(frame["cause"] > 0).astype(int))


def test_simulated_constant_hazards_recover_the_true_cumulative_incidence_and_hazard_ratio() -> None:
    hazards = {"a": (0.04, 0.02), "b": (0.08, 0.02)}  # cause 1 doubled in b, cause 2 the same
    frame = _simulated(3000, hazards, seed=0)
    landmarks = (6.0, 12.0, 24.0, 36.0)
    cif = cumulative_incidence(frame, groups=["a", "b"], landmarks=landmarks)
    marks = cif[cif["kind"] == "landmark"]
    assert len(marks) == 2 * 2 * len(landmarks)
    for row in marks.itertuples():
        h1, h2 = hazards[row.group]
        own = h1 if row.cause == 1 else h2
        truth = own / (h1 + h2) * (1 - np.exp(-(h1 + h2) * row.time))
        assert row.lower < truth < row.upper, (row.group, row.cause, row.time, truth, row.lower, row.upper)
        assert abs(row.cumulative_incidence - truth) < 3 * np.sqrt(row.variance)
    models = competing_cox(frame, reference_group="a", groups=["a", "b"])
    cause_specific = models[(models["model"] == "cause_specific") & (models["cause"] == 1)].iloc[0]
    assert cause_specific.hr_lower < 2.0 < cause_specific.hr_upper
    other = models[(models["model"] == "cause_specific") & (models["cause"] == 2)].iloc[0]
    assert other.hr_lower < 1.0 < other.hr_upper
    # the subdistribution of cause 2 falls in b (more cause-1 deaths take subjects away): Fine-Gray sHR < 1
    fine_gray = models[(models["model"] == "fine_gray") & (models["cause"] == 2)].iloc[0]
    assert fine_gray.hr_upper < 1.0
    tests = gray_test(frame, groups=["a", "b"])
    assert tests.loc[tests["cause"] == 1, "p"].iloc[0] < 1e-6


def test_without_competing_events_the_cumulative_incidence_is_one_minus_kaplan_meier() -> None:
    frame = _frame([1, 2, 2, 3, 5, 5, 8, 9, 12, 15], [1, 1, 0, 1, 1, 1, 0, 1, 0, 1], ["a"] * 10)
    curve = cumulative_incidence(frame, groups=["a"], landmarks=[4, 10]).query("kind == 'curve' and cause == 1")
    km = kaplan_meier(frame, groups=["a"]).curve.set_index("time")["survival"]
    for row in curve.itertuples():
        assert np.isclose(row.cumulative_incidence, 1 - km.loc[row.time], rtol=1e-14, atol=1e-15)


def test_ties_between_causes_at_one_time_by_hand() -> None:
    # 4 subjects: at t = 1 one dies of cause 1 and one of cause 2; at t = 2 cause 1 among the 2 left
    frame = _frame([1, 1, 2, 3], [1, 2, 1, 0], ["a"] * 4)
    cif = cumulative_incidence(frame, groups=["a"], landmarks=[1, 2, 3]).query("kind == 'landmark'")
    f1 = cif[cif["cause"] == 1].set_index("time")["cumulative_incidence"]
    f2 = cif[cif["cause"] == 2].set_index("time")["cumulative_incidence"]
    assert np.allclose(f1.to_list(), [1 / 4, 1 / 2, 1 / 2]) and np.allclose(f2.to_list(), [1 / 4, 1 / 4, 1 / 4])
    survival = kaplan_meier(frame, groups=["a"], landmarks=[1, 2, 3]).landmarks.set_index("time")["survival"]
    assert np.allclose(f1 + f2 + survival, 1.0)  # every subject is event-free or failed from one cause


def test_a_group_without_events_is_zero_and_left_out_of_the_models() -> None:
    frame = _frame(
        [1, 2, 3, 4, 5, 6, 7, 8, 2, 4, 6, 9, 1.5, 3.5, 5.5, 7.5],
        [1, 2, 1, 1, 2, 1, 0, 1, 1, 2, 1, 0, 0, 0, 0, 0],
        ["a"] * 8 + ["b"] * 4 + ["c"] * 4,
    )
    cif = cumulative_incidence(frame, groups=["a", "b", "c"], landmarks=[5])
    assert (cif.loc[cif["group"] == "c", "cumulative_incidence"] == 0).all()
    assert (cif.loc[cif["group"] == "c", "lower"] == 0).all()
    tests = gray_test(frame, groups=["a", "b", "c"])
    assert (tests["status"] == "ok").all() and (tests["df"] == 2).all()
    models = competing_cox(frame, reference_group="a", groups=["a", "b", "c"])
    c_rows = models[models["level"] == "c"]
    assert len(c_rows) == 4 and c_rows["status"].str.contains("group 'c' has no events").all()
    assert (models.loc[models["level"] == "b", "status"] == "ok").all()


def test_labels_name_causes_and_a_labelled_cause_without_events_still_has_rows() -> None:
    frame = _frame([1, 2, 3, 4], [1, 2, 0, 1], ["a", "a", "b", "b"])
    cif = cumulative_incidence(frame, groups=["a", "b"], landmarks=[2], labels={1: "x", 2: "y", 3: "z"})
    assert set(cif["cause_label"]) == {"x", "y", "z"}
    assert (cif.loc[cif["cause"] == 3, "cumulative_incidence"] == 0).all()
    tests = gray_test(frame, groups=["a", "b"], labels={1: "x", 2: "y", 3: "z"})
    assert tests.set_index("cause").loc[3, "status"] == "not_testable: no events of this cause"
