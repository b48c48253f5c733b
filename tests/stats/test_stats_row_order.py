"""Every table of an endpoint is a function of the frame's rows, not of their order (heavy ties, clusters, exposure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from pipelines.stats import analyse_endpoint


def _frame() -> pd.DataFrame:
    rossi = load_rossi()
    n = len(rossi)
    return rossi.assign(
        time_months=rossi["week"].astype(float),
        event=rossi["arrest"],
        group=rossi["fin"].map({0: "no", 1: "yes"}),
        pair=(np.arange(n) // 2).astype(str),
        exposure=np.where(np.arange(n) % 3 == 0, (np.arange(n) % 40) + 0.5, np.nan),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_rows_give_the_same_numbers_to_1e_10(seed) -> None:
    frame = _frame()
    options = {
        "reference_group": "no",
        "groups": ["no", "yes"],
        "covariates": ["age", "wexp", "prio"],
        "landmarks": (13, 26, 52),
        "exposure": "exposure",
        "exposure_landmarks": (13, 26),
        "cluster": "pair",
    }
    original = analyse_endpoint(frame, **options).tables()
    shuffled = analyse_endpoint(frame.sample(frac=1, random_state=seed), **options).tables()
    compared = 0
    for name, table in original.items():
        other = shuffled[name]
        assert list(other.columns) == list(table.columns) and len(other) == len(table), name
        for column in table.columns:
            if pd.api.types.is_float_dtype(table[column]):
                assert other[column].to_numpy() == pytest.approx(
                    table[column].to_numpy(), rel=1e-10, abs=1e-14, nan_ok=True
                ), (name, column)
                compared += int(table[column].notna().sum())
            else:
                assert other[column].astype(str).tolist() == table[column].astype(str).tolist(), (name, column)
    assert compared > 400
