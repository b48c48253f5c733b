"""The cohort flow: counts from a hand-made per-patient frame, complementary suppression of its subtraction
chain, and the report's flow diagram in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.disclosure import flag, suppress
from pipelines.stats.flow import NOT_COMPARED, REGISTRY, cohort_flow

K = 5


def _patients(steps: list[tuple[float | None, str | None, int]]) -> pd.DataFrame:
    rows = [(step, reason) for step, reason, n in steps for _ in range(n)]
    return pd.DataFrame(rows, columns=["excluded_step", "excluded_reason"])


def test_steps_count_each_exclusion_in_the_sql_order_and_end_with_the_groups():
    # steps 3 and 1 out of order, no step 2, steps as floats (NULLs in a SQL integer column): the view never looks so
    patients = _patients([(3.0, "primary_resistance", 2), (None, None, 45), (1.0, "not_first_line_imatinib", 13)])
    flow = cohort_flow(patients, {"A": 40, "B": 3})
    rows = flow.astype(object).where(flow.notna(), None)
    assert list(rows.itertuples(index=False, name=None)) == [
        (0, "cohort", REGISTRY, None, 60),
        (1, "excluded", "not_first_line_imatinib", None, 13),
        (1, "cohort", None, None, 47),
        (3, "excluded", "primary_resistance", None, 2),
        (3, "cohort", None, None, 45),
        (4, "excluded", NOT_COMPARED, None, 2),
        (4, "analysed", None, "A", 40),
        (4, "analysed", None, "B", 3),
    ]


def test_more_analysed_than_pass_the_steps_is_an_error():
    with pytest.raises(ValueError, match="2 more patients"):
        cohort_flow(_patients([(None, None, 5)]), {"A": 7})


def _tables() -> dict[str, pd.DataFrame]:
    keys = {"analysis_id": "flowtest", "endpoint": "OS"}
    summary = pd.DataFrame(
        [
            {**keys, "group": "A", "n": 40, "events": 30, "censored": 10},
            {**keys, "group": "B", "n": 3, "events": 2, "censored": 1},
        ]
    )
    flow = cohort_flow(
        _patients([(1.0, "not_first_line_imatinib", 13), (2.0, "primary_resistance", 2), (None, None, 45)]),
        {"A": 40, "B": 3},
    )
    flow.insert(0, "endpoint", None)
    flow.insert(0, "analysis_id", "flowtest")
    return {"km_summary": summary, "cohort_flow": flow}


def test_no_small_count_of_the_flow_follows_from_the_published_ones_by_subtraction():
    """Written out by hand: the chain 60 = 13 + 47, 47 = 2 + 45, 45 = 2 + 40 + 3 and each group's n = events + censored."""
    out = suppress(_tables(), K)
    flow, summary = out["cohort_flow"], out["km_summary"]
    cells = [("flow", i) for i in range(len(flow))] + [
        ("km", i, c) for i in range(2) for c in ("n", "events", "censored")
    ]
    value = {("flow", i): int(flow.loc[i, "n"]) for i in range(len(flow))}
    hidden = {("flow", i) for i in range(len(flow)) if flow.loc[i, flag("n")]}
    for i in range(2):
        for c in ("n", "events", "censored"):
            value[("km", i, c)] = int(summary.loc[i, c])
            if summary.loc[i, flag(c)]:
                hidden.add(("km", i, c))
    # the flow rows in order: 0 registry, 1 excl, 2 cohort, 3 excl, 4 cohort, 5 excl, 6 A, 7 B; A and B = km n
    identities = [
        {("flow", 0): 1, ("flow", 1): -1, ("flow", 2): -1},
        {("flow", 2): 1, ("flow", 3): -1, ("flow", 4): -1},
        {("flow", 4): 1, ("flow", 5): -1, ("flow", 6): -1, ("flow", 7): -1},
        {("flow", 6): 1, ("km", 0, "n"): -1},
        {("flow", 7): 1, ("km", 1, "n"): -1},
        *({("km", i, "n"): 1, ("km", i, "events"): -1, ("km", i, "censored"): -1} for i in range(2)),
    ]
    assert all(sum(coef * value[c] for c, coef in identity.items()) == 0 for identity in identities)
    unknown = [c for c in cells if c in hidden]
    matrix = np.array([[identity.get(c, 0) for c in unknown] for identity in identities], dtype=float)
    small = [c for c in unknown if 0 < value[c] < K]
    assert {("flow", 3), ("flow", 5), ("flow", 7)} <= set(small)  # the two small exclusions and group B
    rank = np.linalg.matrix_rank(matrix)
    for c in small:
        unit = np.zeros(len(unknown))
        unit[unknown.index(c)] = 1
        assert np.linalg.matrix_rank(np.vstack([matrix, unit])) > rank, f"{c} = {value[c]} follows by subtraction"
