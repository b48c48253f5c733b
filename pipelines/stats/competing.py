"""Competing risks: Aalen-Johansen cumulative incidence (R ``cmprsk::cuminc``), cause-specific Cox and Fine-Gray (``crr``).

A competing-risk frame is an analysis frame with a ``cause`` column: 0 censored, 1 the event of
interest, 2, 3, ... the competing events (OS: 1 death from GIST, 2 death from another known cause,
3 death of unknown cause; PFS/RFS: 1 progression or recurrence, 2 death before it; docs/statistics.md,
"Competing risks").  ``event`` (any cause) is what the Kaplan-Meier tables use; here every cause is
estimated on its own, the others competing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError
from scipy.stats import chi2

from pipelines.stats.counting_cox import CountingProcessCox
from pipelines.stats.cox import COX_SCHEMA, cox_design, fit_design
from pipelines.stats.frame import DEFAULT_LANDMARKS, EVENT, GROUP, TIME, Z95, select_groups, typed

CAUSE = "cause"
CAUSE_LABELS: dict[str, dict[int, str]] = {
    "OS": {1: "death_gist", 2: "death_other", 3: "death_unknown"},
    "PFS": {1: "progression", 2: "death_before_progression"},
    "RFS": {1: "recurrence", 2: "death_before_recurrence"},
}
CIF_SCHEMA = {
    "group": "string",
    "cause": "Int64",
    "cause_label": "string",
    "kind": "string",  # "curve" (0, every time a cause-k event occurs, the last follow-up time) or "landmark"
    "time": "float64",
    "n_at_risk": "int64",
    "n_events": "int64",  # cause-k events at this time (curve) or up to it (landmark)
    "cumulative_incidence": "float64",
    "variance": "float64",
    "lower": "float64",
    "upper": "float64",
    "ci_transform": "string",
}
GRAY_SCHEMA = {
    "cause": "Int64",
    "cause_label": "string",
    "n_groups": "int64",
    "statistic": "float64",
    "df": "Int64",
    "p": "float64",
    "status": "string",
}
COMPETING_COX_SCHEMA = {"cause": "Int64", "cause_label": "string", **COX_SCHEMA}


def _causes(data: pd.DataFrame, labels: Mapping[int, str]) -> list[int]:
    """Causes to report: every labelled one and any other code present (each is its own competing event)."""
    return sorted(set(labels) | {int(c) for c in data[CAUSE].unique() if c > 0})


def _group_cif(time: np.ndarray, cause: np.ndarray, k: int) -> pd.DataFrame:
    """Aalen-Johansen F_k(t) and cmprsk's variance (``cuminc``, Gray's delta method) at 0, each cause-k event time and
    the last follow-up time.

    F_k(t) = sum over times u <= t of S(u-) d_k(u) / n(u), S the all-cause Kaplan-Meier.  The variance is
    the one ``cuminc`` reports: with s = S(u-), s' = S(u), the running sums v1, v2, v3 collect, per event
    time, the cause-k and the other-cause contributions with a tie correction 1 - (d - 1)/(n - 1), and
    var F_k(t) = v1 + F^2 v3 - 2 F v2.
    """
    times, inverse = np.unique(time, return_inverse=True)
    d_k = np.bincount(inverse, cause == k, len(times))
    d_other = np.bincount(inverse, (cause > 0) & (cause != k), len(times))
    leaving = np.bincount(inverse, minlength=len(times))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    rows = [(0.0, len(time), 0, 0.0, 0.0)]
    s, f, v1, v2, v3 = 1.0, 0.0, 0.0, 0.0, 0.0
    for t, n, dk, do in zip(times, at_risk, d_k, d_other, strict=True):
        d = dk + do
        if d == 0:
            continue
        s_after = s * (n - d) / n
        f += s * dk / n
        for count, own in ((do, False), (dk, True)):
            if count == 0 or (not own and s_after <= 0):
                continue
            tie = 1.0 - (count - 1.0) / (n - 1.0) if count > 1 else 1.0
            t6 = s * s * tie * count / (n * n)
            t3 = 1.0 / s_after if s_after > 0 else 0.0
            t4 = 1.0 + t3 * f if own else f * t3
            v1, v2, v3 = v1 + t4 * t4 * t6, v2 + t3 * t4 * t6, v3 + t3 * t3 * t6
        if dk:
            rows.append((float(t), int(n), int(dk), f, v1 + f * f * v3 - 2 * f * v2))
        s = s_after
    if times[-1] > rows[-1][0]:  # the curve runs on to the last follow-up time, as cuminc's does
        rows.append((float(times[-1]), int(at_risk[-1]), 0, f, rows[-1][4]))
    return pd.DataFrame(rows, columns=["time", "n_at_risk", "n_events", "cumulative_incidence", "variance"])


def cif_ci(estimate: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% CI of F(t) symmetric on log(-log F): F^exp(+-z se / (F log F)), the usual interval with cuminc's variance.

    Where F = 0 (no event yet) the interval is [0, 0]; where F = 1 or the variance is 0, [F, F].
    """
    f, v = np.asarray(estimate, float), np.asarray(variance, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # exp overflows to inf: F ** inf = 0
        half = Z95 * np.sqrt(np.maximum(v, 0.0)) / (f * np.abs(np.log(f)))
        lower, upper = f ** np.exp(half), f ** np.exp(-half)
    flat = (f <= 0) | (f >= 1) | (v <= 0)
    return np.where(flat, f, lower), np.where(flat, f, upper)


def _landmark_rows(curve: pd.DataFrame, time: np.ndarray, cause: np.ndarray, k: int, at: float) -> dict[str, object]:
    """F_k(at): the curve's last value at or before ``at`` (cuminc's ``timepoints``); NaN beyond the follow-up."""
    before = curve[curve["time"] <= at].iloc[-1]
    beyond = at > time.max()
    return {
        "time": float(at),
        "n_at_risk": int((time >= at).sum()),
        "n_events": int(((cause == k) & (time <= at)).sum()),
        "cumulative_incidence": np.nan if beyond else before["cumulative_incidence"],
        "variance": np.nan if beyond else before["variance"],
    }


def cumulative_incidence(
    frame: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    landmarks: Sequence[float] = DEFAULT_LANDMARKS,
    labels: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """Cumulative incidence per group and cause, as R ``cmprsk::cuminc(time, cause, group)``: curve and landmarks.

    Parameters
    ----------
    frame
        Competing-risk frame (``time_months``, ``cause``, ``group``).
    groups
        Groups in display order; a listed group without subjects has no rows.
    landmarks
        Times at which F_k(t) is reported (``kind = "landmark"``), with the subjects still at risk (time >= t)
        and the cause-k events so far; beyond a group's last follow-up time F_k is NaN.
    labels
        Cause code -> label (e.g. ``CAUSE_LABELS["OS"]``); a labelled cause without events still gets rows (F = 0).
    """
    data, order = select_groups(frame, groups, [CAUSE])
    labels = dict(labels or {})
    rows = []
    for label in order:
        part = data[data[GROUP] == label]
        if part.empty:
            continue
        time, cause = part[TIME].to_numpy(float), part[CAUSE].to_numpy(int)
        for k in _causes(data, labels):
            curve = _group_cif(time, cause, k).assign(kind="curve")
            marks = pd.DataFrame([_landmark_rows(curve, time, cause, k, at) for at in landmarks]).assign(
                kind="landmark"
            )
            for table in (curve, marks):
                rows.append(table.assign(group=label, cause=k, cause_label=labels.get(k, f"cause_{k}")))
    if not rows:
        return typed([], CIF_SCHEMA)
    table = pd.concat(rows, ignore_index=True)
    lower, upper = cif_ci(table["cumulative_incidence"].to_numpy(), table["variance"].to_numpy())
    return typed(table.assign(lower=lower, upper=upper, ci_transform="log-log"), CIF_SCHEMA)


def _shifted(after: np.ndarray, start: float) -> np.ndarray:
    """The values before each event time: ``after`` moved down one row, ``start`` first (S(t-), F(t-))."""
    return np.concatenate([np.full((1, *after.shape[1:]), start), after[:-1]])


def _gray_score(time: np.ndarray, cause: np.ndarray, group: np.ndarray, n_groups: int, k: int, rho: float) -> tuple:
    """Gray's (1988) score of groups 1..G-1 and its variance, for cause ``k``: what cmprsk's ``crstm`` computes.

    At each event time, with per group n (at risk), S(t-) (all-cause Kaplan-Meier), F(t-) (cumulative incidence
    of k) and h = n / S(t-): the pooled F0 jumps by D1 / sum h; the score of group i adds
    (1 - F0(t-))^rho (d1_i - D1 R_i / sum R), R = h (1 - F(t-)).  The variance is Gray's estimator: the
    weights a = (1 - F0(t-))^rho (diag h - h h' / sum h) and their running sums c (scaled by D1 / (sum h
    (1 - F0(t-)))) combine the cause-k and other-cause jumps of each group, with cmprsk's tie corrections.
    cmprsk walks the event times in a loop; here every running quantity is a cumulative product or sum over
    them (one array row per event time), so the test costs a few array passes rather than a Python step each.
    """
    times, inverse = np.unique(time, return_inverse=True)
    cells = inverse * n_groups + group
    shape = (len(times), n_groups)
    count = lambda mask: np.bincount(cells, mask, len(times) * n_groups).reshape(shape)  # noqa: E731
    d1, d2, leaving = count(cause == k), count((cause > 0) & (cause != k)), count(np.ones(len(time)))
    at_risk = leaving.sum(0) - np.vstack([np.zeros(n_groups), np.cumsum(leaving, 0)[:-1]])
    rows = (d1 + d2).sum(1) > 0
    n, e1, e2 = at_risk[rows], d1[rows], d2[rows]
    size = n_groups - 1
    active = n > 0
    safe_n = np.where(active, n, 1.0)
    s_after = np.cumprod(np.where(active, (safe_n - e1 - e2) / safe_n, 1.0), 0)
    s_before = _shifted(s_after, 1.0)
    f_before = _shifted(np.cumsum(np.where(active, s_before * e1 / safe_n, 0.0), 0), 0.0)
    h = np.where(active, n / np.where(active, s_before, 1.0), 0.0)
    total_h, total_r, events = h.sum(1), (h * (1 - f_before)).sum(1), e1.sum(1)
    f0 = np.cumsum(events / total_h)
    f0_before = _shifted(f0, 0.0)
    weight = (1 - f0_before) ** rho
    a = weight[:, None, None] * (
        h[:, :, None] * np.eye(n_groups) - h[:, :, None] * h[:, None, :] / total_h[:, None, None]
    )
    c = np.cumsum(a * (events / (total_h * (1 - f0_before)))[:, None, None], 0)[:, :size]  # after each time's update
    score = np.where(active, weight[:, None] * (e1 - events[:, None] * h * (1 - f_before) / total_r[:, None]), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = s_after > 0
        cause_t4 = np.where(kept, 1 - (1 - f0)[:, None] / np.where(kept, s_after, 1.0), 1.0)
        tie = np.where(events[:, None] > 1, 1 - (events[:, None] - 1) / (total_h[:, None] * s_before - 1), 1.0)
        cause_t3 = np.where(
            active & (events[:, None] > 0), tie * s_before * events[:, None] / (total_h[:, None] * safe_n), 0.0
        )
        own = kept & (e2 > 0)
        other_t4 = np.where(own, (1 - f0)[:, None] / np.where(own, s_after, 1.0), 0.0)
        other_tie = np.where(e2 > 1, 1 - (e2 - 1) / np.maximum(safe_n - 1, 1), 1.0)
        other_t3 = np.where(own, other_tie * s_before**2 * e2 / safe_n**2, 0.0)
    jumps = (  # (t4, t3, t1) per event time: the cause-k jumps, then the other causes'
        (cause_t4, cause_t3, np.where((events > 0)[:, None, None], a[:, :size] - cause_t4[:, None, :] * c, 0.0)),
        (other_t4, other_t3, -other_t4[:, None, :] * c),
    )
    variance = sum(np.einsum("tig,tjg->ij", t1 * t3[:, None, :], t1) for _, t3, t1 in jumps)
    v2 = sum((t1 * (t4 * t3)[:, None, :]).sum(0) for t4, t3, t1 in jumps)
    v3 = sum((t4 * t4 * t3).sum(0) for t4, t3, _ in jumps)
    cc = c[-1]
    variance = variance + (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return score.sum(0)[:size], variance


def gray_test(
    frame: pd.DataFrame, *, groups: Sequence[str] | None = None, labels: Mapping[int, str] | None = None, rho: float = 0
) -> pd.DataFrame:
    """Gray's test of equal cumulative incidence across groups, per cause: R ``cmprsk::cuminc(...)$Tests``.

    The groups with subjects are compared (df = their number - 1); the statistic is s' V^-1 s of
    :func:`_gray_score`.  Fewer than two groups, no event of the cause, or a singular V give NaN and a status.
    """
    data, order = select_groups(frame, groups, [CAUSE])
    labels = dict(labels or {})
    present = [g for g in order if (data[GROUP] == g).any()]
    codes = pd.Categorical(data[GROUP], categories=present).codes
    time, cause = data[TIME].to_numpy(float), data[CAUSE].to_numpy(int)
    rows = []
    for k in _causes(data, labels):
        row = {"cause": k, "cause_label": labels.get(k, f"cause_{k}"), "n_groups": len(present), "df": len(present) - 1}
        row |= {"statistic": np.nan, "p": np.nan, "status": "ok"}
        if len(present) < 2:
            row |= {"df": None, "status": "not_testable: fewer than two groups with subjects"}
        elif not (cause == k).any():
            row["status"] = "not_testable: no events of this cause"
        else:
            score, variance = _gray_score(time, cause, codes, len(present), k, rho)
            try:
                statistic = float(score @ np.linalg.solve(variance, score))
                row |= {"statistic": statistic, "p": float(chi2.sf(statistic, len(present) - 1))}
            except np.linalg.LinAlgError:
                row["status"] = "not_testable: singular variance"
        rows.append(row)
    return typed(rows, GRAY_SCHEMA)


def _censoring_before(time: np.ndarray, censored: np.ndarray, at: np.ndarray) -> np.ndarray:
    """G(at-): Kaplan-Meier of the censoring (failures of any cause at risk, as crr's survfit), left-continuous."""
    times, inverse = np.unique(time, return_inverse=True)
    c = np.bincount(inverse, censored, len(times))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(times)))[:-1]])
    survival = np.concatenate([[1.0], np.cumprod(1.0 - c / at_risk)])
    return survival[np.searchsorted(times, at, side="left")]


