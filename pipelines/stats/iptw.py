"""Inverse probability of treatment weighting (IPTW): the confounding-adjusted comparison of two groups.

Propensity score by logistic regression (statsmodels GLM, binomial) on declared covariates,
stabilised ATE weights with optional truncation at percentiles, balance (standardised mean
differences before and after weighting), positivity (propensity ranges, overlap, extreme weights,
effective sample sizes), weighted Kaplan-Meier curves and the weighted Cox model with robust
variance (R ``coxph(..., weights = w, cluster = id)``), its robust score test as the weighted
log-rank test, and the E-value of the hazard ratio.  Conventions: docs/statistics.md, "IPTW".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from pipelines.stats.counting_cox import fit_counting_process_cox
from pipelines.stats.cox import COX_SCHEMA, Term, coefficient_rows, encode_covariates, guarded_fit
from pipelines.stats.frame import EVENT, GROUP, TIME, CiTransform, order_groups, select_groups, typed
from pipelines.stats.km import pointwise_ci
from pipelines.stats.timevarying import EXPOSED, UNEXPOSED, landmark_frame

SMD_THRESHOLD = 0.1  # |SMD| above it: the covariate is imbalanced
EXTREME_WEIGHTS = (0.1, 10.0)  # stabilised weights outside this range are counted as extreme
COMMON_OUTCOME = 0.15  # above this proportion of events the hazard ratio is converted before the E-value
MODEL = "iptw"  # the comparison of the entry's own groups; a landmark frame's is iptw_landmark_<L>
BALANCE_SCHEMA = {
    "model": "string",
    "term": "string",
    "variable": "string",
    "kind": "string",
    "mean_treated": "float64",
    "mean_reference": "float64",
    "smd_before": "float64",
    "mean_treated_weighted": "float64",
    "mean_reference_weighted": "float64",
    "smd_after": "float64",
    "imbalanced_before": "boolean",
    "imbalanced_after": "boolean",
}
POSITIVITY_SCHEMA = {
    "model": "string",
    "group": "string",
    "n": "int64",
    "n_excluded_missing": "int64",
    "ps_min": "float64",
    "ps_p05": "float64",
    "ps_median": "float64",
    "ps_p95": "float64",
    "ps_max": "float64",
    "overlap_lower": "float64",
    "overlap_upper": "float64",
    "n_outside_overlap": "int64",
    "weight_min": "float64",
    "weight_max": "float64",
    "n_extreme_weights": "int64",
    "n_truncated": "int64",
    "effective_n": "float64",
}
WEIGHTED_CURVE_SCHEMA = {
    "model": "string",
    "group": "string",
    "time": "float64",
    "weighted_at_risk": "float64",
    "weighted_events": "float64",
    "survival": "float64",
    "std_err": "float64",
    "lower": "float64",
    "upper": "float64",
}
IPTW_COX_SCHEMA = {
    **COX_SCHEMA,
    "adjustment": "string",
    "weighted_logrank_statistic": "float64",
    "weighted_logrank_p": "float64",
    "e_value": "float64",
    "e_value_ci": "float64",
    "e_value_rule": "string",
}

IPTW_SCHEMAS = {  # results table -> columns of IptwResults' tables
    "iptw_balance": BALANCE_SCHEMA,
    "iptw_positivity": POSITIVITY_SCHEMA,
    "iptw_km_curve": WEIGHTED_CURVE_SCHEMA,
    "iptw_cox": IPTW_COX_SCHEMA,
}


@dataclass(frozen=True)
class IptwResults:
    """The tables of one IPTW comparison (columns in docs/statistics.md, "IPTW") and the weights per subject."""

    balance: pd.DataFrame
    positivity: pd.DataFrame
    km_curve: pd.DataFrame
    cox: pd.DataFrame
    weights: pd.Series  # index of the complete-case subjects of the frame


def propensity_scores(data: pd.DataFrame, treated: pd.Series, covariates: Sequence[str]) -> pd.Series:
    """P(treated | covariates) by maximum-likelihood logistic regression (R ``glm(family = binomial)``).

    Categorical covariates are dummy-coded against their first level, as in the Cox models.
    """
    import statsmodels.api as sm  # here, not at import: the code location loads this module for its schemas

    design, _terms = encode_covariates(data, covariates)
    model = sm.GLM(treated.astype(float), sm.add_constant(design, has_constant="add"), family=sm.families.Binomial())
    return pd.Series(model.fit(tol=1e-12, maxiter=100).fittedvalues, index=data.index)


def stabilised_weights(
    treated: pd.Series, ps: pd.Series, truncate: tuple[float, float] | None = None
) -> tuple[pd.Series, int]:
    """ATE weights P(T) / ps for the treated and (1 - P(T)) / (1 - ps) for the reference, and how many were truncated.

    ``truncate`` = (lower, upper) percentiles: weights beyond the weights' own percentiles (R's
    ``quantile`` type 7) are set to them.
    """
    share = float(treated.mean())
    weights = pd.Series(np.where(treated, share / ps, (1 - share) / (1 - ps)), index=ps.index)
    if truncate is None:
        return weights, 0
    low, high = np.percentile(weights, truncate)
    return weights.clip(low, high), int(((weights < low) | (weights > high)).sum())


def _mean_variance(values: np.ndarray, weights: np.ndarray, binary: bool) -> tuple[float, float]:
    """Weighted mean and variance: p(1 - p) for a 0/1 term, else the unbiased weighted variance (R ``cov.wt``)."""
    mean = float(np.average(values, weights=weights))
    if binary:
        return mean, mean * (1 - mean)
    total = weights.sum()
    return mean, float((weights * (values - mean) ** 2).sum() * total / (total**2 - (weights**2).sum()))


def standardised_difference(values: np.ndarray, treated: np.ndarray, weights: np.ndarray, binary: bool) -> tuple:
    """(mean treated, mean reference, SMD) with SMD = (m1 - m0) / sqrt((v1 + v0) / 2) (tableone, cobalt's pooled SD)."""
    m1, v1 = _mean_variance(values[treated], weights[treated], binary)
    m0, v0 = _mean_variance(values[~treated], weights[~treated], binary)
    pooled = np.sqrt((v1 + v0) / 2)
    return m1, m0, (m1 - m0) / pooled if pooled > 0 else np.nan


def balance_table(design: pd.DataFrame, terms: Sequence[Term], treated: pd.Series, weights: pd.Series) -> pd.DataFrame:
    """Per design term: the means and SMD unweighted and weighted, flagged above ``SMD_THRESHOLD``."""
    is_treated = treated.to_numpy(bool)
    rows = []
    for term in terms:
        values = design[term.name].to_numpy(float)
        binary = term.level is not None or set(np.unique(values)) <= {0.0, 1.0}
        before = standardised_difference(values, is_treated, np.ones(len(values)), binary)
        after = standardised_difference(values, is_treated, weights.to_numpy(float), binary)
        rows.append(
            {
                "term": term.name,
                "variable": term.variable,
                "kind": "binary" if binary else "continuous",
                "mean_treated": before[0],
                "mean_reference": before[1],
                "smd_before": before[2],
                "mean_treated_weighted": after[0],
                "mean_reference_weighted": after[1],
                "smd_after": after[2],
                "imbalanced_before": abs(before[2]) > SMD_THRESHOLD,
                "imbalanced_after": abs(after[2]) > SMD_THRESHOLD,
            }
        )
    return typed(rows, BALANCE_SCHEMA)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: how many unweighted subjects the weights are worth."""
    return float(weights.sum() ** 2 / (weights**2).sum()) if len(weights) else 0.0


def positivity_table(
    groups: pd.Series, order: Sequence[str], ps: pd.Series, weights: pd.Series, truncated: pd.Series, excluded: dict
) -> pd.DataFrame:
    """Per group: the propensity score's spread, the common-support region (overlap) and extreme weights."""
    lower = max(ps[groups == g].min() for g in order)
    upper = min(ps[groups == g].max() for g in order)
    rows = []
    for label in order:
        in_group = (groups == label).to_numpy()
        p, w = ps[in_group].to_numpy(), weights[in_group].to_numpy()
        rows.append(
            {
                "group": label,
                "n": int(in_group.sum()),
                "n_excluded_missing": excluded[label],
                "ps_min": p.min(),
                "ps_p05": np.percentile(p, 5),
                "ps_median": np.median(p),
                "ps_p95": np.percentile(p, 95),
                "ps_max": p.max(),
                "overlap_lower": lower,
                "overlap_upper": upper,
                "n_outside_overlap": int(((p < lower) | (p > upper)).sum()),
                "weight_min": w.min(),
                "weight_max": w.max(),
                "n_extreme_weights": int(((w < EXTREME_WEIGHTS[0]) | (w > EXTREME_WEIGHTS[1])).sum()),
                "n_truncated": int(truncated[in_group].sum()),
                "effective_n": effective_sample_size(w),
            }
        )
    return typed(rows, POSITIVITY_SCHEMA)


def robust_log_survival_variance(
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray,
    cluster: np.ndarray,
    times: np.ndarray,
    at_risk: np.ndarray,
    events: np.ndarray,
) -> np.ndarray:
    """Infinitesimal-jackknife variance of log S at ``times``: sum over clusters of (sum w_i U_i(t))^2.

    U_i(t) = d log S(t) / d w_i = -sum_{s <= t} (dN_i(s) - Y_i(s) h(s)) / (n_w(s) - d_w(s)), h = d_w / n_w:
    B(t) = sum_{s <= t} h / (n_w - d_w) while i is at risk beyond t, else the constant
    k_i = B(t_i) - e_i / (n_w(t_i) - d_w(t_i)).  A cluster's sum is B(t) R_c(t) + K_c(t) (R_c: weight of
    its members still beyond t, K_c: sum of w k of the others), so the variance is
    B^2 sum R_c^2 + 2 B sum R_c K_c + sum K_c^2, each sum updated as members pass their time: O(n log n).
    Infinite from the first time where every weighted subject at risk has the event (S = 0).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(at_risk > events, 1 / (at_risk - events), np.inf)
        b = np.cumsum(np.where(at_risk > events, events / at_risk * a, np.inf))
    last = np.searchsorted(times, time, side="right") - 1  # the last event time <= t_i
    own = np.where(last >= 0, b[np.maximum(last, 0)], 0.0)
    at_own = np.searchsorted(times, time)
    k = own - np.where(event == 1, a[np.minimum(at_own, len(times) - 1)], 0.0)
    k = np.where(np.isfinite(k), k, 0.0)  # leaves only once the variance is infinite: kept out of the sums
    order = np.lexsort((time, cluster))  # each cluster's members in time order
    c, w, wk = cluster[order], weights[order], (weights * k)[order]
    starts = np.r_[True, c[1:] != c[:-1]]
    block = np.cumsum(starts) - 1
    sizes = np.bincount(block)

    def earlier(values: np.ndarray) -> np.ndarray:  # sum over the cluster's members before this one
        cumulative = np.cumsum(values) - values
        return cumulative - np.repeat(cumulative[starts], sizes)

    total = np.bincount(block, weights=w)
    r_before, k_before = total[block] - earlier(w), earlier(wk)  # R_c and K_c just before this member leaves
    r_after, k_after = r_before - w, k_before + wk
    by_time = np.argsort(time[order], kind="stable")
    passed = np.searchsorted(time[order][by_time], times, side="right")  # members gone by each event time

    def aggregate(change: np.ndarray) -> np.ndarray:
        return np.r_[0.0, np.cumsum(change[by_time])][passed]

    rr = (total**2).sum() + aggregate(r_after**2 - r_before**2)
    rk = aggregate(r_after * k_after - r_before * k_before)
    kk = aggregate(k_after**2 - k_before**2)
    with np.errstate(invalid="ignore"):
        variance = b**2 * rr + 2 * b * rk + kk
    return np.where(np.isfinite(b), variance, np.inf)


def weighted_kaplan_meier(
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray,
    ci_transform: CiTransform = "log-log",
    cluster: np.ndarray | None = None,
) -> pd.DataFrame:
    """Weighted KM at each event time: S = prod(1 - d_w / n_w), CI from the robust (infinitesimal-jackknife) variance.

    d_w and n_w are the summed weights of the events and of the subjects at risk; the variance of log S
    is :func:`robust_log_survival_variance`, clustered on ``cluster`` (default: each subject its own):
    R ``survfit(Surv(t, e) ~ 1, weights = w, robust = TRUE, cluster = cluster)``, whose ``std.err`` is
    S times its square root (0 where S = 0, as R's up to rounding).  The weighted Greenwood variance would
    treat the weights as counts of subjects.
    """
    times = np.unique(time[event == 1])
    at_risk = np.array([weights[time >= t].sum() for t in times])
    events = np.array([weights[(time == t) & (event == 1)].sum() for t in times])
    survival = np.cumprod(1 - events / at_risk)
    ids = np.arange(len(time)) if cluster is None else pd.factorize(cluster)[0]
    variance = robust_log_survival_variance(time, event, weights, ids, times, at_risk, events)
    lower, upper = pointwise_ci(survival, variance, ci_transform)
    std_err = np.where(survival > 0, survival * np.sqrt(np.where(np.isfinite(variance), variance, 0.0)), 0.0)
    return pd.DataFrame(
        {"time": times, "weighted_at_risk": at_risk, "weighted_events": events, "survival": survival}
    ).assign(std_err=std_err, lower=lower, upper=upper)


def e_value(ratio: float, *, common: bool) -> float:
    """VanderWeele & Ding's E-value of a ratio: RR + sqrt(RR (RR - 1)), with RR >= 1 (a ratio below 1 is inverted).

    ``common``: a hazard ratio of an outcome that is not rare (> 15 % events) is first converted to a
    risk ratio, RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1 / HR)) (VanderWeele 2020).
    """
    if not np.isfinite(ratio) or ratio <= 0:
        return np.nan
    if common:
        ratio = (1 - 0.5 ** np.sqrt(ratio)) / (1 - 0.5 ** np.sqrt(1 / ratio))
    rr = max(ratio, 1 / ratio)
    return float(rr + np.sqrt(rr * (rr - 1)))


def e_value_ci(lower: float, upper: float, *, common: bool) -> float:
    """E-value of the CI limit closer to 1; 1 when the interval contains 1."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return np.nan
    if lower <= 1 <= upper:
        return 1.0
    return e_value(lower if lower > 1 else upper, common=common)


