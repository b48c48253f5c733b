"""Immortal-time-safe comparisons of an exposure that starts during follow-up (e.g. surgery on imatinib).

The exposure is given per subject as the time from the origin to its start (same unit as
``time_months``; NaN if it never happened).  Comparing "ever exposed" with "never exposed"
from the origin credits the exposed with the event-free time they had to survive to be
exposed (immortal time), so the naive hazard ratio is biased towards benefit.  Two unbiased
alternatives are provided: a landmark analysis and a Cox model with the exposure as a
time-varying covariate on counting-process (start, stop] data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
NAIVE_LABEL = "naive: immortal-time biased"  # the naive grouping of an exposure, wherever it is shown
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


@dataclass(frozen=True)
class Switch:
    """A categorical variable of the counting-process rows whose level switches on during follow-up and stays on.

    ``levels`` maps each level to the column holding the months from the origin to its start (NaN:
    never); a subject is in ``reference`` until one starts.  The exposure (``group=exposed``), an
    exposure split by what followed it (``exposure=continued`` / ``exposure=stopped``) and a
    time-dependent confounder such as progression (``progression=after``) are all switches.
    """

    variable: str
    levels: Mapping[str, str]
    reference: str

    @property
    def terms(self) -> list[Term]:
        return [Term(f"{self.variable}={level}", self.variable, level, self.reference) for level in self.levels]

    @property
    def columns(self) -> dict[str, str]:
        """Design column (the term's name) -> the frame column of its start time."""
        return {t.name: self.levels[str(t.level)] for t in self.terms}


def exposure_switch(exposure: str) -> Switch:
    """The exposure as one switch: ``group=exposed`` against ``unexposed``, lining up with the naive and landmark rows."""
    return Switch(GROUP, {EXPOSED: exposure}, UNEXPOSED)


def split_switch(split: Mapping[str, str]) -> Switch:
    """The exposure split by what followed it (e.g. TKI continued / stopped after surgery): ``exposure=<level>``."""
    return Switch("exposure", dict(split), UNEXPOSED)


def covariate_switch(column: str) -> Switch:
    """A time-dependent covariate from the months to its start (e.g. ``progression_months``): ``progression=after``."""
    return Switch(column.removesuffix("_months"), {"after": column}, "before")


def counting_process_frame(
    frame: pd.DataFrame, *, exposure: str | Mapping[str, str], covariates: Sequence[str] = ()
) -> pd.DataFrame:
    """Counting-process rows (start, stop] with each exposure indicator switching on when its exposure starts.

    ``exposure`` is one column (indicator ``exposed``) or a mapping of indicator names to columns.
    Follow-up (0, T] is cut at every start time e with 0 < e < T; an indicator is 1 on the rows
    starting at or after its exposure (from the origin when e <= 0, never when e >= T or NaN), and
    the subject's event is carried by the last row.  So a subject exposed at e inside follow-up gets
    (0, e] unexposed without event and (e, T] exposed with it; never exposed, or exposed only at or
    after T, one unexposed row.  Zero-length rows (T = 0) are dropped: they contribute no time at
    risk.  (lifelines' ``add_covariate_to_timeline`` would keep them.)

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (the subject's row position in ``frame``), ``start``, ``stop``,
        ``event``, one 0/1 column per indicator, then the covariates.
    """
    indicators = {"exposed": exposure} if isinstance(exposure, str) else dict(exposure)
    data = check_frame(frame, [*indicators.values(), *covariates]).reset_index(drop=True)
    end = data[TIME]
    cuts = [pd.DataFrame({"id": data.index, "start": 0.0})] + [
        pd.DataFrame({"id": data.index, "start": data[c]})[(data[c] > 0) & (data[c] < end)] for c in indicators.values()
    ]
    rows = pd.concat(cuts).drop_duplicates().sort_values(["id", "start"], kind="stable").reset_index(drop=True)
    following = rows.groupby("id")["start"].shift(-1)
    last = following.isna()
    rows["stop"] = following.fillna(rows["id"].map(end))
    rows["event"] = np.where(last, rows["id"].map(data[EVENT]), 0).astype(int)
    for name, column in indicators.items():
        starts = rows["id"].map(data[column])
        rows[name] = (starts.notna() & (starts <= rows["start"])).astype(int)
    rows = pd.concat([rows, data[list(covariates)].reindex(rows["id"]).reset_index(drop=True)], axis=1)
    rows = rows[rows["stop"] > rows["start"]]
    return rows[["id", "start", "stop", "event", *indicators, *covariates]].reset_index(drop=True)


def _switch_problem(rows: pd.DataFrame, switches: Sequence[Switch]) -> str | None:
    """Why a switch's level (or its reference) cannot have a hazard ratio: no follow-up or no events in it."""
    for switch in switches:
        columns = switch.columns
        reference = rows[list(columns)].sum(axis=1) == 0
        for label, part in [
            *((t.level, rows[rows[t.name] == 1]) for t in switch.terms),
            (switch.reference, rows[reference]),
        ]:
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
    return time_varying_cox_with_ph_test(
        frame, switches=[exposure_switch(exposure)], covariates=covariates, ph_test=False
    )[0]


def time_varying_cox_with_ph_test(
    frame: pd.DataFrame,
    *,
    switches: Sequence[Switch],
    covariates: Sequence[str] = (),
    model: str = "time_varying",
    ph_test: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cox model on (start, stop] rows with every switch's levels as time-varying terms, and its PH test.

    The PH test is R ``cox.zph`` of the counting-process fit.  Complete-case on the (fixed) covariates.
    """
    columns = {name: column for switch in switches for name, column in switch.columns.items()}
    data = check_frame(frame, [*columns.values(), *covariates])
    complete = data.dropna(subset=list(covariates))
    rows = counting_process_frame(complete, exposure=columns, covariates=covariates)
    covariate_x, covariate_terms = encode_covariates(rows, covariates)
    design = pd.concat([rows[list(columns)].astype(float), covariate_x], axis=1)
    events = int(rows["event"].sum())
    problem = _switch_problem(rows, switches) or design_problem(design, rows, covariates, events)
    fitted = None
    if problem is None:
        # lifelines' CoxTimeVaryingFitter fits the same model (tested equal) in time quadratic in the data
        fitted, problem = guarded_fit(
            lambda: fit_counting_process_cox(design, rows["start"], rows["stop"], rows["event"])
        )
    terms = [*(t for switch in switches for t in switch.terms), *covariate_terms]
    status = "ok" if fitted is not None else str(problem)
    coefficients = coefficient_rows(
        model,
        terms,
        fitted.summary if fitted else None,
        dict.fromkeys((t.name for t in terms), status),
        n=int(rows["id"].nunique()),
        events=events,
        n_excluded=len(data) - len(complete),
    )
    tests = (
        ph_test_rows(model, fitted, design, rows["start"], rows["stop"], rows["event"], [t.name for t in terms], status)
        if ph_test
        else typed([], PH_SCHEMA)
    )
    return coefficients, tests


def time_varying_models(
    exposure: str, exposure_split: Mapping[str, str] | None = None, time_varying_covariates: Sequence[str] = ()
) -> dict[str, list[Switch]]:
    """The time-varying models by name and their switches: the exposure, its split, the exposure with confounders."""
    models = {"time_varying": [exposure_switch(exposure)]}
    if exposure_split:
        models["time_varying_split"] = [split_switch(exposure_split)]
    if time_varying_covariates:
        extra = [covariate_switch(c) for c in time_varying_covariates]
        models["_".join(["time_varying", *(s.variable for s in extra)])] = [exposure_switch(exposure), *extra]
    return models


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
    exposure_split: Mapping[str, str] | None = None,
    time_varying_covariates: Sequence[str] = (),
    ph_test: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`immortal_time_analysis` and the proportional-hazards tests of each of its models (``PH_COLUMNS``).

    With ``exposure_split`` (level -> column of its start, e.g. surgery with the TKI continued / stopped
    after it) also ``time_varying_split``: one time-varying term per level against the unexposed.  With
    ``time_varying_covariates`` (columns of months to a time-dependent confounder, e.g. progression) also
    ``time_varying_<name>...``: the exposure with those covariates switching on as well.
    """
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
    for model, switches in time_varying_models(exposure, exposure_split, time_varying_covariates).items():
        varying = time_varying_cox_with_ph_test(
            frame, switches=switches, covariates=covariates, model=model, ph_test=ph_test
        )
        coefficients.append(varying[0])
        tests.append(varying[1])
    return typed(pd.concat(coefficients, ignore_index=True), COX_SCHEMA), typed(
        pd.concat(tests, ignore_index=True), PH_SCHEMA
    )
