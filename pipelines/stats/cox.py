"""Cox proportional-hazards models that report, instead of raising, when they cannot be fitted.

Shared by the per-group models here and the time-varying model in
:mod:`pipelines.stats.timevarying`: covariate coding against a stated reference, the checks
that make a fit non-estimable, the guarded fit and the tidy output rows.  The fit is
:func:`pipelines.stats.counting_cox.fit_counting_process_cox`: R ``coxph(..., ties = "efron")``'s
numbers (with ``cluster``, ``coxph(..., cluster = id)``'s robust variance).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError, ConvergenceWarning

from pipelines.stats.counting_cox import CountingProcessCox, fit_counting_process_cox
from pipelines.stats.frame import EVENT, GROUP, TIME, is_categorical, levels, select_groups, typed
from pipelines.stats.ph_test import PH_SCHEMA, ph_test_rows

COX_SCHEMA = {
    "model": "string",
    "term": "string",
    "variable": "string",
    "level": "string",
    "reference": "string",
    "n": "int64",
    "events": "int64",
    "n_excluded_missing": "int64",
    "n_clusters": "Int64",
    "coef": "float64",
    "se": "float64",
    "hr": "float64",
    "hr_lower": "float64",
    "hr_upper": "float64",
    "p": "float64",
    "status": "string",
}
COX_COLUMNS = list(COX_SCHEMA)
MAX_ABS_COEF = 10.0  # |log HR| > 10 (HR beyond 22 000 or below 1/22 000): a coefficient running off
Fitted = TypeVar("Fitted")


@dataclass(frozen=True)
class Term:
    """One column of a Cox design matrix: a dummy ``variable=level`` against ``reference``, or a numeric variable."""

    name: str
    variable: str
    level: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class CoxResult:
    """Coefficients (``COX_COLUMNS``) and proportional-hazards tests (``PH_COLUMNS``) of one model."""

    coefficients: pd.DataFrame
    ph_test: pd.DataFrame


def encode_covariates(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[Term]]:
    """Design columns for the covariates of a complete-case frame, and their terms."""
    columns: dict[str, np.ndarray] = {}
    terms: list[Term] = []
    for variable in covariates:
        values = data[variable]
        if not is_categorical(values):
            columns[variable] = values.to_numpy(float)
            terms.append(Term(variable, variable))
            continue
        reference, *others = levels(values) or [None]
        for level in others:
            term = Term(f"{variable}={level}", variable, str(level), str(reference))
            columns[term.name] = (values == level).to_numpy(float)
            terms.append(term)
    return pd.DataFrame(columns, index=data.index), terms


def design_problem(design: pd.DataFrame, data: pd.DataFrame, covariates: Sequence[str], events: int) -> str | None:
    """Why a design cannot be fitted (constant covariate, too few events, collinearity), or None."""
    constant = [c for c in covariates if data[c].nunique(dropna=True) <= 1]
    if constant:
        return f"not_estimable: constant covariate {', '.join(constant)}"
    if events <= design.shape[1]:
        return f"not_estimable: too few events ({events}) for {design.shape[1]} parameter(s)"
    centred = (design - design.mean()).to_numpy(float)
    kept: list[int] = []
    for j in range(centred.shape[1]):
        if np.linalg.matrix_rank(centred[:, kept + [j]]) == len(kept) + 1:
            kept.append(j)
            continue
        weights = np.linalg.lstsq(centred[:, kept], centred[:, j], rcond=None)[0] if kept else np.zeros(0)
        involved = [design.columns[k] for k, w in zip(kept, weights, strict=True) if abs(w) > 1e-8] + [
            design.columns[j]
        ]
        return f"not_estimable: collinear covariates {', '.join(involved)}"
    return None


def guarded_fit(fit: Callable[[], Fitted]) -> tuple[Fitted | None, str]:
    """Run a Cox fit; a convergence failure or warning, or a coefficient running off, becomes a ``not_estimable`` status.

    Non-convergence raises ``ConvergenceError`` (lifelines' class, also raised by
    :mod:`pipelines.stats.counting_cox`); under monotone likelihood (separation) the fit stops
    where the likelihood flattens with a coefficient beyond ``MAX_ABS_COEF``: such numbers are
    meaningless, so they are not reported.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = fit()
        except (ConvergenceError, np.linalg.LinAlgError) as exc:
            return None, f"not_estimable: no convergence ({str(exc).splitlines()[0][:160]})"
    problems = [str(w.message).split(". ")[0] for w in caught if issubclass(w.category, ConvergenceWarning)]
    for other in (w for w in caught if not issubclass(w.category, ConvergenceWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    if problems:
        return None, f"not_estimable: no convergence or separation ({problems[0][:160]})"
    params = np.asarray(fitted.params_, dtype=float)  # type: ignore[attr-defined]
    if not np.isfinite(params).all() or (np.abs(params) > MAX_ABS_COEF).any():
        return None, "not_estimable: coefficient running off (monotone likelihood / separation)"
    return fitted, "ok"


def coefficient_rows(
    model: str,
    terms: Sequence[Term],
    summary: pd.DataFrame | None,
    statuses: dict[str, str],
    *,
    n: int,
    events: int,
    n_excluded: int,
    n_clusters: int | None = None,
) -> pd.DataFrame:
    """Tidy rows (``COX_COLUMNS``), one per term; a term without a summary row gets NaN numbers.

    ``n_clusters`` is the number of clusters of a robust (sandwich) variance, None for the model-based one.
    """
    rows = []
    for term in terms:
        fitted = summary is not None and term.name in summary.index
        stats = summary.loc[term.name] if fitted else {}
        rows.append(
            {
                "model": model,
                "term": term.name,
                "variable": term.variable,
                "level": term.level,
                "reference": term.reference,
                "n": n,
                "events": events,
                "n_excluded_missing": n_excluded,
                "n_clusters": n_clusters,
                "coef": stats.get("coef", np.nan),
                "se": stats.get("se(coef)", np.nan),
                "hr": stats.get("exp(coef)", np.nan),
                "hr_lower": stats.get("exp(coef) lower 95%", np.nan),
                "hr_upper": stats.get("exp(coef) upper 95%", np.nan),
                "p": stats.get("p", np.nan),
                "status": statuses[term.name],
            }
        )
    return typed(rows, COX_SCHEMA)


def _left_out_groups(data: pd.DataFrame, order: Sequence[str], reference: str) -> dict[str, str]:
    """Non-reference groups that cannot have a hazard ratio, with the reason.

    A group without subjects contributes nothing.  A group without events has a hazard ratio
    of 0 (its coefficient runs off to minus infinity); in that limit its subjects drop out of
    every risk set, so the other coefficients equal a fit without that group, which is what
    is reported for them.
    """
    events = data.groupby(GROUP)[EVENT].agg(["size", "sum"]).reindex(order, fill_value=0)
    return {
        label: "has no subjects" if events.loc[label, "size"] == 0 else "has no events (HR would be 0)"
        for label in order
        if label != reference and events.loc[label, "sum"] == 0
    }


def _reference_problem(data: pd.DataFrame, reference: str) -> str | None:
    in_reference = data[data[GROUP] == reference]
    if in_reference.empty:
        return f"not_estimable: reference group '{reference}' has no subjects"
    if in_reference[EVENT].sum() == 0:
        return f"not_estimable: reference group '{reference}' has no events (every HR would be infinite)"
    if data[GROUP].nunique() < 2:
        return "not_estimable: no group other than the reference with subjects and events"
    return None


def cox_model(
    frame: pd.DataFrame,
    *,
    reference_group: str,
    groups: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    model: str = "univariable",
    cluster: str | None = None,
    ph_test: bool = True,
    fitter: Callable[[pd.DataFrame, pd.DataFrame, pd.Series | None], CountingProcessCox] | None = None,
) -> CoxResult:
    """Cox model of the hazard by group (dummy-coded against ``reference_group``) and covariates.

    Subjects with a missing covariate are left out (complete-case analysis; the count is
    reported).  Categorical covariates are coded against their first level (see
    :func:`pipelines.stats.frame.levels`).  Whatever the data, the result has one row per
    planned term.  A non-reference group without subjects or without events gets a
    ``not_estimable`` row of its own and is left out of the fit (see :func:`_left_out_groups`).
    When the model as a whole cannot be fitted every row carries NaN and a ``status`` naming
    the reason, checked in this order: reference group without subjects or events, no other
    group left, a constant covariate, no more events than parameters, collinear terms, and
    finally non-convergence or a coefficient running off (separation).

    Parameters
    ----------
    frame
        Analysis frame with the covariate columns.
    reference_group
        Group whose hazard is the denominator of every group hazard ratio.
    groups
        Groups in display order (default: all, sorted); must include ``reference_group``.
    covariates
        Adjustment columns, in output order.
    model
        Label written to the ``model`` column (e.g. ``"univariable"``, ``"multivariable"``).
    cluster
        Column identifying independent units when subjects are not (e.g. the patient of each
        operation): the coefficients are the same, their standard errors, CIs and p-values come from
        the robust (sandwich) variance clustered on it (Efron score residuals, R's
        ``coxph(..., cluster = id)``), and ``n_clusters`` counts the clusters fitted.
    ph_test
        Whether to test proportional hazards; without it ``CoxResult.ph_test`` is empty (the
        residuals cost about a quarter of the fit, so callers that do not report them skip them).
    fitter
        Another model on the same design: called with (design, the subjects fitted, their clusters or None)
        instead of the Cox fit (the Fine-Gray model of :mod:`pipelines.stats.competing`).

    Returns
    -------
    CoxResult
        Coefficients (``n`` and ``events`` are those of the subjects fitted) and
        proportional-hazards tests (R ``cox.zph``'s score test, ``km`` transform).
    """
    return fit_design(cox_design(frame, reference_group, groups, covariates, cluster), model, ph_test, fitter)


@dataclass(frozen=True)
class CoxDesign:
    """What :func:`cox_model` fits: the complete-case subjects, their design, the terms reported, or why not.

    One design serves several models of the same subjects and events (competing risks fit the cause-specific
    and the Fine-Gray model on each).
    """

    fit_data: pd.DataFrame
    design: pd.DataFrame
    terms: list[Term]
    fitted_terms: list[str]
    left_out: dict[str, str]
    events: int
    n_excluded: int
    clusters: pd.Series | None
    problem: str | None


def cox_design(
    frame: pd.DataFrame,
    reference_group: str,
    groups: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
) -> CoxDesign:
    """The subjects and design of :func:`cox_model` (its parameters), with the first reason it cannot be fitted."""
    data, order = select_groups(frame, groups, [*covariates, *([cluster] if cluster else [])])
    if reference_group not in order:
        raise ValueError(f"reference group {reference_group!r} is not among the groups {order}")
    complete = data.dropna(subset=list(covariates))
    left_out = _left_out_groups(complete, order, reference_group)
    fit_data = complete[~complete[GROUP].isin(list(left_out))]
    group_terms = [
        Term(f"{GROUP}={label}", GROUP, label, reference_group) for label in order if label != reference_group
    ]
    fit_group_terms = [t for t in group_terms if t.level not in left_out]
    if not group_terms:  # a single group: nothing to compare, but still a row that says so
        group_terms = [Term(GROUP, GROUP, None, reference_group)]
    group_x = pd.DataFrame(
        {t.name: (fit_data[GROUP] == t.level).to_numpy(float) for t in fit_group_terms}, index=fit_data.index
    )
    covariate_x, covariate_terms = encode_covariates(fit_data, covariates)
    design = pd.concat([group_x, covariate_x], axis=1)
    events = int(fit_data[EVENT].sum())
    problem = _reference_problem(fit_data, reference_group) or design_problem(design, fit_data, covariates, events)
    return CoxDesign(
        fit_data,
        design,
        [*group_terms, *covariate_terms],
        [t.name for t in [*fit_group_terms, *covariate_terms]],
        left_out,
        events,
        len(data) - len(complete),
        fit_data[cluster].astype(str) if cluster else None,
        problem,
    )


def fit_design(
    design: CoxDesign,
    model: str,
    ph_test: bool = True,
    fitter: Callable[[pd.DataFrame, pd.DataFrame, pd.Series | None], CountingProcessCox] | None = None,
) -> CoxResult:
    """Fit a :class:`CoxDesign` (or say why not) and tidy its rows; ``model``, ``ph_test``, ``fitter`` as :func:`cox_model`."""
    fit_data, clusters = design.fit_data, design.clusters
    fitted: CountingProcessCox | None = None
    problem = design.problem
    if problem is None:
        # Newton-Raphson to the maximum (Efron), robust variance from Efron score residuals: R coxph's numbers
        fitted, problem = guarded_fit(
            (lambda: fitter(design.design, fit_data, clusters))
            if fitter
            else (lambda: fit_counting_process_cox(design.design, None, fit_data[TIME], fit_data[EVENT], clusters))
        )
    status = "ok" if fitted is not None else str(problem)
    statuses = {
        t.name: f"not_estimable: group '{t.level}' {design.left_out[t.level]}"
        if t.variable == GROUP and t.level in design.left_out
        else status
        for t in design.terms
    }
    coefficients = coefficient_rows(
        model,
        design.terms,
        fitted.summary if fitted else None,
        statuses,
        n=len(fit_data),
        events=design.events,
        n_excluded=design.n_excluded,
        n_clusters=int(clusters.nunique()) if clusters is not None else None,
    )
    tests = (
        ph_test_rows(model, fitted, design.design, None, fit_data[TIME], fit_data[EVENT], design.fitted_terms, status)
        if ph_test
        else typed([], PH_SCHEMA)
    )
    return CoxResult(coefficients=coefficients, ph_test=tests)