def landmark_model(landmark: float) -> str:
    """The label of the IPTW comparison on the landmark frame at ``landmark`` months (lines up with ``landmark_<L>``)."""
    return f"{MODEL}_landmark_{landmark:g}"


@dataclass(frozen=True)
class IptwFrame:
    """One frame an IPTW comparison runs on, its label (``model``) and its treatment and reference groups."""

    model: str
    frame: pd.DataFrame
    treatment_group: str
    reference_group: str


def iptw_frames(
    frame: pd.DataFrame,
    *,
    groups: Sequence[str],
    reference_group: str,
    exposure: str | None = None,
    landmarks: Sequence[float] = (),
) -> list[IptwFrame]:
    """The frames of an entry's IPTW: its own two groups, or with an exposure the landmark frame at each L.

    An exposure that starts during follow-up makes the entry's groups the naive, immortal-time biased
    ones, which weighting cannot mend; so the propensity is fitted among the subjects still event-free
    and followed at L, the treatment being exposure by L (``exposed`` vs ``unexposed``, time from L).
    """
    if exposure is None:
        treatment = next(g for g in groups if g != reference_group)
        return [IptwFrame(MODEL, frame, treatment, reference_group)]
    cohort = order_groups(frame, groups)[0]
    return [
        IptwFrame(landmark_model(at), landmark_frame(cohort, exposure=exposure, landmark=at), EXPOSED, UNEXPOSED)
        for at in landmarks
    ]


