"""Every Cox model of the pipeline: R ``coxph`` (Efron ties) in O(n log n), right-censored or (start, stop] rows.

The risk set of each event time is a difference of two cumulative sums (rows whose stop is at or
after it minus rows whose start is), so a pass costs a few ``bincount`` calls; lifelines'
``CoxTimeVaryingFitter`` rebuilds it from all rows, O(rows x event times) per Newton step.  Same
conventions as R ``coxph``: a row is at risk at t when start < t <= stop, Efron's method for ties,
model-based variance from the observed information at the maximum (Newton-Raphson iterated until
a step moves no coefficient by 1e-10), the robust variance clustered on an id from Efron score
residuals, case weights as R ``coxph(..., weights = w)`` (survival's coxfit6/agfit4: each of the d
Efron sub-steps of a tied time carries the mean weight of its d events), and :func:`ph_score_test`,
R ``cox.zph``'s score test.  Every sum is over distinct
event times, so nothing depends on the order of the rows.  Checked against R live
(tests/stats/test_against_r.py) and against stored R output (tests/stats/test_stats_cox.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError
from scipy.stats import norm

_Z95 = float(norm.ppf(0.975))
_RUNNING_OFF = 30.0  # |log HR| beyond which Newton stops: under separation it would climb forever


@dataclass(frozen=True)
class _RiskSets:
    """Where each row and each event sits among the distinct event times (fixed across Newton steps)."""

    enters_after: (
        np.ndarray | None
    )  # per row: count of event times <= start (at risk from that index on); None: no entries
    leaves_after: np.ndarray  # per row: count of event times <= stop (at risk before that index)
    event_time: np.ndarray  # per event row: index of its event time
    tie_fraction: np.ndarray  # per event row: l / d, its rank l among the d events tied at that time
    n_times: int
    case_weight: np.ndarray  # per row: its case weight (1 without weights)
    step_weight: np.ndarray  # per event row: the mean case weight of the events tied at its time (R's ``meanwt``)


def _risk_sets(
    start: np.ndarray | None, stop: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None
) -> _RiskSets:
    """``start`` None: every row is at risk from the origin (no delayed entry); ``weights`` None: all 1."""
    times = np.unique(stop[event])
    event_time = np.searchsorted(times, stop[event])
    ties = np.bincount(event_time, minlength=len(times))
    order = np.argsort(event_time, kind="stable")
    rank = np.empty(len(order), dtype=float)
    rank[order] = np.arange(len(order)) - np.repeat(np.cumsum(ties) - ties, ties)
    enters_after = None if start is None else np.searchsorted(times, start, side="right")
    case_weight = np.ones(len(stop)) if weights is None else weights
    step_weight = (np.bincount(event_time, case_weight[event], len(times)) / ties)[event_time]
    return _RiskSets(
        enters_after,
        np.searchsorted(times, stop, side="right"),
        event_time,
        rank / ties[event_time],
        len(times),
        case_weight,
        step_weight,
    )


def _later(index: np.ndarray, column: np.ndarray, n_times: int) -> np.ndarray:
    """Per event time k: the sum of ``column`` over rows whose ``index`` is greater than k."""
    return np.cumsum(np.bincount(index, column, n_times + 1)[::-1])[::-1][1:]


def _efron_sum(column: np.ndarray, is_event: np.ndarray, risk: _RiskSets) -> np.ndarray:
    """Per event: ``column`` summed over its Efron risk set (one column at a time, so memory stays O(rows)).

    At risk at t_k = stop at or after t_k, minus start at or after t_k (not yet entered).  Both are
    sums from the latest time backwards, so without entries nothing is subtracted and a small late
    risk set is never the difference of two large sums.  Efron's share: the l-th
    of d tied events leaves out l/d of the tied events' own terms.
    """
    at_risk = _later(risk.leaves_after, column, risk.n_times)
    if risk.enters_after is not None:
        at_risk = at_risk - _later(risk.enters_after, column, risk.n_times)
    tied = np.bincount(risk.event_time, column[is_event], risk.n_times)
    return at_risk[risk.event_time] - risk.tie_fraction * tied[risk.event_time]


@dataclass(frozen=True)
class _EfronMoments:
    """At ``beta``: the linear predictor, the rescaled risk scores, and per event its Efron risk-set sum and covariate mean.

    ``weight`` is case weight times risk score (what the risk-set sums add up), ``score`` the risk
    score alone (R's ``score``, which multiplies the hazard in the score residuals).
    """

    eta: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    s0: np.ndarray
    mean: np.ndarray  # events x terms


def _efron_moments(beta: np.ndarray, x: np.ndarray, is_event: np.ndarray, risk: _RiskSets) -> _EfronMoments:
    eta = x @ beta
    score = np.exp(eta - eta.max())  # rescaled: the factor cancels in every ratio
    weight = risk.case_weight * score
    s0 = _efron_sum(weight, is_event, risk)
    mean = np.column_stack([_efron_sum(weight * column, is_event, risk) for column in x.T]) / s0[:, None]
    return _EfronMoments(eta, score, weight, s0, mean)


def _efron(
    beta: np.ndarray, x: np.ndarray, is_event: np.ndarray, risk: _RiskSets
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, gradient and Hessian at ``beta``: each event counts its case weight, each Efron sub-step its ``step_weight``."""
    moments = _efron_moments(beta, x, is_event, risk)
    eta, weight, s0, mean = moments.eta, moments.weight, moments.s0, moments.mean
    event_weight, step = risk.case_weight[is_event], risk.step_weight
    p = x.shape[1]
    information = np.empty((p, p))
    for j in range(p):
        for k in range(j, p):
            second = _efron_sum(weight * x[:, j] * x[:, k], is_event, risk) / s0
            information[j, k] = information[k, j] = (step * (second - mean[:, j] * mean[:, k])).sum()
    loglik = float((event_weight * (eta[is_event] - eta.max())).sum() - (step * np.log(s0)).sum())
    gradient = (event_weight[:, None] * x[is_event]).sum(0) - (step[:, None] * mean).sum(0)
    return loglik, gradient, -information


def _newton(
    x: np.ndarray, is_event: np.ndarray, risk: _RiskSets, *, max_steps: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson with step halving from beta = 0; returns the estimate and the information matrix.

    Iterates to the maximum, not to a loose tolerance: it stops once a full Newton step moves no
    coefficient by more than 1e-10 (Newton converges quadratically, so the estimate is then exact to
    rounding, as R ``coxph`` is at its default ``eps = 1e-9`` on the log likelihood), or when no step
    increases the log likelihood any more.  Under separation the likelihood only flattens as a
    coefficient grows: the iteration stops there, and the caller's check of coefficients running off
    reports it.
    """
    beta = np.zeros(x.shape[1])
    loglik, gradient, hessian = _efron(beta, x, is_event, risk)
    for _ in range(max_steps):
        try:
            step = np.linalg.solve(-hessian, gradient)
        except np.linalg.LinAlgError:
            return beta, -hessian
        if np.abs(step).max() < 1e-10:
            return beta, -hessian
        for _halving in range(40):
            candidate = beta + step
            new_loglik, new_gradient, new_hessian = _efron(candidate, x, is_event, risk)
            if np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
            step = step / 2
        else:  # no step, however short, increases the likelihood: it is at its maximum to rounding
            return beta, -hessian
        beta, gradient, hessian, loglik = candidate, new_gradient, new_hessian, new_loglik
        if np.abs(beta).max() > _RUNNING_OFF:  # separation: the caller reports the coefficient running off
            return beta, -hessian
    raise ConvergenceError(f"no convergence after {max_steps} Newton-Raphson steps (separation?)")


@dataclass(frozen=True)
class CountingProcessCox:
    """A fitted model: ``params_`` (log hazard ratios), the variance used for inference and a lifelines-style ``summary``.

    ``variance_matrix_`` is the robust (clustered sandwich) variance when the fit had clusters,
    else the model-based one; ``naive_variance_`` is always the model-based inverse information.
    ``robust_score_test`` (clustered fits only) is R's ``fit$rscore``: the robust score test of beta = 0.
    """

    params_: pd.Series
    variance_matrix_: pd.DataFrame
    naive_variance_: pd.DataFrame
    n_clusters: int | None = None
    robust_score_test: float | None = None

    @property
    def summary(self) -> pd.DataFrame:
        coef = self.params_
        se = pd.Series(np.sqrt(np.diag(self.variance_matrix_.to_numpy())), index=coef.index)
        z = coef / se
        return pd.DataFrame(
            {
                "coef": coef,
                "exp(coef)": np.exp(coef),
                "se(coef)": se,
                "coef lower 95%": coef - _Z95 * se,
                "coef upper 95%": coef + _Z95 * se,
                "exp(coef) lower 95%": np.exp(coef - _Z95 * se),
                "exp(coef) upper 95%": np.exp(coef + _Z95 * se),
                "z": z,
                "p": 2 * norm.sf(np.abs(z)),
            }
        )


def _per_time(risk: _RiskSets, values: np.ndarray) -> np.ndarray:
    """Per distinct event time: ``values`` (one row per event row, 1-d or 2-d) summed over the events tied there."""
    if values.ndim == 1:
        return np.bincount(risk.event_time, values, risk.n_times)
    return np.column_stack([np.bincount(risk.event_time, column, risk.n_times) for column in values.T])


def _over_risk_set(risk: _RiskSets, per_time: np.ndarray) -> np.ndarray:
    """Per row: ``per_time`` summed over the event times at which the row is at risk (start < t <= stop)."""
    cumulative = np.concatenate([np.zeros((1, *per_time.shape[1:])), np.cumsum(per_time, axis=0)])
    total = cumulative[risk.leaves_after]
    if risk.enters_after is not None:
        total = total - cumulative[risk.enters_after]
    return total


def score_residuals(beta: np.ndarray, x: np.ndarray, is_event: np.ndarray, risk: _RiskSets) -> np.ndarray:
    """Score residuals per row with Efron's tie handling, as R ``residuals(coxph_fit, type = "score")`` (unweighted).

    Efron's approximation treats d events tied at t as d sub-steps l = 0..d-1; in sub-step l each
    tied event keeps the fraction 1 - l/d of its risk weight, the risk-set sum is s0_l and the mean
    m_l.  Row i's residual is sum over sub-steps of dN_i/d (x_i - m_l) - w_il r_i (x_i - m_l) a_l / s0_l
    (w_il = 1 - l/d for a tied event, 1 for any other row at risk; a_l the sub-step's mean case weight,
    1 without weights; survival's coxscore2.c); the case-weighted residuals sum to the score.
    They do not depend on the order of the rows (every sum is over sub-steps of an event time).
    Each sum over the event times a row is at risk is a difference of cumulative sums: O(rows x terms).
    """
    moments = _efron_moments(beta, x, is_event, risk)
    inverse_s0 = risk.step_weight / moments.s0  # the hazard increment of each sub-step
    hazard = _per_time(risk, inverse_s0)  # per time: sum_l 1 / s0_l
    hazard_mean = _per_time(risk, moments.mean * inverse_s0[:, None])  # sum_l m_l / s0_l
    at_risk_hazard, at_risk_mean = _over_risk_set(risk, hazard), _over_risk_set(risk, hazard_mean)
    r = moments.score[:, None]
    residuals = -r * (x * at_risk_hazard[:, None] - at_risk_mean)
    # the events: + (x_i - mean of m_l over the d sub-steps) and back the share l/d of their own risk weight
    ties = np.bincount(risk.event_time, minlength=risk.n_times).astype(float)
    tie_mean = _per_time(risk, moments.mean) / ties[:, None]
    tied_hazard = _per_time(risk, risk.tie_fraction * inverse_s0)
    tied_mean = _per_time(risk, (risk.tie_fraction * inverse_s0)[:, None] * moments.mean)
    k = risk.event_time
    xe = x[is_event]
    residuals[is_event] += (xe - tie_mean[k]) + r[is_event] * (xe * tied_hazard[k][:, None] - tied_mean[k])
    return residuals


def _per_cluster(codes: np.ndarray, n_clusters: int, values: np.ndarray) -> np.ndarray:
    """Per cluster: the rows' ``values`` (rows x terms) summed (R's ``collapse = cluster``)."""
    return np.column_stack([np.bincount(codes, column, n_clusters) for column in values.T])


def fit_counting_process_cox(
    design: pd.DataFrame,
    start: pd.Series | None,
    stop: pd.Series,
    event: pd.Series,
    cluster: pd.Series | None = None,
    weights: pd.Series | None = None,
) -> CountingProcessCox:
    """Fit the Cox model (Efron ties) on (start, stop] rows, or right-censored rows when ``start`` is None.

    ``design`` holds one numeric column per term.  With ``cluster`` the variance is the robust
    sandwich clustered on it, as R ``coxph(..., cluster = id)``: D' D with D the per-cluster sums of
    the dfbeta residuals (Efron score residuals times the model-based variance), and
    ``robust_score_test`` is R's robust score test of beta = 0 (``fit$rscore``).  ``weights`` are case
    weights (positive), as R ``coxph(..., weights = w)``: the model-based variance is the inverse of
    the weighted information; with ``cluster`` the dfbeta residuals are multiplied by the weights
    (R ``robust = TRUE``, ``residuals(type = "dfbeta", weighted = TRUE)``); for inverse-probability
    weights pass a cluster (the subject id, or one per row) since the model-based variance treats
    the weights as counts of subjects.  Raises
    ``lifelines.exceptions.ConvergenceError`` when Newton-Raphson does not converge, as lifelines
    does, so callers guard both fitters alike.

    Examples
    --------
    >>> rows = pd.DataFrame({"start": [0, 0, 5, 0], "stop": [5, 9, 12, 7], "event": [0, 1, 1, 1], "exposed": [0, 0, 1, 1]})
    >>> fitted = fit_counting_process_cox(rows[["exposed"]], rows["start"], rows["stop"], rows["event"])
    >>> list(fitted.summary.columns[:3])
    ['coef', 'exp(coef)', 'se(coef)']
    """
    is_event = event.to_numpy(dtype=bool)
    x = design.to_numpy(dtype=float)
    centred = x - x.mean(0)  # centring changes no coefficient and keeps exp() in range
    case_weight = None if weights is None else weights.to_numpy(dtype=float)
    if case_weight is not None and not (np.isfinite(case_weight).all() and (case_weight > 0).all()):
        raise ValueError("case weights must be finite and positive")
    risk = _risk_sets(
        None if start is None else start.to_numpy(dtype=float), stop.to_numpy(dtype=float), is_event, case_weight
    )
    beta, information = _newton(centred, is_event, risk)
    names = list(design.columns)
    naive = np.linalg.inv(information)
    variance, n_clusters, robust_score = naive, None, None
    if cluster is not None:
        codes, uniques = pd.factorize(cluster, sort=True)
        n_clusters = len(uniques)
        weighted = lambda b: risk.case_weight[:, None] * score_residuals(b, centred, is_event, risk)  # noqa: E731
        per_cluster = _per_cluster(codes, n_clusters, weighted(beta) @ naive)
        variance = per_cluster.T @ per_cluster
        at_null = _per_cluster(codes, n_clusters, weighted(np.zeros_like(beta)))
        u = at_null.sum(0)
        robust_score = float(u @ np.linalg.lstsq(at_null.T @ at_null, u, rcond=None)[0])
    frame = lambda m: pd.DataFrame(m, index=names, columns=names)  # noqa: E731
    return CountingProcessCox(pd.Series(beta, index=names), frame(variance), frame(naive), n_clusters, robust_score)


def ph_score_test(
    design: pd.DataFrame, beta: pd.Series, start: pd.Series | None, stop: pd.Series, event: pd.Series
) -> tuple[np.ndarray, float]:
    """R ``cox.zph(fit, transform = "km")``'s score tests: per design column (df 1) and global (df = columns).

    The test of proportional hazards for column j is the score test, at (beta_hat, 0), of adding
    x_j g(t) to the model, g(t) = 1 - KM(t-) (the Kaplan-Meier of all rows of the model, left
    continuous, with delayed entry for (start, stop] rows) centred on its mean over the events.
    With V_e the Efron-weighted covariance of x over the risk set of each event sub-step, the
    information of (x, g x) is [[sum V_e, sum g_e V_e], [sum g_e V_e, sum g_e^2 V_e]], the score of
    the g x terms u = sum_e g_e (x_e - m_e), and the statistic u_S' [(I_{B+S})^-1]_SS u_S over the
    tested set S (one column, or all for GLOBAL).  The information is model-based whatever the
    variance of the fit (R does the same for clustered models).  Returns the per-column statistics and
    the global one.
    """
    is_event = event.to_numpy(dtype=bool)
    x = design[list(beta.index)].to_numpy(dtype=float)
    x = x - x.mean(0)
    risk = _risk_sets(None if start is None else start.to_numpy(dtype=float), stop.to_numpy(dtype=float), is_event)
    moments = _efron_moments(beta.to_numpy(dtype=float), x, is_event, risk)
    # Kaplan-Meier of all rows at the event times, left continuous: S(t_k-) = prod_{j < k} (1 - d_j / n_j)
    ones = np.ones(len(x))
    at_risk = _later(risk.leaves_after, ones, risk.n_times)
    if risk.enters_after is not None:
        at_risk = at_risk - _later(risk.enters_after, ones, risk.n_times)
    ties = np.bincount(risk.event_time, minlength=risk.n_times).astype(float)
    survival_before = np.concatenate([[1.0], np.cumprod(1.0 - ties / at_risk)[:-1]])
    g = (1.0 - survival_before)[risk.event_time]
    g = g - g.mean()
    p = x.shape[1]
    covariance = np.empty((len(g), p, p))
    for j in range(p):
        for k in range(j, p):
            second = _efron_sum(moments.weight * x[:, j] * x[:, k], is_event, risk) / moments.s0
            covariance[:, j, k] = covariance[:, k, j] = second - moments.mean[:, j] * moments.mean[:, k]
    blocks = [covariance.sum(0), np.einsum("e,ejk->jk", g, covariance), np.einsum("e,ejk->jk", g**2, covariance)]
    information = np.block([[blocks[0], blocks[1]], [blocks[1], blocks[2]]])
    u = (g[:, None] * (x[is_event] - moments.mean)).sum(0)

    def statistic(tested: list[int]) -> float:
        keep = [*range(p), *(p + j for j in tested)]
        score = np.concatenate([np.zeros(p), u[tested]])
        return float(score @ np.linalg.solve(information[np.ix_(keep, keep)], score))

    return np.array([statistic([j]) for j in range(p)]), statistic(list(range(p)))
