"""Contract rules that need other rows or other tables.

Each rule has a stable id, a Kahn category, a severity and a registrar-facing
message, and returns the offending rows of one table.  Tables arrive typed
(after ``schemas.contract``) with a ``row`` column giving each row's position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

Tables = dict[str, pl.DataFrame]
CHILD_DATES = {"tki_episodes": "start_date", "surgeries": "surgery_date", "progressions": "progression_date"}


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


def _orphans(table: str) -> Callable[[Tables], pl.DataFrame]:
    def failing(t: Tables) -> pl.DataFrame:
        return t[table].join(t["patients"].select("patient_id"), on="patient_id", how="anti").select("row", pl.col("patient_id").alias("value"))
    return failing


def _compared_to_patient(table: str, patient_column: str, fails: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> Callable[[Tables], pl.DataFrame]:
    """Rows whose own date ``fails`` against a date of their (unambiguous) patient."""
    date_column = CHILD_DATES[table]

    def failing(t: Tables) -> pl.DataFrame:
        patients = t["patients"].unique("patient_id", keep="none").select("patient_id", pl.col(patient_column).alias("_limit"))
        joined = t[table].join(patients, on="patient_id", how="inner")
        return joined.filter(fails(pl.col(date_column), pl.col("_limit"))).select("row", pl.col(date_column).cast(pl.Utf8).alias("value"))
    return failing


def _after(own: pl.Expr, limit: pl.Expr) -> pl.Expr:
    return own > limit


def _before(own: pl.Expr, limit: pl.Expr) -> pl.Expr:
    return own < limit


def _overlapping_episodes(t: Tables) -> pl.DataFrame:
    e = t["tki_episodes"].sort("patient_id", "start_date")
    # sorted, so the previous row is the patient's previous episode unless the patient changes (no window groups: fast)
    same_patient = pl.col("patient_id").eq_missing(pl.col("patient_id").shift(1)) & (pl.int_range(pl.len()) > 0)
    previous_end = pl.col("end_date").shift(1)
    overlaps = same_patient & ((pl.col("start_date") < previous_end) | previous_end.is_null())
    return e.filter(overlaps).select("row", pl.col("start_date").cast(pl.Utf8).alias("value"))


def _line_gaps(t: Tables) -> pl.DataFrame:
    e = t["tki_episodes"]
    lines = e.select("patient_id", "line").unique().sort("patient_id", "line")
    expected = lines.with_columns(pl.int_range(1, pl.len() + 1).over("patient_id").alias("_expected"))
    bad = expected.filter(pl.col("line") != pl.col("_expected")).select("patient_id", "line")
    return e.join(bad, on=["patient_id", "line"], how="semi").select("row", pl.col("line").cast(pl.Utf8).alias("value"))


CROSS_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck("consistency.duplicate_patient", "conformance", "error", "patients", "patient_id",
               "patient_id appears more than once in the patients file", _duplicate_patients),
    *(CrossCheck("consistency.unknown_patient", "conformance", "error", table, "patient_id",
                 "patient_id is not in this drop's patients file", _orphans(table)) for table in CHILD_DATES),
    *(CrossCheck("plausibility.event_after_death", "plausibility", "error", table, CHILD_DATES[table],
                 f"{CHILD_DATES[table]} is after the patient's death_date", _compared_to_patient(table, "death_date", _after))
      for table in CHILD_DATES),
    *(CrossCheck("plausibility.event_before_diagnosis", "plausibility", "error", table, CHILD_DATES[table],
                 f"{CHILD_DATES[table]} is before the patient's diagnosis_date", _compared_to_patient(table, "diagnosis_date", _before))
      for table in CHILD_DATES),
    *(CrossCheck("plausibility.event_after_last_contact", "plausibility", "warning", table, CHILD_DATES[table],
                 f"{CHILD_DATES[table]} is after the patient's last_contact_date", _compared_to_patient(table, "last_contact_date", _after))
      for table in CHILD_DATES),
    CrossCheck("plausibility.overlapping_episodes", "plausibility", "error", "tki_episodes", "start_date",
               "TKI episode starts before the patient's previous episode ended", _overlapping_episodes),
    CrossCheck("conformance.line_not_contiguous", "conformance", "error", "tki_episodes", "line",
               "lines of therapy must run 1, 2, 3 ... without gaps", _line_gaps),
)