def _weighted_cox(data: pd.DataFrame, term: Term, weights: pd.Series, cluster: pd.Series, model: str) -> pd.DataFrame:
    """The IPTW hazard ratio (group term only), robust variance, robust score test, and E-values."""
    design = pd.DataFrame({term.name: (data[GROUP] == term.level).to_numpy(float)}, index=data.index)
    events = int(data[EVENT].sum())
    fitted, status = guarded_fit(
        lambda: fit_counting_process_cox(design, None, data[TIME], data[EVENT], cluster, weights)
    )
    if status == "ok" and events <= 1:
        fitted, status = None, f"not_estimable: too few events ({events}) for 1 parameter(s)"
    rows = coefficient_rows(
        model,
        [term],
        fitted.summary if fitted else None,
        {term.name: status},
        n=len(data),
        events=events,
        n_excluded=0,
        n_clusters=int(cluster.nunique()),
    )
    common = events / max(len(data), 1) > COMMON_OUTCOME
    score = fitted.robust_score_test if fitted else np.nan
    row = rows.iloc[0]
    return rows.assign(
        adjustment="iptw",
        weighted_logrank_statistic=score,
        weighted_logrank_p=chi2.sf(score, 1) if fitted else np.nan,
        e_value=e_value(row["hr"], common=common),
        e_value_ci=e_value_ci(row["hr_lower"], row["hr_upper"], common=common),
        e_value_rule="common outcome: HR converted to RR by sqrt" if common else "rare outcome: HR as RR",
    )


