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
    return pd.DataFrame({"time_months": np.minimum(time, censor), "event": (time <= censor).astype(int), "group": label,
                         "age": rng.normal(60, 10, n).round(), "sex": rng.choice(["male", "female"], n)})


def statuses(frame: pd.DataFrame, **kwargs: object) -> dict[str, str]:
    table = cox_model(frame, **kwargs).coefficients  # type: ignore[arg-type]
    assert list(table.columns) == COX_COLUMNS
    not_ok = table["status"] != "ok"
    assert table.loc[not_ok, ["coef", "se", "hr", "hr_lower", "hr_upper", "p"]].isna().all().all()
    return dict(zip(table["term"], table["status"], strict=True))


def test_empty_frame() -> None:
    empty = cohort().iloc[:0]
    assert statuses(empty, reference_group="a", groups=["a", "b"]) == {
        "group=b": "not_estimable: group 'b' has no subjects"}
    assert statuses(empty, reference_group="a", groups=["a", "b"], covariates=["age"])["age"] == (
        "not_estimable: reference group 'a' has no subjects")


def test_single_group() -> None:
    only_a = cohort().query("group == 'a'")
    assert statuses(only_a, reference_group="a") == {
        "group": "not_estimable: no group other than the reference with subjects and events"}
    assert logrank(only_a)["status"].iloc[0] == "not_estimable: fewer than 2 groups with subjects"


def test_reference_group_without_events() -> None:
    frame = cohort()
    frame.loc[frame["group"] == "a", "event"] = 0
    assert statuses(frame, reference_group="a")["group=b"] == (
        "not_estimable: reference group 'a' has no events (every HR would be infinite)")


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
        "not_estimable: constant covariate site")


def test_collinear_covariates_are_named() -> None:
    frame = cohort().assign(age_months=lambda d: d["age"] * 12 + 6)
    assert statuses(frame, reference_group="a", covariates=["age", "age_months"])["age"] == (
        "not_estimable: collinear covariates age, age_months")
    frame = cohort().assign(operated=lambda d: d["group"] == "b")
    assert statuses(frame, reference_group="a", covariates=["operated"])["group=b"] == (
        "not_estimable: collinear covariates group=b, operated=True")


def test_too_few_events() -> None:
    frame = cohort()
    frame["event"] = 0
    frame.loc[[0, 1], "event"] = 1  # one event in each group, three parameters
    assert statuses(frame, reference_group="a", covariates=["age", "sex"])["age"] == (
        "not_estimable: too few events (2) for 3 parameter(s)")


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
    design = pd.DataFrame({"a": (complete["group"] == "a").astype(float), "age": complete["age"],
                           "female": (complete["sex"] == "female").astype(float),
                           "T": complete["time_months"], "E": complete["event"]})
    direct = CoxPHFitter().fit(design, "T", "E").params_.to_numpy()
    assert table["coef"].to_numpy() == pytest.approx(direct, abs=1e-8)


def test_ph_test_rows_and_global_statistic() -> None:
    result = cox_model(cohort(n=150), reference_group="a")
    ph = result.ph_test
    assert list(ph.columns) == PH_COLUMNS and ph["term"].tolist() == ["group=b", "GLOBAL"]
    assert ph["statistic"].iloc[1] == pytest.approx(ph["statistic"].iloc[0], rel=1e-9)  # one term: global = term
    multi = cox_model(cohort(n=150), reference_group="a", covariates=["age", "sex"], model="multivariable").ph_test
    assert multi["term"].tolist() == ["group=b", "age", "sex=male", "GLOBAL"]
    assert multi.set_index("term").loc["GLOBAL", "df"] == 3 and (multi["time_transform"] == "rank").all()


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


@pytest.mark.parametrize("cluster", [False, True])
def test_scaled_schoenfeld_residuals_equal_lifelines_with_ties_and_time_zero(cluster) -> None:
    """The O(n log n) residuals reproduce lifelines' own, row for row, in the order its PH test pairs them with times."""
    from lifelines.statistics import proportional_hazard_test

    from pipelines.stats.ph_test import scaled_schoenfeld_residuals

    rng = np.random.default_rng(5)
    n = 1500
    data = pd.DataFrame({"T": rng.integers(0, 40, n).astype(float), "E": (rng.random(n) < 0.6).astype(int),
                         "a": rng.normal(size=n), "b": (rng.random(n) < 0.4).astype(float),
                         "patient": rng.integers(0, 500, n).astype(str)})
    fitted = CoxPHFitter().fit(data if cluster else data.drop(columns="patient"), "T", "E",
                               cluster_col="patient" if cluster else None)
    training = data if cluster else data.drop(columns="patient")
    ours = scaled_schoenfeld_residuals(fitted, training)
    reference = fitted.compute_residuals(training, kind="scaled_schoenfeld")
    assert ours.to_numpy() == pytest.approx(reference.to_numpy(), abs=1e-10)
    tests = [proportional_hazard_test(fitted, training, "rank", precomputed_residuals=r).summary["test_statistic"]
             for r in (ours, reference)]
    assert tests[0].to_numpy() == pytest.approx(tests[1].to_numpy(), rel=1e-10)


@pytest.mark.parametrize("variance", ["cluster", "robust"])
def test_clustered_fitter_is_lifelines_with_linear_score_residuals(variance):
    """Robust standard errors, p-values and CIs equal stock lifelines' (heavy ties, several rows per cluster)."""
    from pipelines.stats.sandwich import ClusteredCoxPHFitter

    rng = np.random.default_rng(11)
    n = 2000
    data = pd.DataFrame({"T": rng.integers(0, 60, n).astype(float), "E": (rng.random(n) < 0.6).astype(int),
                         "a": rng.normal(size=n), "b": (rng.random(n) < 0.3).astype(float),
                         "patient": rng.integers(0, 700, n).astype(str)})
    options = {"cluster_col": "patient"} if variance == "cluster" else {"robust": True}
    training = data if variance == "cluster" else data.drop(columns="patient")
    ours, stock = (fitter().fit(training, "T", "E", **options) for fitter in (ClusteredCoxPHFitter, CoxPHFitter))
    assert type(ours._model).__module__ == "pipelines.stats.sandwich"  # the linear score residuals were the ones used
    assert ours.summary.to_numpy() == pytest.approx(stock.summary.to_numpy(), rel=1e-9)
    assert ours.standard_errors_.to_numpy() != pytest.approx(np.sqrt(np.diag(ours.variance_matrix_)), rel=1e-3)  # really robust
