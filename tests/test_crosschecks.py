"""The rules across rows of the TKI episodes, on small hand-made frames: what each flags and what it leaves alone."""

from datetime import date

import polars as pl

from schemas.crosschecks import CROSS_CHECKS, Tables


def _failing(check_id: str, episodes: list[tuple]) -> list[int]:
    frame = pl.DataFrame(episodes, schema={"patient_id": pl.Utf8, "line": pl.Int64, "start_date": pl.Date, "end_date": pl.Date},
                         orient="row").with_row_index("row")
    check = next(c for c in CROSS_CHECKS if c.check_id == check_id)
    return sorted(check.failing_rows(Tables({"tki_episodes": frame}))["row"].to_list())


def test_lines_must_run_from_one_without_gaps_per_patient():
    d = date(2020, 1, 1)
    episodes = [("A", 1, d, d), ("A", 2, d, d), ("A", 2, d, d),  # a repeated line is not a gap
                ("B", 2, d, d), ("B", 3, d, d),  # starts at 2
                ("C", 1, d, d), ("C", 3, d, d),  # skips 2
                ("D", 1, d, d),
                (None, 1, d, d), (None, 2, d, d)]  # no patient id: its own group
    assert _failing("conformance.line_not_contiguous", episodes) == [3, 4, 6]


def test_an_episode_may_not_start_before_the_previous_one_ended():
    episodes = [("A", 1, date(2020, 1, 1), date(2020, 6, 1)), ("A", 2, date(2020, 5, 1), None),  # overlaps
                ("B", 1, date(2020, 1, 1), None), ("B", 2, date(2021, 1, 1), None),  # previous never ended
                ("C", 1, date(2020, 1, 1), date(2020, 2, 1)), ("C", 2, date(2020, 2, 1), None),  # starts the day it ended
                ("D", 1, date(2020, 1, 1), date(2020, 2, 1))]
    assert _failing("plausibility.overlapping_episodes", episodes) == [1, 3]
