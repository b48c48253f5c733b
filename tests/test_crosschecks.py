"""The rules across rows of the TKI episodes, on small hand-made frames: what each flags and what it leaves alone."""

from datetime import date

import polars as pl

from schemas.crosschecks import CROSS_CHECKS, Tables


def _failing(check_id: str, episodes: list[tuple]) -> list[int]:
    frame = pl.DataFrame(
        episodes,
        schema={"patient_id": pl.Utf8, "line": pl.Int64, "start_date": pl.Date, "end_date": pl.Date},
        orient="row",
    ).with_row_index("row")
    check = next(c for c in CROSS_CHECKS if c.check_id == check_id)
    return sorted(check.failing_rows(Tables({"tki_episodes": frame}))["row"].to_list())


def test_lines_must_run_from_one_without_gaps_per_patient():
    d = date(2020, 1, 1)
    episodes = [
        ("A", 1, d, d),
        ("A", 2, d, d),
        ("A", 2, d, d),  # a repeated line is not a gap
        ("B", 2, d, d),
        ("B", 3, d, d),  # starts at 2
        ("C", 1, d, d),
        ("C", 3, d, d),  # skips 2
        ("D", 1, d, d),
        (None, 1, d, d),
        (None, 2, d, d),
    ]  # no patient id: its own group
    assert _failing("conformance.line_not_contiguous", episodes) == [3, 4, 6]


def test_an_episode_may_not_start_before_the_previous_one_ended():
    episodes = [
        ("A", 1, date(2020, 1, 1), date(2020, 6, 1)),
        ("A", 2, date(2020, 5, 1), None),  # overlaps
        ("B", 1, date(2020, 1, 1), None),
        ("B", 2, date(2021, 1, 1), None),  # previous never ended
        ("C", 1, date(2020, 1, 1), date(2020, 2, 1)),
        ("C", 2, date(2020, 2, 1), None),  # starts the day it ended
        ("D", 1, date(2020, 1, 1), date(2020, 2, 1)),
    ]
    assert _failing("plausibility.overlapping_episodes", episodes) == [1, 3]


def test_episodes_are_compared_in_start_order_within_each_patient_whatever_the_file_order():
    d = date
    episodes = [
        ("B", 2, d(2021, 3, 1), None),
        ("A", 2, d(2020, 5, 1), None),  # A's overlaps A's first, listed later
        (None, 1, d(2020, 1, 1), d(2020, 3, 1)),
        ("B", 1, d(2021, 1, 1), d(2021, 2, 1)),
        ("A", 1, d(2020, 1, 1), d(2020, 6, 1)),
        (None, 2, d(2020, 2, 1), None),
    ]  # no patient id: one group
    assert _failing("plausibility.overlapping_episodes", episodes) == [1, 5]


def test_rules_against_the_patient_row_skip_unknown_and_ambiguous_patients():
    d = date
    patients = pl.DataFrame(
        {
            "patient_id": ["A", "B", "B", "C"],
            "diagnosis_date": [d(2020, 1, 1)] * 4,
            "death_date": [d(2021, 1, 1), None, None, None],
            "last_contact_date": [d(2021, 1, 1)] * 4,
        },
    ).with_row_index("row")
    surgeries = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B", "Z", None, "C"],
            "surgery_date": [d(2019, 6, 1), d(2021, 6, 1), d(2019, 6, 1), d(2019, 6, 1), d(2019, 6, 1), d(2020, 6, 1)],
        },
    ).with_row_index("row")
    tables = Tables({"patients": patients, "surgeries": surgeries})

    def failing(check_id: str) -> list[int]:
        check = next(c for c in CROSS_CHECKS if c.check_id == check_id and c.table == "surgeries")
        return sorted(check.failing_rows(tables)["row"].to_list())

    assert failing("consistency.unknown_patient") == [3, 4]  # Z is not in the patients file, nor is a missing id
    assert failing("plausibility.event_before_diagnosis") == [0]  # not B's row 2: B has two patient rows
    assert failing("plausibility.event_after_death") == [1]
    assert failing("plausibility.event_after_last_contact") == [1]
