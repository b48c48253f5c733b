"""Contract rules that need other rows or other tables.

Each rule has a stable id, a Kahn category, a severity and a registrar-facing
message, and returns the offending rows of one table.  Tables arrive typed
(after ``schemas.contract``) with a ``row`` column giving each row's position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import permutations

import polars as pl

from schemas import vocabularies as V
from schemas.contract import polars_schema

CHILD_DATES = {
    "tki_episodes": "start_date",
    "surgeries": "surgery_date",
    "progressions": "progression_date",
    "responses": "assessment_date",
    "samples": "sample_date",
}
PATIENT_DATES = ("diagnosis_date", "death_date", "last_contact_date")  # what the rules compare a child row's date with
PATIENT_ROWS = "_patient_rows"  # how many rows the patients file has for the row's patient_id (NULL: none)


class Tables(Mapping[str, pl.DataFrame]):
    """One drop's typed tables, and each child table joined to its patient once for all the rules that need it.

    Four rules per child table look up the row's patient (is there one, is it unique, which
    dates: the orphan rule and three date rules); one join shared by them instead of one each
    saves seconds per site at 1M patients.
    """

    def __init__(self, frames: Mapping[str, pl.DataFrame]) -> None:
        self._frames = dict(frames)
        self._with_patient: dict[str, pl.DataFrame] = {}

    def __getitem__(self, table: str) -> pl.DataFrame:
        return self._frames[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    @cached_property
    def _patients(self) -> pl.DataFrame:
        """Per patient_id: its number of rows and its dates (computed once, shared by the child tables)."""
        return (
            self._frames["patients"]
            .group_by("patient_id")
            .agg(pl.len().alias(PATIENT_ROWS), *(pl.col(c).first().alias(f"_patient_{c}") for c in PATIENT_DATES))
        )

    def with_patient(self, table: str) -> pl.DataFrame:
        """``row``, ``patient_id`` and the date of a child table, with ``PATIENT_ROWS`` and, where that is 1, the
        patient's ``_patient_<date>`` columns (only what the rules read: the joins are kept while the rules run)."""
        if table not in self._with_patient:
            rows = self._frames[table].select("row", "patient_id", CHILD_DATES[table])
            self._with_patient[table] = rows.join(self._patients, on="patient_id", how="left")
        return self._with_patient[table]


@dataclass(frozen=True)
class CrossCheck:
    check_id: str
    category: str
    severity: str
    table: str
    column: str
    message: str
    failing_rows: Callable[[Tables], pl.DataFrame]  # frame with 'row' and 'value'


def _duplicate_patients(t: Tables) -> pl.DataFrame:
    p = t["patients"]
    return p.filter(pl.col("patient_id").is_duplicated()).select("row", pl.col("patient_id").alias("value"))


def _duplicate_samples(t: Tables) -> pl.DataFrame:
    s = t["samples"]
    return s.filter(pl.col("sample_id").is_duplicated()).select("row", pl.col("sample_id").alias("value"))


def _sample_time_after_contact(t: Tables) -> pl.DataFrame:
    """A sample taken, by its time from the anchor, after the patient's last contact (order of events, relative times)."""
    patients = t["patients"].filter(pl.col("patient_id").is_unique()).select("patient_id", "last_contact_time")
    return (
        t["samples"]
        .select("row", "patient_id", "sample_time")
        .join(patients, on="patient_id", how="inner")
        .filter(pl.col("sample_time") > pl.col("last_contact_time"))
        .select("row", pl.col("sample_time").cast(pl.Utf8).alias("value"))
    )


def _orphans(table: str) -> Callable[[Tables], pl.DataFrame]:
    def failing(t: Tables) -> pl.DataFrame:
        return (
            t.with_patient(table)
            .filter(pl.col(PATIENT_ROWS).is_null())
            .select("row", pl.col("patient_id").alias("value"))
        )

    return failing