def _binned(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per bin: the rows of ``values`` (n x m) summed by ``index`` (size x m)."""
    return np.column_stack([np.bincount(index, column, size) for column in values.T])


def _fine_gray_residuals(
    x: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    masks: tuple[np.ndarray, np.ndarray, np.ndarray],
    fail_times: np.ndarray,
    d: np.ndarray,
    g_own: np.ndarray,
    g_fail: np.ndarray,
    s0: np.ndarray,
    zbar: np.ndarray,
) -> np.ndarray:
    """eta_i + psi_i per subject (Fine and Gray 1999): the score residual and the censoring-martingale term.

    eta_i = fail_i (x_i - zbar(T_i)) - r_i sum_l w_i(t_l) (x_i - zbar_l) d_l / S0_l;
    psi_i = sum_u q(u) / pi(u) dM^c_i(u) over censoring times u, with pi(u) = #{T >= u},
    dM^c_i(u) = [i censored at u] - [T_i >= u] c(u) / pi(u) and
    q(u) = sum_l [t_l >= u] (G(t_l-) d_l / S0_l) sum_j [competing, T_j < u] (x_j - zbar_l) r_j / G(T_j-)
    (ties as crr's Fortran ``crrvv``: equal to R to 1e-12 on tied times).
    """
    fail, competing, censored = masks
    still = np.searchsorted(fail_times, t, side="right")
    h = d / s0
    prefix0 = np.concatenate([[0.0], np.cumsum(h)])
    prefix1 = np.vstack([np.zeros(x.shape[1]), np.cumsum(h[:, None] * zbar, axis=0)])
    gh = g_fail * h
    suffix0 = np.concatenate([np.cumsum(gh[::-1])[::-1], [0.0]])
    suffix1 = np.vstack([np.cumsum((gh[:, None] * zbar)[::-1], axis=0)[::-1], np.zeros(x.shape[1])])
    eta = -r[:, None] * (x * prefix0[still][:, None] - prefix1[still])
    weighted = (x * suffix0[still][:, None] - suffix1[still]) / g_own[:, None]
    eta[competing] -= r[competing, None] * weighted[competing]
    own = np.searchsorted(fail_times, t[fail])
    eta[fail] += x[fail] - zbar[own]
    # psi: per distinct time u, q(u) from the competing subjects with T_j < u and the failure times t_l >= u (crr's ties)
    times, inverse = np.unique(t, return_inverse=True)
    pi = len(t) - np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(times)))[:-1]])
    c = np.bincount(inverse, censored, len(times))
    weight = np.where(competing, r / g_own, 0.0)
    c0 = np.concatenate([[0.0], np.cumsum(np.bincount(inverse, weight, len(times)))[:-1]])
    c1 = np.vstack([np.zeros(x.shape[1]), np.cumsum(_binned(inverse, weight[:, None] * x, len(times)), axis=0)[:-1]])
    first_after = np.searchsorted(fail_times, times, side="left")
    q = c1 * suffix0[first_after][:, None] - c0[:, None] * suffix1[first_after]
    jump = np.cumsum(q * (c / pi**2)[:, None], axis=0)
    psi = -jump[inverse]
    psi[censored] += q[inverse[censored]] / pi[inverse[censored], None]
    return eta + psi


def fine_gray_fit(
    design: pd.DataFrame, time: pd.Series, cause: pd.Series, k: int, cluster: pd.Series | None = None
) -> CountingProcessCox:
    """Fine-Gray subdistribution hazards of cause ``k``: R ``cmprsk::crr(time, cause, design, failcode = k)``.

    crr's estimating equation: Breslow partial likelihood of the cause-k events whose risk set at t keeps
    everyone with time >= t (weight 1) and everyone who had a competing event at T_j < t with weight
    G(t-) / G(T_j-) (G: Kaplan-Meier of the censoring).  Newton-Raphson from 0 to a step below 1e-10.  The
    variance is crr's sandwich Omega^-1 Sigma Omega^-1, Sigma = sum_i (eta_i + psi_i)^2 with eta_i the
    score residual and psi_i the term for the estimated G (Fine and Gray 1999, section 3); with ``cluster``
    the sums eta + psi are added per cluster first (an extension: crr has no clusters).
    Each risk-set sum is a cumulative sum over sorted times: O(n log n).
    """
    t = time.to_numpy(float)
    status = cause.to_numpy(int)
    x = design.to_numpy(float)
    x = x - x.mean(0)
    fail, competing, censored = status == k, (status > 0) & (status != k), status == 0
    g_own = _censoring_before(t, censored, t)  # G(T_i-)
    fail_times = np.unique(t[fail])
    g_fail = _censoring_before(t, censored, fail_times)  # G(t_l-)
    d = np.bincount(np.searchsorted(fail_times, t[fail]), minlength=len(fail_times)).astype(float)
    still = np.searchsorted(fail_times, t, side="right")  # at risk with weight 1 at failure times < this index
    after = np.where(competing, still, len(fail_times))  # competing: weighted at failure times from this index
    p = x.shape[1]

    def sums(values: np.ndarray) -> np.ndarray:
        """Per failure time l: sum over the risk set of w_i(t_l) * values_i (values: n x m)."""
        plain = np.cumsum(_binned(still, values, len(fail_times) + 1)[::-1], axis=0)[::-1]
        weighted = np.cumsum(_binned(after, values / g_own[:, None], len(fail_times) + 1), axis=0)
        return plain[1:] + g_fail[:, None] * weighted[:-1]

    def moments(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        r = np.exp(x @ beta)
        s0 = sums(r[:, None])[:, 0]
        s1 = sums(r[:, None] * x)
        s2 = np.empty((len(fail_times), p, p))
        for j in range(p):  # one pair of columns at a time: memory O(rows), not O(rows x terms^2)
            s2[:, j, j:] = sums(r[:, None] * x[:, j : j + 1] * x[:, j:])
            s2[:, j:, j] = s2[:, j, j:]
        zbar = s1 / s0[:, None]
        score = x[fail].sum(0) - (d[:, None] * zbar).sum(0)
        information = (d[:, None, None] * (s2 / s0[:, None, None] - zbar[:, :, None] * zbar[:, None, :])).sum(0)
        return r, s0, zbar, score, information  # type: ignore[return-value]

    beta = np.zeros(p)
    for _ in range(60):
        r, s0, zbar, score, information = moments(beta)
        step = np.linalg.solve(information, score)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
        if np.abs(beta).max() > 30:
            break
    else:
        raise ConvergenceError("Fine-Gray: no convergence after 60 Newton-Raphson steps")
    r, s0, zbar, score, information = moments(beta)
    naive = np.linalg.inv(information)
    residual = _fine_gray_residuals(x, t, r, (fail, competing, censored), fail_times, d, g_own, g_fail, s0, zbar)
    if cluster is not None:
        codes, uniques = pd.factorize(cluster, sort=True)
        residual = np.column_stack([np.bincount(codes, column, len(uniques)) for column in residual.T])
    variance = naive @ (residual.T @ residual) @ naive
    names = list(design.columns)
    frame = lambda m: pd.DataFrame(m, index=names, columns=names)  # noqa: E731
    return CountingProcessCox(
        pd.Series(beta, index=names), frame(variance), frame(naive), None if cluster is None else len(uniques)
    )


def competing_cox(
    frame: pd.DataFrame,
    *,
    reference_group: str,
    groups: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    labels: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """Per cause: the cause-specific Cox model (other causes censored) and the Fine-Gray model, group + covariates.

    Rows are :data:`COX_SCHEMA`'s with the cause in front; ``model`` is ``cause_specific`` or ``fine_gray``
    (``_multivariable`` appended with covariates).  The cause-specific model is
    :func:`pipelines.stats.cox.cox_model` on ``event = (cause == k)`` (R ``coxph``, Efron; robust variance
    clustered on ``cluster``); the Fine-Gray model :func:`fine_gray_fit` (R ``crr``; with ``cluster`` its
    sandwich sums per cluster, which crr cannot).  ``events`` counts the cause-k events.
    """
    data, _ = select_groups(frame, groups, [CAUSE])
    labels = dict(labels or {})
    tables = []
    for k in _causes(data, labels):
        own = data.assign(**{EVENT: (data[CAUSE] == k).astype(int)})
        for adjustment, suffix in [((), ""), *([(tuple(covariates), "_multivariable")] if covariates else [])]:
            design = cox_design(own, reference_group, groups, adjustment, cluster)  # the same subjects for both models
            for model, fitter in (
                ("cause_specific", None),
                (
                    "fine_gray",
                    lambda x, rows, clusters, k=k: fine_gray_fit(x, rows[TIME], rows[CAUSE], k, clusters),
                ),
            ):
                fitted = fit_design(design, model + suffix, ph_test=False, fitter=fitter).coefficients
                tables.append(fitted.assign(cause=k, cause_label=labels.get(k, f"cause_{k}")))
    return (
        typed(pd.concat(tables, ignore_index=True), COMPETING_COX_SCHEMA) if tables else typed([], COMPETING_COX_SCHEMA)
    )
