"""IPTW against R live (glm, weights, coxph with weights and robust variance, weighted survfit), E-values against
VanderWeele & Ding's worked examples, and a simulation with a known confounded treatment effect.

The hand-written frame mixes a numeric, a boolean and a three-level text covariate with missing values,
integer times with ties, and groups of unequal size: a shape the fixture generator never produces.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import labels
from pipelines.analyses import analysis_iptw, endpoint_frame
from pipelines.catalogue import load_catalogue
from pipelines.stats import cox_model
from pipelines.stats.frame import is_categorical
from pipelines.stats.iptw import IptwResults, e_value, e_value_ci, iptw_analysis, iptw_frames, landmark_model
from tests.stats import oracle

R_IPTW = """
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
run <- function(job) {
  d <- read.csv(job$csv, colClasses = "character", na.strings = "")
  for (column in unlist(job$numeric)) d[[column]] <- as.numeric(d[[column]])
  covariates <- unlist(job$covariates)
  d <- d[d$group %in% c(job$treated, job$reference), ]
  d <- d[complete.cases(d[, covariates, drop = FALSE]), ]
  d$treated <- as.numeric(d$group == job$treated)
  terms <- sapply(covariates, function(c) if (c %in% unlist(job$numeric)) c else paste0("factor(", c, ")"))
  ps <- fitted(glm(reformulate(terms, "treated"), family = binomial, data = d,
                   control = glm.control(epsilon = 1e-14, maxit = 100)))
  share <- mean(d$treated)
  w <- ifelse(d$treated == 1, share / ps, (1 - share) / (1 - ps))
  if (length(job$truncate)) {
    q <- quantile(w, unlist(job$truncate) / 100)
    w <- pmin(pmax(w, q[1]), q[2])
  }
  cluster <- if (is.null(job$cluster)) seq_len(nrow(d)) else d[[job$cluster]]
  fit <- coxph(Surv(time_months, event) ~ treated, data = d, weights = w, cluster = cluster,
               control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
  d$cl <- cluster
  curves <- lapply(c(job$reference, job$treated), function(g) {
    s <- survfit(Surv(time_months, event) ~ 1, data = d[d$group == g, ], weights = w[d$group == g],
                 cluster = cl, conf.type = "log-log", robust = TRUE)
    stopifnot(!s$logse)  # robust: std.err is the SE of S itself
    keep <- s$n.event > 0
    list(time = s$time[keep], survival = s$surv[keep], std_err = s$std.err[keep], lower = s$lower[keep],
         upper = s$upper[keep])
  })
  names(curves) <- c(job$reference, job$treated)
  list(row = d$row, ps = unname(ps), w = unname(w), coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))),
       rscore = c(fit$rscore), n_clusters = length(unique(cluster)), curves = curves)
}
jobs <- fromJSON(args[1], simplifyVector = FALSE)
writeLines(toJSON(lapply(jobs, run), digits = I(17), auto_unbox = TRUE, na = "null"), args[2])
"""


def _r_iptw(jobs: list[dict], frames: list[pd.DataFrame], folder: Path) -> list[dict]:
    """R's IPTW of each job on its frame (written as CSV with a ``row`` column: the frame's position)."""
    rscript = oracle.rscript()
    for i, (job, frame) in enumerate(zip(jobs, frames, strict=True)):
        job["csv"] = str(folder / f"frame{i}.csv")
        job["numeric"] = ["time_months", "event", *(c for c in job["covariates"] if not is_categorical(frame[c]))]
        frame.assign(row=np.arange(len(frame))).to_csv(job["csv"], index=False)
    (folder / "iptw.R").write_text(R_IPTW)
    (folder / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run([rscript, folder / "iptw.R", folder / "jobs.json", folder / "out.json"], check=True)
    return json.loads((folder / "out.json").read_text())


def _compare(ours: IptwResults, r: dict, frame: pd.DataFrame, where: str) -> None:
    """Weights (per subject), the weighted Cox and the weighted KM curves (robust SE and CI): R's to 1e-6."""
    assert list(frame.index.get_indexer(ours.weights.index)) == [int(i) for i in np.atleast_1d(r["row"])], where
    np.testing.assert_allclose(ours.weights, r["w"], rtol=1e-6, err_msg=where)
    cox = ours.cox.iloc[0]
    assert cox["status"] == "ok", where
    assert cox["coef"] == pytest.approx(r["coef"], rel=1e-6), where
    assert cox["se"] == pytest.approx(r["se"], rel=1e-6), where
    assert cox["weighted_logrank_statistic"] == pytest.approx(r["rscore"], rel=1e-6), where
    assert cox["n_clusters"] == r["n_clusters"], where
    for group, curve in r["curves"].items():
        part = ours.km_curve[ours.km_curve["group"] == group]
        for name in ("time", "survival", "std_err", "lower", "upper"):
            theirs = np.array(np.atleast_1d(curve[name]), dtype=float)  # null (R's NA, where S = 0) -> NaN
            atol = 1e-12 if name == "std_err" else 0  # at S = 0 R's SE is rounding noise (~1e-17), ours 0
            np.testing.assert_allclose(part[name], theirs, rtol=1e-6, atol=atol, err_msg=f"{where} {group} {name}")