def _compared_to_patient(
    table: str, patient_column: str, fails: Callable[[pl.Expr, pl.Expr], pl.Expr]
) -> Callable[[Tables], pl.DataFrame]:
    """Rows whose own date ``fails`` against a date of their patient (only where the patient is unambiguous)."""
    date_column = CHILD_DATES[table]

    def failing(t: Tables) -> pl.DataFrame:
        unambiguous = pl.col(PATIENT_ROWS) == 1
        return (
            t.with_patient(table)
            .filter(unambiguous & fails(pl.col(date_column), pl.col(f"_patient_{patient_column}")))
            .select("row", pl.col(date_column).cast(pl.Utf8).alias("value"))
        )

    return failing


def _after(own: pl.Expr, limit: pl.Expr) -> pl.Expr:
    return own > limit


def _before(own: pl.Expr, limit: pl.Expr) -> pl.Expr:
    return own < limit


def _overlapping_episodes(t: Tables) -> pl.DataFrame:
    # each patient's episodes in start order, patients ordered by the hash of their id (the id breaks any tie): the previous
    # row is the patient's previous episode unless the patient changes (no window groups; half the time of sorting by id)
    e = (
        t["tki_episodes"]
        .select("row", "patient_id", "start_date", "end_date")
        .sort(pl.col("patient_id").hash(), "patient_id", "start_date")
    )
    same_patient = pl.col("patient_id").eq_missing(pl.col("patient_id").shift(1)) & (pl.int_range(pl.len()) > 0)
    previous_end = pl.col("end_date").shift(1)
    overlaps = same_patient & ((pl.col("start_date") < previous_end) | previous_end.is_null())
    return e.filter(overlaps).select("row", pl.col("start_date").cast(pl.Utf8).alias("value"))


