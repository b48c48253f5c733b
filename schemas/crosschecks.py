"""Contract rules that need other rows or other tables.

Each rule has a stable id, a Kahn category, a severity and a registrar-facing
message, and returns the offending rows of one table.  Tables arrive typed
(after ``schemas.contract``) with a ``row`` column giving each row's position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import polars as pl

CHILD_DATES = {
    "tki_episodes": "start_date",
    "surgeries": "surgery_date",
    "progressions": "progression_date",
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


def _line_gaps(t: Tables) -> pl.DataFrame:
    e = t["tki_episodes"]
    # most patients' lines are exactly 1..n: one aggregation rules them out, and only the others' lines are ranked
    contiguous = (
        (pl.col("line").null_count() == 0)
        & (pl.col("line").min() == 1)
        & (pl.col("line").max() == pl.col("line").n_unique())
    )
    suspects = e.group_by("patient_id").agg(contiguous.alias("_contiguous")).filter(~pl.col("_contiguous"))
    lines = (
        e.join(suspects, on="patient_id", how="semi").select("patient_id", "line").unique().sort("patient_id", "line")
    )
    expected = lines.with_columns(pl.int_range(1, pl.len() + 1).over("patient_id").alias("_expected"))
    bad = expected.filter(pl.col("line") != pl.col("_expected")).select("patient_id", "line")
    return e.join(bad, on=["patient_id", "line"], how="semi").select("row", pl.col("line").cast(pl.Utf8).alias("value"))


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
        "lines of therapy must run 1, 2, 3 ... without gaps",
        _line_gaps,
    ),
)