def _frame(n: int = 150, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n).round(1)
    male = rng.random(n) < 0.5
    stage = rng.choice(["I", "II", "III"], n, p=[0.3, 0.4, 0.3])
    logit = -0.5 + 0.05 * (age - 60) + 0.6 * male + np.select([stage == "II", stage == "III"], [0.5, 1.0], 0)
    new = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "group": np.where(new, "new", "old"),
            "time_months": rng.integers(1, 30, n).astype(float),
            "event": (rng.random(n) < 0.55).astype(int),
            "age": age,
            "male": male,
            "stage": stage,
        }
    )
    frame.loc[[3, 17, 40], "age"] = np.nan
    frame["stage"] = frame["stage"].astype(object).where(frame.index != 8, None)
    return frame


@pytest.mark.slow
def test_iptw_equals_r(tmp_path: Path) -> None:
    """Propensity scores, truncated weights, the weighted Cox (robust SE, robust score test), weighted KM: R's to 1e-6."""
    frame = _frame()
    covariates = ["age", "male", "stage"]
    job = {"treated": "new", "reference": "old", "covariates": covariates, "truncate": [5, 95]}
    r = _r_iptw([job], [frame], tmp_path)[0]
    ours = iptw_analysis(frame, treatment_group="new", reference_group="old", covariates=covariates, truncate=(5, 95))
    _compare(ours, r, frame, "hand-written")
    positivity = ours.positivity.set_index("group")
    assert positivity["n_excluded_missing"].sum() == 4
    assert 0 < positivity["n_truncated"].sum() <= 0.1 * positivity["n"].sum() + 2
    assert set(ours.balance["term"]) == {"age", "male=True", "stage=II", "stage=III"}


@pytest.mark.slow
def test_weighted_km_robust_variance_equals_r_clustered_and_down_to_zero(tmp_path: Path) -> None:
    """Weighted KM's infinitesimal-jackknife SE and CI (R ``survfit(weights, robust = TRUE, cluster)``) to 1e-6:
    clusters of 1 to 4 subjects with tied times inside a cluster, and a group whose curve ends at S = 0."""
    frame = _frame(120, 23).assign(clinic=lambda f: (f["id"] * 7 % 41).astype(str))  # 41 clinics, 2-3 subjects
    frame.loc[frame["clinic"] == "0", "time_months"] = 4.0  # a cluster with all its times tied
    last = frame.loc[frame["group"] == "old", "time_months"].idxmax()
    frame.loc[frame["time_months"] >= frame.at[last, "time_months"], "event"] = 1  # old's curve falls to 0
    covariates = ["age", "male"]
    jobs = [
        {"treated": "new", "reference": "old", "covariates": covariates, "truncate": [], "cluster": cluster}
        for cluster in ("clinic", None)
    ]
    for job, r in zip(jobs, _r_iptw(jobs, [frame, frame], tmp_path), strict=True):
        ours = iptw_analysis(
            frame, treatment_group="new", reference_group="old", covariates=covariates, cluster=job["cluster"]
        )
        _compare(ours, r, frame, f"cluster {job['cluster']}")
        old = ours.km_curve[ours.km_curve["group"] == "old"]
        assert old["survival"].iloc[-1] == 0 and old["std_err"].iloc[-1] == 0 and np.isnan(old["lower"].iloc[-1])
        assert (old["std_err"].iloc[:-1] > 0).all()
    clustered = iptw_analysis(
        frame, treatment_group="new", reference_group="old", covariates=covariates, cluster="clinic"
    )
    alone = iptw_analysis(frame, treatment_group="new", reference_group="old", covariates=covariates)
    assert not np.allclose(clustered.km_curve["std_err"], alone.km_curve["std_err"], equal_nan=True)