def _complete(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The frame with every optional contract column it lacks as an empty column (a rule's input from a caller
    that typed only some columns)."""
    lacking = {c: d for c, d in polars_schema(table).items() if c not in frame.columns}
    return frame.with_columns(pl.lit(None, dtype=d).alias(c) for c, d in lacking.items())


def _line_gaps(t: Tables) -> pl.DataFrame:
    # lines count within a setting (empty: advanced), so an adjuvant line 1 stands beside the advanced line 1
    e = _complete(t["tki_episodes"], "tki_episodes").with_columns(
        pl.col("setting").fill_null("advanced").alias("_setting")
    )
    key = ["patient_id", "_setting"]
    # most patients' lines are exactly 1..n: one aggregation rules them out, and only the others' lines are ranked
    contiguous = (
        (pl.col("line").null_count() == 0)
        & (pl.col("line").min() == 1)
        & (pl.col("line").max() == pl.col("line").n_unique())
    )
    suspects = e.group_by(key).agg(contiguous.alias("_contiguous")).filter(~pl.col("_contiguous"))
    lines = e.join(suspects, on=key, how="semi").select(*key, "line").unique().sort(*key, "line")
    expected = lines.with_columns(pl.int_range(1, pl.len() + 1).over(key).alias("_expected"))
    bad = expected.filter(pl.col("line") != pl.col("_expected")).select(*key, "line")
    return e.join(bad, on=[*key, "line"], how="semi").select("row", pl.col("line").cast(pl.Utf8).alias("value"))


CROSS_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck(
        "consistency.duplicate_patient",
        "conformance",
        "error",
        "patients",
        "patient_id",
        "patient_id appears more than once in the patients file",
        _duplicate_patients,
    ),
    *(
        CrossCheck(
            "consistency.unknown_patient",
            "conformance",
            "error",
            table,
            "patient_id",
            "patient_id is not in this drop's patients file",
            _orphans(table),
        )
        for table in CHILD_DATES
    ),
    *(
        CrossCheck(
            "plausibility.event_after_death",
            "plausibility",
            "error",
            table,
            CHILD_DATES[table],
            f"{CHILD_DATES[table]} is after the patient's death_date",
            _compared_to_patient(table, "death_date", _after),
        )
        for table in CHILD_DATES
    ),
    *(
        CrossCheck(
            "plausibility.event_before_diagnosis",
            "plausibility",
            "error",
            table,
            CHILD_DATES[table],
            f"{CHILD_DATES[table]} is before the patient's diagnosis_date",
            _compared_to_patient(table, "diagnosis_date", _before),
        )
        for table in CHILD_DATES
    ),
    *(
        CrossCheck(
            "plausibility.event_after_last_contact",
            "plausibility",
            "warning",
            table,
            CHILD_DATES[table],
            f"{CHILD_DATES[table]} is after the patient's last_contact_date",
            _compared_to_patient(table, "last_contact_date", _after),
        )
        for table in CHILD_DATES
    ),
    CrossCheck(
        "consistency.duplicate_sample",
        "conformance",
        "error",
        "samples",
        "sample_id",
        "sample_id appears more than once in the samples file",
        _duplicate_samples,
    ),
    CrossCheck(
        "plausibility.sample_time_after_last_contact",
        "plausibility",
        "error",
        "samples",
        "sample_time",
        "sample_time is after the patient's last_contact_time",
        _sample_time_after_contact,
    ),
    CrossCheck(
        "plausibility.overlapping_episodes",
        "plausibility",
        "error",
        "tki_episodes",
        "start_date",
        "TKI episode starts before the patient's previous episode ended",
        _overlapping_episodes,
    ),
    CrossCheck(
        "conformance.line_not_contiguous",
        "conformance",
        "error",
        "tki_episodes",
        "line",
        "lines of therapy must run 1, 2, 3 ... without gaps (within each setting)",
        _line_gaps,
    ),
)


# Rules on the items real GIST registries record (ECOG, metastatic sites, TKI setting and dose changes, responses).


def _dose_change_direction(t: Tables) -> pl.DataFrame:
    """Episodes whose dose_change contradicts the dose of the line's previous episode (same setting), or a 'start'
    that is not the line's first episode."""
    e = _complete(t["tki_episodes"], "tki_episodes")
    key = [pl.col("patient_id"), pl.col("setting").fill_null("advanced"), pl.col("line")]
    ordered = e.select("row", "patient_id", "setting", "line", "start_date", "daily_dose_mg", "dose_change").sort(
        *key, "start_date"
    )
    previous = pl.col("daily_dose_mg").shift(1).over(key)
    dose, change = pl.col("daily_dose_mg"), pl.col("dose_change")
    holds = (
        pl.when(change == "start")
        .then(previous.is_null())
        .when(change == "escalation")
        .then(dose > previous)
        .when(change == "reduction")
        .then(dose < previous)
        .when(change == "same_dose")
        .then(dose == previous)
        .otherwise(True)
    )
    return ordered.filter(~holds.fill_null(False) & change.is_not_null()).select(
        "row", pl.format("{} at {} mg/day", change, dose).alias("value")
    )


def _patients_where(fails: pl.Expr, value: pl.Expr) -> Callable[[Tables], pl.DataFrame]:
    def failing(t: Tables) -> pl.DataFrame:
        p = _complete(t["patients"], "patients")
        return p.filter(fails.fill_null(False)).select("row", value.cast(pl.Utf8).alias("value"))

    return failing


_ANY_METASTASIS = pl.any_horizontal(
    pl.col("metastasis_liver").fill_null(False),
    pl.col("metastasis_peritoneum").fill_null(False),
    pl.col("metastasis_other").fill_null(False),
)


def _perioperative_after_advanced(t: Tables) -> pl.DataFrame:
    """Neoadjuvant or adjuvant episodes that start on or after the patient's advanced disease (unambiguous patients)."""
    e = _complete(t["tki_episodes"], "tki_episodes")
    patients = (
        _complete(t["patients"], "patients")
        .group_by("patient_id")
        .agg(pl.len().alias(PATIENT_ROWS), pl.col("advanced_disease_date").first())
    )
    return (
        e.filter(pl.col("setting").is_in(["neoadjuvant", "adjuvant"]))
        .join(patients, on="patient_id", how="inner")
        .filter((pl.col(PATIENT_ROWS) == 1) & (pl.col("start_date") >= pl.col("advanced_disease_date")))
        .select("row", pl.col("start_date").cast(pl.Utf8).alias("value"))
    )


def _choi_without_ct(t: Tables) -> pl.DataFrame:
    r = _complete(t["responses"], "responses")
    fails = (pl.col("criteria") == "Choi") & ~pl.col("modality").is_in(list(V.CHOI_MODALITIES)).fill_null(False)
    return r.filter(fails.fill_null(False)).select("row", pl.col("modality").fill_null("(empty)").alias("value"))


REGISTRY_ITEM_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck(
        "plausibility.dose_change_direction",
        "plausibility",
        "error",
        "tki_episodes",
        "dose_change",
        "dose_change does not match the dose of the line's previous episode ('start' must be the line's first "
        "episode; escalation higher, reduction lower, same dose equal)",
        _dose_change_direction,
    ),
    CrossCheck(
        "plausibility.perioperative_tki_after_advanced",
        "plausibility",
        "warning",
        "tki_episodes",
        "start_date",
        "a neoadjuvant or adjuvant TKI episode starts on or after the patient's advanced_disease_date",
        _perioperative_after_advanced,
    ),
    CrossCheck(
        "completeness.ecog_without_advanced_disease",
        "completeness",
        "warning",
        "patients",
        "ecog_advanced",
        "ecog_advanced (performance status at the start of advanced-disease treatment) is given without an "
        "advanced_disease_date",
        _patients_where(
            pl.col("ecog_advanced").is_not_null() & pl.col("advanced_disease_date").is_null(), pl.col("ecog_advanced")
        ),
    ),
    CrossCheck(
        "completeness.metastases_without_advanced_disease",
        "completeness",
        "warning",
        "patients",
        "advanced_disease_date",
        "a metastatic site is 'yes' but advanced_disease_date is empty",
        _patients_where(_ANY_METASTASIS & pl.col("advanced_disease_date").is_null(), pl.lit("(empty)")),
    ),
    CrossCheck(
        "plausibility.choi_without_ct",
        "plausibility",
        "warning",
        "responses",
        "modality",
        "Choi criteria are defined on contrast-enhanced CT (tumour density in HU); the modality is not CT or PET-CT",
        _choi_without_ct,
    ),
)


