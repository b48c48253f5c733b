"""Cox models: coding, the non-estimable cases (each with its own status) and the PH test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from pipelines.stats import COX_COLUMNS, PH_COLUMNS, cox_model, logrank


def cohort(seed: int = 1, n: int = 60, groups: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.resize(np.array(groups), n)
    rate = np.where(label == groups[0], 0.05, 0.03)
    time, censor = rng.exponential(1 / rate), rng.uniform(10, 60, n)
    return pd.DataFrame(
        {
            "time_months": np.minimum(time, censor),
            "event": (time <= censor).astype(int),
            "group": label,
            "age": rng.normal(60, 10, n).round(),
            "sex": rng.choice(["male", "female"], n),
        }
    )


def statuses(frame: pd.DataFrame, **kwargs: object) -> dict[str, str]:
    table = cox_model(frame, **kwargs).coefficients  # type: ignore[arg-type]
    assert list(table.columns) == COX_COLUMNS
    not_ok = table["status"] != "ok"
    assert table.loc[not_ok, ["coef", "se", "hr", "hr_lower", "hr_upper", "p"]].isna().all().all()
    return dict(zip(table["term"], table["status"], strict=True))


def test_empty_frame() -> None:
    empty = cohort().iloc[:0]
    assert statuses(empty, reference_group="a", groups=["a", "b"]) == {
        "group=b": "not_estimable: group 'b' has no subjects"
    }
    assert statuses(empty, reference_group="a", groups=["a", "b"], covariates=["age"])["age"] == (
        "not_estimable: reference group 'a' has no subjects"
    )


def test_single_group() -> None:
    only_a = cohort().query("group == 'a'")
    assert statuses(only_a, reference_group="a") == {
        "group": "not_estimable: no group other than the reference with subjects and events"
    }
    assert logrank(only_a)["status"].iloc[0] == "not_estimable: fewer than 2 groups with subjects"


def test_reference_group_without_events() -> None:
    frame = cohort()
    frame.loc[frame["group"] == "a", "event"] = 0
    assert statuses(frame, reference_group="a")["group=b"] == (
        "not_estimable: reference group 'a' has no events (every HR would be infinite)"
    )


def test_group_without_events_is_flagged_and_the_others_are_its_limit() -> None:
    frame = cohort(groups=("a", "b", "c"))
    frame.loc[frame["group"] == "c", "event"] = 0
    table = cox_model(frame, reference_group="a").coefficients.set_index("term")
    assert table.loc["group=c", "status"] == "not_estimable: group 'c' has no events (HR would be 0)"
    assert np.isnan(table.loc["group=c", "hr"])
    without_c = cox_model(frame[frame["group"] != "c"], reference_group="a").coefficients.set_index("term")
    assert table.loc["group=b", "coef"] == pytest.approx(without_c.loc["group=b", "coef"], abs=1e-9)
    assert table.loc["group=b", "status"] == "ok"


def test_constant_covariate() -> None:
    assert statuses(cohort().assign(site="x"), reference_group="a", covariates=["site"])["group=b"] == (
        "not_estimable: constant covariate site"
    )


def test_collinear_covariates_are_named() -> None:
    frame = cohort().assign(age_months=lambda d: d["age"] * 12 + 6)
    assert statuses(frame, reference_group="a", covariates=["age", "age_months"])["age"] == (
        "not_estimable: collinear covariates age, age_months"
    )
    frame = cohort().assign(operated=lambda d: d["group"] == "b")
    assert statuses(frame, reference_group="a", covariates=["operated"])["group=b"] == (
        "not_estimable: collinear covariates group=b, operated=True"
    )


def test_too_few_events() -> None:
    frame = cohort()
    frame["event"] = 0
    frame.loc[[0, 1], "event"] = 1  # one event in each group, three parameters
    assert statuses(frame, reference_group="a", covariates=["age", "sex"])["age"] == (
        "not_estimable: too few events (2) for 3 parameter(s)"
    )


def test_monotone_likelihood_is_not_reported_as_a_number() -> None:
    frame = cohort(n=40)
    frame["event"] = 1
    frame["score"] = -frame["time_months"]  # whoever fails first always has the highest score
    status = statuses(frame, reference_group="a", covariates=["score"])["score"]
    assert status.startswith("not_estimable: ") and ("convergence" in status or "separation" in status)


def test_separation_on_a_categorical_covariate() -> None:
    frame = cohort(n=80)
    frame["marker"] = np.where(frame["event"] == 1, "positive", "negative")  # every event is marker-positive
    status = statuses(frame, reference_group="a", covariates=["marker"])["marker=positive"]
    assert status.startswith("not_estimable: ")


def test_missing_covariates_complete_case_and_reference_coding() -> None:
    frame = cohort(n=120)
    frame.loc[:9, "age"] = np.nan
    frame["sex"] = pd.Categorical(frame["sex"], categories=["male", "female"])
    table = cox_model(frame, reference_group="b", covariates=["age", "sex"], model="multivariable").coefficients
    assert table["term"].tolist() == ["group=a", "age", "sex=female"]
    assert table["reference"].fillna("").tolist() == ["b", "", "male"]
    assert (table["n"].iloc[0], table["n_excluded_missing"].iloc[0]) == (110, 10)
    complete = frame.dropna(subset=["age"])
    design = pd.DataFrame(
        {
            "a": (complete["group"] == "a").astype(float),
            "age": complete["age"],
            "female": (complete["sex"] == "female").astype(float),
            "T": complete["time_months"],
            "E": complete["event"],
        }
    )
    direct = CoxPHFitter().fit(design, "T", "E", fit_options={"precision": 1e-14}).params_.to_numpy()  # to the maximum
    assert table["coef"].to_numpy() == pytest.approx(direct, abs=1e-8)


def test_ph_test_rows_and_global_statistic() -> None:
    result = cox_model(cohort(n=150), reference_group="a")
    ph = result.ph_test
    assert list(ph.columns) == PH_COLUMNS and ph["term"].tolist() == ["group=b", "GLOBAL"]
    assert ph["statistic"].iloc[1] == pytest.approx(ph["statistic"].iloc[0], rel=1e-9)  # one term: global = term
    multi = cox_model(cohort(n=150), reference_group="a", covariates=["age", "sex"], model="multivariable").ph_test
    assert multi["term"].tolist() == ["group=b", "age", "sex=male", "GLOBAL"]
    assert multi.set_index("term").loc["GLOBAL", "df"] == 3 and (multi["time_transform"] == "km").all()


def test_ph_test_detects_crossing_hazards() -> None:
    rng = np.random.default_rng(7)
    n = 600
    group = np.resize(np.array(["a", "b"]), n)
    early, late = np.where(group == "b", 0.15, 0.05), np.where(group == "b", 0.01, 0.05)  # HR 3 then 0.2
    first = rng.exponential(1 / early)
    time = np.where(first < 6, first, 6 + rng.exponential(1 / late))
    frame = pd.DataFrame({"time_months": np.minimum(time, 48), "event": (time <= 48).astype(int), "group": group})
    ph = cox_model(frame, reference_group="a").ph_test.set_index("term")
    assert ph.loc["group=b", "p"] < 1e-6 and ph.loc["GLOBAL", "p"] < 1e-6


# R 4.2.2, survival 3.5.3: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, rossi,
# control = coxph.control(eps = 1e-14, iter.max = 100)) (Efron; iterated to the maximum: R's default
# eps = 1e-9 stops 2e-8 relative short of it); robust: the same with cluster = (row - 1) %/% 2; cox.zph(fit) (transform
# "km"), identical for both fits.
ROSSI_R = {
    "coef": [
        -0.3794221668712051,
        -0.0574377430137615,
        0.3138997859493020,
        -0.1497956972227822,
        -0.4337038766902505,
        -0.0848710829908305,
        0.0914970793511212,
    ],
    "se": [
        0.1913794807128090,
        0.0219994706279538,
        0.3079927763929380,
        0.2122242961581635,
        0.3818680574649214,
        0.1957566719209233,
        0.0286485500734706,
    ],
    "robust_se": [
        0.1911877485296243,
        0.0258555460853512,
        0.3033645884176320,
        0.2215466167149562,
        0.3887129135300679,
        0.1975356259432754,
        0.0281168656937011,
    ],
    "zph": [
        0.0624297500893763,
        5.9739816611519121,
        2.0682653833546527,
        4.2245956386986050,
        1.0110215645544560,
        0.0183832991358407,
        0.5205842670061451,
        17.6944152960279339,
    ],
}


def _rossi(cluster: bool) -> pd.DataFrame:
    from lifelines.datasets import load_rossi

    data = (
        load_rossi()
        .rename(columns={"week": "time_months", "arrest": "event"})
        .assign(group=lambda d: np.where(d["fin"] == 1, "fin", "no_fin"))
    )
    return data.assign(pair=(np.arange(len(data)) // 2).astype(str)) if cluster else data


@pytest.mark.parametrize("cluster", [False, True])
def test_rossi_coefficients_se_robust_se_and_ph_test_equal_r_to_1e_9(cluster) -> None:
    """Weeks are heavily tied: Efron's method in the fit, the score residuals (robust SE) and cox.zph."""
    covariates = ["age", "race", "wexp", "mar", "paro", "prio"]
    result = cox_model(
        _rossi(cluster), reference_group="no_fin", covariates=covariates, cluster="pair" if cluster else None
    )
    terms = ["group=fin", *covariates]
    table = result.coefficients.set_index("term").loc[terms]
    assert table["coef"].to_numpy() == pytest.approx(ROSSI_R["coef"], rel=1e-9)
    assert table["se"].to_numpy() == pytest.approx(ROSSI_R["robust_se" if cluster else "se"], rel=1e-9)
    ph = result.ph_test.set_index("term").loc[[*terms, "GLOBAL"]]
    assert ph["statistic"].to_numpy() == pytest.approx(ROSSI_R["zph"], rel=1e-9)
    assert ph["df"].tolist() == [1] * 7 + [7]


