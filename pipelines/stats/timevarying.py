"""Immortal-time-safe comparisons of an exposure that starts during follow-up (e.g. surgery on imatinib).

The exposure is given per subject as the time from the origin to its start (same unit as
``time_months``; NaN if it never happened).  Comparing "ever exposed" with "never exposed"
from the origin credits the exposed with the event-free time they had to survive to be
exposed (immortal time), so the naive hazard ratio is biased towards benefit.  Two unbiased
alternatives are provided: a landmark analysis and a Cox model with the exposure as a
time-varying covariate on counting-process (start, stop] data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.stats.counting_cox import fit_counting_process_cox
from pipelines.stats.cox import (
    COX_SCHEMA,
    Term,
    coefficient_rows,
    cox_model,
    design_problem,
    encode_covariates,
    guarded_fit,
)
from pipelines.stats.frame import EVENT, GROUP, TIME, check_frame, typed
from pipelines.stats.ph_test import PH_SCHEMA, ph_test_rows

EXPOSED, UNEXPOSED = "exposed", "unexposed"
EXPOSURE_TERM = Term(f"{GROUP}={EXPOSED}", GROUP, EXPOSED, UNEXPOSED)
DEFAULT_EXPOSURE_LANDMARKS: tuple[float, ...] = (6.0, 12.0)


def ever_exposed_frame(frame: pd.DataFrame, *, exposure: str) -> pd.DataFrame:
    """The naive grouping: ``group`` = exposed if the exposure ever happened, time from the origin.

    This is how the published surgery-vs-no-surgery figures were computed; it is reported only
    as the biased reference against which the landmark and time-varying estimates are read.
    """
    data = check_frame(frame, [exposure])
    return data.assign(**{GROUP: np.where(data[exposure].notna(), EXPOSED, UNEXPOSED)})


def landmark_frame(
    frame: pd.DataFrame,
    *,
    exposure: str,
    landmark: float,
    exposed_label: str = EXPOSED,
    unexposed_label: str = UNEXPOSED,
) -> pd.DataFrame:
    """Subjects still event-free and followed after ``landmark``, grouped by exposure by then, time re-originated.

    Keeps subjects with ``time_months > landmark``; ``group`` is ``exposed_label`` when the
    exposure started at or before the landmark (otherwise ``unexposed_label``, even if it
    starts later: an intention-to-treat view from the landmark); ``time_months`` becomes the
    time since the landmark.  The comparison is free of immortal time but answers a narrower
    question (patients alive and event-free at L) and ignores exposures after L.
    """
    data = check_frame(frame, [exposure])
    kept = data[data[TIME] > landmark].copy()
    exposed = kept[exposure].notna() & (kept[exposure] <= landmark)
    kept[GROUP] = np.where(exposed, exposed_label, unexposed_label)
    kept[TIME] = kept[TIME] - landmark
    return kept.reset_index(drop=True)


def counting_process_frame(frame: pd.DataFrame, *, exposure: str, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Counting-process rows (start, stop] with the exposure switching on when it starts.

    A subject exposed at time e inside follow-up (0 < e < T) gets two rows, (0, e] unexposed
    without event and (e, T] exposed carrying the subject's event; a subject exposed at or
    before the origin has one exposed row; anyone else (never exposed, or exposed only at or
    after the end of follow-up) one unexposed row.  Zero-length rows (T = 0) are dropped: they
    contribute no time at risk.  (lifelines' ``add_covariate_to_timeline`` would keep them.)

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (the subject's row position in ``frame``), ``start``, ``stop``,
        ``event``, ``exposed`` (0/1), then the covariates.
    """
    data = check_frame(frame, [exposure, *covariates]).reset_index(drop=True)
    starts = data[exposure]
    switches = starts.notna() & (starts > 0) & (starts < data[TIME])
    base = data[list(covariates)].assign(
        id=data.index,
        start=0.0,
        stop=data[TIME],
        event=data[EVENT],
        exposed=(starts.notna() & (starts <= 0)).astype(int),
    )
    before = base[switches].assign(stop=starts[switches], event=0)
    after = base[switches].assign(start=starts[switches], exposed=1)
    rows = pd.concat([base[~switches], before, after]).sort_values(["id", "start"], kind="stable")
    rows = rows[rows["stop"] > rows["start"]]
    return rows[["id", "start", "stop", "event", "exposed", *covariates]].reset_index(drop=True)


def _exposure_problem(rows: pd.DataFrame) -> str | None:
    for state, label in ((1, "exposed"), (0, "unexposed")):
        part = rows[rows["exposed"] == state]
        if part.empty:
            return f"not_estimable: no {label} follow-up"
        if part["event"].sum() == 0:
            return f"not_estimable: no events during {label} follow-up"
    return None


