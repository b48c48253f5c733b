"""A patients file with one row per sample (profile ``grain: sample``): patient-level values loaded once.

A cBioPortal "clinical data" download, and many registry exports, repeat a patient's values on each of
the patient's samples.  The rows of one patient must agree on every patient-level value (as received,
trimmed); then the first is loaded and the others are counted as merged into it.  A patient whose rows
disagree is quarantined, every row of it, with the values and their lines shown.
"""

from __future__ import annotations

import polars as pl

from pipelines.columns import LINE, PARSE_ERROR
from pipelines.ingest.checks import PATIENT_VALUES_DISAGREE
from pipelines.ingest.issues import concat_issues, issues_where

GRAINS = ("patient", "sample")


def one_row_per_patient(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    """(the rows to validate, the lines merged into their patient's first row, disagreement issues by LINE).

    Malformed lines (``PARSE_ERROR``) and rows without a patient id are left as they are: their own checks
    quarantine them.
    """
    columns = [c for c in raw.columns if c not in {LINE, PARSE_ERROR, "patient_id"}]
    grouped = raw.filter(pl.col(PARSE_ERROR).is_null() & pl.col("patient_id").is_not_null()).with_columns(
        pl.col(c).str.strip_chars() for c in columns
    )
    differing = grouped.group_by("patient_id").agg(pl.col(c).n_unique().gt(1).alias(c) for c in columns)
    issues = []
    for column in columns:
        patients = differing.filter(pl.col(column))["patient_id"].implode()
        rows = grouped.filter(pl.col("patient_id").is_in(patients))
        shown = (
            rows.group_by("patient_id", column)
            .agg(pl.col(LINE).min())
            .sort(LINE)
            .group_by("patient_id")
            .agg(
                pl.concat_str(
                    [
                        pl.lit("'"),
                        pl.col(column).fill_null(""),
                        pl.lit("' (line "),
                        pl.col(LINE).cast(pl.Utf8),
                        pl.lit(")"),
                    ]
                )
                .str.join(", ")
                .alias("_values")
            )
        )
        issues.append(
            issues_where(
                rows.join(shown, on="patient_id").rename({LINE: "row"}),
                pl.lit(True),
                column=column,
                check_id=PATIENT_VALUES_DISAGREE.check_id,
                category=PATIENT_VALUES_DISAGREE.category,
                message=pl.concat_str(
                    [pl.lit(f"{column} differs across the patient's rows (one per sample): "), pl.col("_values")]
                ),
                value=pl.col(column),
            )
        )
    found = concat_issues(issues).rename({"row": LINE})  # keyed by line: the rows' positions change below
    disagreeing = found[LINE].implode()
    repeats = grouped.filter(~pl.col(LINE).is_in(disagreeing) & pl.col("patient_id").is_duplicated())
    merged = repeats.filter(pl.col(LINE) != pl.col(LINE).min().over("patient_id"))[LINE]
    return raw.filter(~pl.col(LINE).is_in(merged.implode())), merged, found
