"""The engine against R survival reference values (shared/published_results.md, section 2).

The datasets are in days; frames are built in months (days / 30.4375, as the registry does)
and times converted back for comparison, so the months code path itself is exercised.
Tolerances are set below the gap between the right and the wrong convention: lung's
S(365) CI is 0.345-0.486 with R's "log" transform but 0.339-0.478 with "log-log", and
Breslow instead of Efron ties moves lung's sex coefficient to -0.5304 (R: -0.5310) and rossi's
wexp to -0.1511 (R: -0.1498), both beyond the 1e-4 tolerances used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_gbsg2, load_lung, load_rossi

from pipelines.stats import DAYS_PER_MONTH, cox_model, kaplan_meier, logrank

YEAR = 365 / DAYS_PER_MONTH


def lung_frame() -> pd.DataFrame:
    """lifelines' lung: status 1 = dead, sex 1 = male / 2 = female (R codes status 2 = dead)."""
    lung = load_lung()
    return pd.DataFrame(
        {
            "time_months": lung["time"] / DAYS_PER_MONTH,
            "event": lung["status"],
            "group": lung["sex"].map({1: "male", 2: "female"}),
        }
    )


def in_days(months: float) -> float:
    return months * DAYS_PER_MONTH


def test_lung_overall_median_and_one_year_survival_match_r_log_transform() -> None:
    km = kaplan_meier(lung_frame().assign(group="all"), landmarks=[YEAR], ci_transform="log")
    summary, year = km.summary.iloc[0], km.landmarks.iloc[0]
    assert (summary["n"], summary["events"]) == (228, 165)
    assert in_days(summary["median"]) == pytest.approx(310, abs=1e-9)
    assert in_days(summary["median_lower"]) == pytest.approx(285, abs=1e-9)
    assert in_days(summary["median_upper"]) == pytest.approx(363, abs=1e-9)
    assert year["n_at_risk"] == 65
    assert year["survival"] == pytest.approx(0.409, abs=5e-4)
    assert year["lower"] == pytest.approx(0.345, abs=5e-4)
    assert year["upper"] == pytest.approx(0.486, abs=5e-4)


def test_log_log_transform_is_lifelines_and_differs_from_r_default() -> None:
    frame = lung_frame().assign(group="all")
    km = kaplan_meier(frame, landmarks=[YEAR], ci_transform="log-log")
    reference = KaplanMeierFitter().fit(frame["time_months"], frame["event"]).confidence_interval_
    assert np.allclose(km.curve[["lower", "upper"]].to_numpy(), reference.to_numpy(), atol=1e-12)
    year = km.landmarks.iloc[0]
    assert year["lower"] == pytest.approx(0.3387, abs=5e-4)  # not R's 0.345: the transform matters
    assert year["upper"] == pytest.approx(0.4784, abs=5e-4)


def test_lung_by_sex_medians_and_cis_match_r() -> None:
    summary = kaplan_meier(lung_frame(), groups=["male", "female"], ci_transform="log").summary.set_index("group")
    assert summary.loc["male", ["n", "events"]].tolist() == [138, 112]
    assert summary.loc["female", ["n", "events"]].tolist() == [90, 53]
    for group, (median, lower, upper) in {"male": (270, 212, 310), "female": (426, 348, 550)}.items():
        days = [in_days(summary.loc[group, c]) for c in ("median", "median_lower", "median_upper")]
        assert days == pytest.approx([median, lower, upper], abs=1e-9)


def test_lung_logrank_by_sex_matches_r() -> None:
    table = logrank(lung_frame(), groups=["male", "female"]).set_index("group")
    assert table["statistic"].iloc[0] == pytest.approx(10.3267, abs=5e-5)
    assert table["p"].iloc[0] == pytest.approx(0.00131, abs=5e-6)
    assert table["df"].iloc[0] == 1
    assert table.loc["male", ["observed", "expected"]].tolist() == pytest.approx([112, 91.58], abs=5e-3)
    assert table.loc["female", ["observed", "expected"]].tolist() == pytest.approx([53, 73.42], abs=5e-3)


def test_lung_cox_by_sex_matches_r_efron() -> None:
    row = cox_model(lung_frame(), reference_group="male").coefficients.iloc[0]
    assert row["term"] == "group=female" and row["status"] == "ok"
    assert row["coef"] == pytest.approx(-0.5310, abs=5e-5)
    assert row["se"] == pytest.approx(0.1672, abs=5e-5)
    assert row["hr"] == pytest.approx(0.5880, abs=5e-5)
    assert (row["hr_lower"], row["hr_upper"]) == pytest.approx((0.4237, 0.816), abs=5e-5)
    assert row["p"] == pytest.approx(0.00149, abs=5e-6)
    assert (row["n"], row["events"]) == (228, 165)


def gbsg2_frame() -> pd.DataFrame:
    gbsg2 = load_gbsg2()
    return pd.DataFrame(
        {"time_months": gbsg2["time"] / DAYS_PER_MONTH, "event": gbsg2["cens"], "group": gbsg2["horTh"]}
    )


def test_gbsg2_logrank_and_cox_by_hormone_therapy_match_r() -> None:
    frame = gbsg2_frame()
    table = logrank(frame, groups=["no", "yes"]).set_index("group")
    assert table["statistic"].iloc[0] == pytest.approx(8.56, abs=5e-3)
    assert table.loc["no", ["n", "observed"]].tolist() == [440, 205]
    assert table.loc["no", "expected"] == pytest.approx(180, abs=0.5)
    assert table.loc["yes", ["n", "observed"]].tolist() == [246, 94]
    assert table.loc["yes", "expected"] == pytest.approx(119, abs=0.5)
    row = cox_model(frame, reference_group="no").coefficients.iloc[0]
    assert row["hr"] == pytest.approx(0.6949, abs=5e-5)
    assert (row["hr_lower"], row["hr_upper"]) == pytest.approx((0.5438, 0.8879), abs=5e-5)


def test_gbsg2_km_medians_match_r() -> None:
    summary = kaplan_meier(gbsg2_frame(), groups=["no", "yes"]).summary.set_index("group")
    assert in_days(summary.loc["no", "median"]) == pytest.approx(1528, abs=1e-9)
    assert in_days(summary.loc["yes", "median"]) == pytest.approx(2018, abs=1e-9)


def test_rossi_multivariable_cox_matches_r() -> None:
    rossi = load_rossi()
    frame = rossi.rename(columns={"week": "time_months", "arrest": "event"}).assign(
        group=rossi["fin"].map({0: "no", 1: "yes"})
    )
    covariates = ["age", "race", "wexp", "mar", "paro", "prio"]
    table = cox_model(frame, reference_group="no", covariates=covariates, model="multivariable").coefficients
    table = table.set_index("term")
    expected = {
        "group=yes": (-0.3794, 0.1914),
        "age": (-0.0574, 0.0220),
        "race": (0.3139, 0.3080),
        "wexp": (-0.1498, 0.2122),
        "mar": (-0.4337, 0.3819),
        "paro": (-0.0849, 0.1958),
        "prio": (0.0915, 0.0286),
    }
    for term, (coef, se) in expected.items():
        assert table.loc[term, "coef"] == pytest.approx(coef, abs=1e-4), term
        assert table.loc[term, "se"] == pytest.approx(se, abs=1e-4), term
    assert table.loc["group=yes", "p"] == pytest.approx(0.0474, abs=5e-5)
    assert table.loc["prio", "p"] == pytest.approx(0.0014, abs=5e-5)
    assert (table["status"] == "ok").all()