@pytest.mark.parametrize("cluster", [None, "patient"])
def test_every_number_is_independent_of_row_order(cluster) -> None:
    """Heavy ties, several rows per cluster: shuffling the rows changes nothing beyond 1e-10."""
    rng = np.random.default_rng(11)
    n = 2000
    data = pd.DataFrame(
        {
            "time_months": rng.integers(0, 60, n).astype(float),
            "event": (rng.random(n) < 0.6).astype(int),
            "group": rng.choice(["a", "b", "c"], n),
            "age": rng.normal(size=n),
            "patient": rng.integers(0, 700, n).astype(str),
        }
    )
    fits = [
        cox_model(frame, reference_group="a", covariates=["age"], cluster=cluster)
        for frame in (data, data.sample(frac=1, random_state=3), data.iloc[::-1])
    ]
    for other in fits[1:]:
        for name in ("coef", "se", "hr_lower", "hr_upper", "p"):
            assert other.coefficients[name].to_numpy() == pytest.approx(
                fits[0].coefficients[name].to_numpy(), rel=1e-10
            )
        for name in ("statistic", "p"):
            assert other.ph_test[name].to_numpy() == pytest.approx(fits[0].ph_test[name].to_numpy(), rel=1e-10)
    if cluster:
        assert fits[0].coefficients["se"].to_numpy() != pytest.approx(
            cox_model(data, reference_group="a", covariates=["age"]).coefficients["se"].to_numpy(), rel=1e-3
        )