@pytest.mark.slow
def test_iptw_of_every_adjusted_analysis_equals_r(registry, tmp_path: Path) -> None:
    """Every catalogue analysis with ``adjust``, every endpoint and IPTW frame (the entry's groups, or each
    exposure landmark's frame): the published iptw tables equal R on that frame, and results.limits names it."""
    con, _ = registry
    cox, curves = con.execute("FROM results.iptw_cox").df(), con.execute("FROM results.iptw_km_curve").df()
    jobs, frames, stored = [], [], []
    for analysis in (a for a in load_catalogue() if a.adjust):
        for endpoint in analysis.endpoints:
            frame = endpoint_frame(con, analysis, endpoint)
            frame["group"] = frame["group"].astype(str)
            for design, ours in analysis_iptw(frame, analysis):
                own = [
                    t[(t["analysis_id"] == analysis.id) & (t["endpoint"] == endpoint) & (t["model"] == design.model)]
                    for t in (cox, curves)
                ]
                present = set(design.frame["group"])
                if not {design.treatment_group, design.reference_group} <= present:  # e.g. nobody operated by 6
                    assert own[0]["status"].str.startswith("not_estimable").all() and len(own[0]) == 1, design.model
                    continue
                jobs.append(
                    {
                        "treated": design.treatment_group,
                        "reference": design.reference_group,
                        "covariates": list(analysis.adjust.covariates),
                        "truncate": list(analysis.adjust.truncate) if analysis.adjust.truncate else [],
                        "cluster": analysis.cluster,
                    }
                )
                frames.append(design.frame)
                stored.append((f"{analysis.id}/{endpoint}/{design.model}", *own, ours, analysis.id, design.model))
    assert len(jobs) >= 8 and {s[4] for s in stored if s[5] == landmark_model(12)} == {"surgery_after_imatinib"}
    for r, frame, (where, stored_cox, stored_curve, ours, _, _) in zip(
        _r_iptw(jobs, frames, tmp_path), frames, stored, strict=True
    ):
        _compare(ours, r, frame, where)
        assert stored_cox["hr"].iloc[0] == pytest.approx(np.exp(r["coef"]), rel=1e-6), where
        assert len(stored_curve) == len(ours.km_curve), where
        assert stored_curve["survival"].to_numpy() == pytest.approx(ours.km_curve["survival"].to_numpy(), rel=1e-12)
    limits = con.execute(
        "SELECT endpoint, adjustment FROM results.limits WHERE analysis_id = 'surgery_after_imatinib'"
    ).fetchall()
    assert len(limits) == 2
    for endpoint, words in limits:
        assert "IPTW on the landmark frames at 6, 12, 24 months" in words, endpoint
        assert ", ".join(labels.model(f"iptw_landmark_{at}") for at in (6, 12, 24)) in words, endpoint
    labelled = con.execute(
        "SELECT DISTINCT model, design FROM published.v_hazard_ratios "
        "WHERE analysis_id = 'surgery_after_imatinib' AND source = 'iptw' ORDER BY model"
    ).fetchall()
    assert labelled == [(landmark_model(at), "IPTW-adjusted landmark") for at in (12, 24, 6)]


def test_landmark_iptw_frames_by_hand() -> None:
    """Landmark 12: exposed at exactly 12 counts as exposed, exposed at 13 as unexposed, an event at 12 is gone;
    the entry's own groups (here the naive ones) never reach the weighting."""
    frame = pd.DataFrame(
        {
            "group": ["surgery", "surgery", "surgery", "alone", "alone", "alone", "surgery"],
            "time_months": [30.0, 40.0, 12.0, 20.0, 14.5, 50.0, 12.5],
            "event": [1, 0, 1, 1, 0, 1, 1],
            "surgery_months": [12.0, 13.0, 5.0, np.nan, np.nan, np.nan, 2.0],
            "age": [50.0, 61.0, 70.0, 58.0, 66.0, 49.0, 55.0],
        }
    )
    (own,) = iptw_frames(frame, groups=["alone", "surgery"], reference_group="alone")
    assert (own.model, own.treatment_group, own.reference_group) == ("iptw", "surgery", "alone")
    designs = iptw_frames(
        frame, groups=["alone", "surgery"], reference_group="alone", exposure="surgery_months", landmarks=[6, 12]
    )
    assert [d.model for d in designs] == ["iptw_landmark_6", "iptw_landmark_12"]
    twelve = designs[1]
    assert (twelve.treatment_group, twelve.reference_group) == ("exposed", "unexposed")
    assert twelve.frame["group"].tolist() == ["exposed", "unexposed", "unexposed", "unexposed", "unexposed", "exposed"]
    assert twelve.frame["time_months"].tolist() == [18.0, 28.0, 8.0, 2.5, 38.0, 0.5]
    result = iptw_analysis(
        twelve.frame, treatment_group="exposed", reference_group="unexposed", covariates=["age"], model=twelve.model
    )
    for table in (result.balance, result.positivity, result.km_curve, result.cox):
        assert set(table["model"]) == {"iptw_landmark_12"}
    assert result.positivity.set_index("group")["n"].to_dict() == {"unexposed": 4, "exposed": 2}
    (early,) = iptw_frames(
        frame, groups=["alone", "surgery"], reference_group="alone", exposure="surgery_months", landmarks=[1]
    )
    nobody = iptw_analysis(early.frame, treatment_group="exposed", reference_group="unexposed", covariates=["age"])
    assert nobody.cox["status"].tolist() == ["not_estimable: a group has no complete-case subjects"]
    assert nobody.cox["e_value"].isna().all() and not len(nobody.km_curve)