def iptw_analysis(
    frame: pd.DataFrame,
    *,
    treatment_group: str,
    reference_group: str,
    covariates: Sequence[str],
    truncate: tuple[float, float] | None = None,
    cluster: str | None = None,
    ci_transform: CiTransform = "log-log",
    model: str = MODEL,
) -> IptwResults:
    """IPTW comparison of ``treatment_group`` with ``reference_group`` on an analysis frame (one row per subject).

    Complete cases on the covariates (the excluded are counted per group).  Works on any frame of
    the analysis shape, e.g. a landmark frame (``model`` labels every row: :func:`landmark_model`).
    ``cluster``: the independent unit when subjects are not (the robust variance is clustered on it;
    otherwise each subject is its own cluster).
    """
    data, order = select_groups(
        frame, [reference_group, treatment_group], [*covariates, *([cluster] if cluster else [])]
    )
    complete = data.dropna(subset=list(covariates))
    excluded = (data[GROUP].value_counts() - complete[GROUP].value_counts()).reindex(order, fill_value=0)
    treated = complete[GROUP] == treatment_group
    design, terms = encode_covariates(complete, covariates)
    term = Term(f"{GROUP}={treatment_group}", GROUP, treatment_group, reference_group)
    if treated.all() or (~treated).all() or not len(complete):
        return _empty(order, term, excluded, model)
    ps = propensity_scores(complete, treated, covariates)
    weights, _ = stabilised_weights(treated, ps, truncate)
    raw, _ = stabilised_weights(treated, ps)
    groups = complete[GROUP].astype(str)
    ids = complete[cluster].astype(str) if cluster else pd.Series(np.arange(len(complete)), index=complete.index)
    curves = [
        weighted_kaplan_meier(
            complete.loc[groups == g, TIME].to_numpy(float),
            complete.loc[groups == g, EVENT].to_numpy(int),
            weights[groups == g].to_numpy(),
            ci_transform,
            ids[groups == g].to_numpy(),
        ).assign(group=g)
        for g in order
    ]
    return IptwResults(
        balance=typed(balance_table(design, terms, treated, weights).assign(model=model), BALANCE_SCHEMA),
        positivity=typed(
            positivity_table(groups, order, ps, weights, raw != weights, excluded.to_dict()).assign(model=model),
            POSITIVITY_SCHEMA,
        ),
        km_curve=typed(pd.concat(curves, ignore_index=True).assign(model=model), WEIGHTED_CURVE_SCHEMA),
        cox=typed(_weighted_cox(complete, term, weights, ids, model), IPTW_COX_SCHEMA),
        weights=weights,
    )


def _empty(order: Sequence[str], term: Term, excluded: pd.Series, model: str) -> IptwResults:
    """A comparison with one group empty: the Cox row says so, the other tables are empty."""
    status = "not_estimable: a group has no complete-case subjects"
    rows = coefficient_rows(model, [term], None, {term.name: status}, n=0, events=0, n_excluded=int(excluded.sum()))
    return IptwResults(
        typed([], BALANCE_SCHEMA),
        typed([], POSITIVITY_SCHEMA),
        typed([], WEIGHTED_CURVE_SCHEMA),
        typed(rows.reindex(columns=list(IPTW_COX_SCHEMA)).assign(adjustment="iptw"), IPTW_COX_SCHEMA),
        pd.Series(dtype=float),
    )