def _given_without(given: str, missing: str) -> Callable[[Tables], pl.DataFrame]:
    """Patients whose ``given`` column holds a value and whose ``missing`` column none (the value shown is given's)."""

    def failing(t: Tables) -> pl.DataFrame:
        p = t["patients"]
        return p.filter(pl.col(given).is_not_null() & pl.col(missing).is_null()).select(
            "row", pl.col(given).cast(pl.Utf8).alias("value")
        )

    return failing


# A reported endpoint is a time with its status (cBioPortal's *_MONTHS / *_STATUS pair): one without the other
# cannot be analysed and is not guessed.
REPORTED_ENDPOINT_CHECKS: tuple[CrossCheck, ...] = tuple(
    CrossCheck(
        f"completeness.{endpoint}_{given_name}_without_{missing_name}",
        "completeness",
        "error",
        "patients",
        given,
        f"{given} is given without {missing} (a reported endpoint is a time with its status)",
        _given_without(given, missing),
    )
    for endpoint in V.REPORTED_ENDPOINTS
    for (given_name, given), (missing_name, missing) in permutations(
        (("time", f"{endpoint}_time"), ("status", f"{endpoint}_event"))
    )
)
CROSS_CHECKS = (*CROSS_CHECKS, *REGISTRY_ITEM_CHECKS, *REPORTED_ENDPOINT_CHECKS)