def time_varying_cox(frame: pd.DataFrame, *, exposure: str, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Cox model (Efron ties) of the hazard with the exposure as a time-varying covariate.

    Each subject counts as unexposed until the exposure starts and exposed afterwards, so no
    immortal time is credited to the exposed.  Complete-case on the covariates.  Returns
    ``COX_COLUMNS`` rows with ``model = "time_varying"``; the exposure term is ``group=exposed``
    (reference ``unexposed``) so that it lines up with the naive and landmark rows.  Its
    proportional-hazards test is in :func:`time_varying_cox_with_ph_test`.
    """
    return time_varying_cox_with_ph_test(frame, exposure=exposure, covariates=covariates, ph_test=False)[0]


def time_varying_cox_with_ph_test(
    frame: pd.DataFrame, *, exposure: str, covariates: Sequence[str] = (), ph_test: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`time_varying_cox` and its PH test on the (start, stop] rows (R ``cox.zph`` of the counting-process fit)."""
    data = check_frame(frame, [exposure, *covariates])
    complete = data.dropna(subset=list(covariates))
    rows = counting_process_frame(complete, exposure=exposure, covariates=covariates)
    covariate_x, covariate_terms = encode_covariates(rows, covariates)
    design = pd.concat([rows["exposed"].astype(float).to_frame(EXPOSURE_TERM.name), covariate_x], axis=1)
    events = int(rows["event"].sum())
    problem = _exposure_problem(rows) or design_problem(design, rows, covariates, events)
    fitted = None
    if problem is None:
        # lifelines' CoxTimeVaryingFitter fits the same model (tested equal) in time quadratic in the data
        fitted, problem = guarded_fit(
            lambda: fit_counting_process_cox(design, rows["start"], rows["stop"], rows["event"])
        )
    terms = [EXPOSURE_TERM, *covariate_terms]
    status = "ok" if fitted is not None else str(problem)
    coefficients = coefficient_rows(
        "time_varying",
        terms,
        fitted.summary if fitted else None,
        dict.fromkeys((t.name for t in terms), status),
        n=int(rows["id"].nunique()),
        events=events,
        n_excluded=len(data) - len(complete),
    )
    tests = (
        ph_test_rows(
            "time_varying", fitted, design, rows["start"], rows["stop"], rows["event"], [t.name for t in terms], status
        )
        if ph_test
        else typed([], PH_SCHEMA)
    )
    return coefficients, tests


def immortal_time_analysis(
    frame: pd.DataFrame,
    *,
    exposure: str,
    landmarks: Sequence[float] = DEFAULT_EXPOSURE_LANDMARKS,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Exposed vs unexposed three ways: naive (biased), landmark at each L, time-varying Cox.

    Parameters
    ----------
    frame
        Analysis frame with the exposure-time column (and covariates).
    exposure
        Column with the time from the origin to the exposure, NaN if never exposed.
    landmarks
        Landmark times L (same unit as ``time_months``).
    covariates
        Adjustment covariates, used identically in every model.

    Returns
    -------
    pandas.DataFrame
        ``COX_COLUMNS`` rows; ``model`` is ``naive``, ``landmark_<L>`` or ``time_varying``, and
        ``n``/``events`` are those of each model's own data (for a landmark: subjects at risk at L
        and their events after L).
    """
    return immortal_time_with_ph_tests(
        frame, exposure=exposure, landmarks=landmarks, covariates=covariates, ph_test=False
    )[0]


def immortal_time_with_ph_tests(
    frame: pd.DataFrame,
    *,
    exposure: str,
    landmarks: Sequence[float] = DEFAULT_EXPOSURE_LANDMARKS,
    covariates: Sequence[str] = (),
    ph_test: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`immortal_time_analysis` and the proportional-hazards tests of each of its models (``PH_COLUMNS``)."""
    coefficients, tests = [], []
    for model, data in [
        ("naive", ever_exposed_frame(frame, exposure=exposure)),
        *((f"landmark_{at:g}", landmark_frame(frame, exposure=exposure, landmark=at)) for at in landmarks),
    ]:
        fit = cox_model(
            data,
            reference_group=UNEXPOSED,
            groups=[UNEXPOSED, EXPOSED],
            covariates=covariates,
            model=model,
            ph_test=ph_test,
        )
        coefficients.append(fit.coefficients)
        tests.append(fit.ph_test)
    varying = time_varying_cox_with_ph_test(frame, exposure=exposure, covariates=covariates, ph_test=ph_test)
    coefficients.append(varying[0])
    tests.append(varying[1])
    return typed(pd.concat(coefficients, ignore_index=True), COX_SCHEMA), typed(
        pd.concat(tests, ignore_index=True), PH_SCHEMA
    )