def test_balance_improves_and_weights_are_stabilised() -> None:
    ours = iptw_analysis(_frame(600, 5), treatment_group="new", reference_group="old", covariates=["age", "stage"])
    assert ours.balance["smd_after"].abs().max() < 0.05 < ours.balance["smd_before"].abs().max()
    assert ours.weights.mean() == pytest.approx(1.0, abs=0.1)  # stabilised: mean about 1
    positivity = ours.positivity
    assert (positivity["effective_n"] <= positivity["n"]).all()


def test_e_value_worked_examples() -> None:
    """VanderWeele & Ding (2017): RR 3.9 -> 7.26, its CI limit 1.8 -> 3.0; a protective RR is inverted."""
    assert e_value(3.9, common=False) == pytest.approx(7.26, abs=0.005)
    assert e_value_ci(1.8, 8.4, common=False) == pytest.approx(3.0, abs=0.005)
    assert e_value(1 / 3.9, common=False) == pytest.approx(7.26, abs=0.005)
    assert e_value_ci(0.8, 1.2, common=False) == 1.0
    # common outcome: HR 2 -> RR (1 - 0.5^sqrt 2) / (1 - 0.5^sqrt 0.5) = 1.6236 -> E 2.6237
    rr = (1 - 0.5 ** np.sqrt(2)) / (1 - 0.5 ** np.sqrt(0.5))
    assert e_value(2.0, common=True) == pytest.approx(rr + np.sqrt(rr * (rr - 1)), rel=1e-12)


def _confounded(n: int, seed: int, *, p_treated: tuple[float, float] = (0.2, 0.8)) -> pd.DataFrame:
    """Exponential times; a binary confounder x raises the hazard (x3) and the chance of treatment (``p_treated``).

    True conditional HR of treatment 0.5.  The Cox HR is not collapsible, so the marginal HR that IPTW
    estimates is not exactly 0.5: the truth is the HR of the same population with treatment randomised
    (``p_treated`` = (0.5, 0.5)), fitted on a large sample.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(n) < 0.5
    treated = rng.random(n) < np.where(x, p_treated[1], p_treated[0])
    hazard = 0.05 * np.where(x, 3.0, 1.0) * np.where(treated, 0.5, 1.0)
    time = rng.exponential(1 / hazard)
    censor = rng.uniform(0, 60, n)
    return pd.DataFrame(
        {
            "group": np.where(treated, "treated", "control"),
            "time_months": np.minimum(time, censor),
            "event": (time <= censor).astype(int),
            "x": x,
        }
    )


@pytest.mark.slow
def test_simulation_iptw_recovers_marginal_effect() -> None:
    """Naive HR biased (treatment looks less protective); the IPTW HR's CI covers the true marginal HR."""
    frame = _confounded(4000, 7)
    truth = cox_model(_confounded(200_000, 8, p_treated=(0.5, 0.5)), reference_group="control", ph_test=False)
    true_hr = truth.coefficients["hr"].iloc[0]
    naive = cox_model(frame, reference_group="control", ph_test=False).coefficients.iloc[0]
    adjusted = iptw_analysis(frame, treatment_group="treated", reference_group="control", covariates=["x"]).cox.iloc[0]
    assert 0.5 < true_hr < 0.6  # marginal: attenuated towards 1 from the conditional 0.5
    assert naive["hr_lower"] > true_hr * 1.2
    assert adjusted["hr_lower"] < true_hr < adjusted["hr_upper"]
