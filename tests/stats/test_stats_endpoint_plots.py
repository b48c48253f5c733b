"""The one-call entry point, its tables as DuckDB tables, and the figures drawn from them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from pipelines.stats import (
    COX_COLUMNS,
    CURVE_COLUMNS,
    LANDMARK_COLUMNS,
    LOGRANK_COLUMNS,
    PH_COLUMNS,
    SUMMARY_COLUMNS,
    analyse_endpoint,
    forest_figure,
    kaplan_meier,
    km_figure,
    save_png,
)
from pipelines.stats.competing import CIF_SCHEMA, COMPETING_COX_SCHEMA, GRAY_SCHEMA
from pipelines.stats.rmst import RMST_CONTRAST_SCHEMA, RMST_SCHEMA

COLUMNS = {
    "km_summary": SUMMARY_COLUMNS,
    "km_landmarks": LANDMARK_COLUMNS,
    "km_curve": CURVE_COLUMNS,
    "logrank": LOGRANK_COLUMNS,
    "cox": COX_COLUMNS,
    "ph_test": PH_COLUMNS,
    "immortal_time": COX_COLUMNS,
    "cumulative_incidence": list(CIF_SCHEMA),
    "gray_test": list(GRAY_SCHEMA),
    "competing_cox": list(COMPETING_COX_SCHEMA),
    "rmst": list(RMST_SCHEMA),
    "rmst_contrast": list(RMST_CONTRAST_SCHEMA),
}


def registry_like(
    groups: tuple[str, ...], seed: int = 8, n_per_group: int = 50, silent: str | None = None
) -> pd.DataFrame:
    """Exponential PFS per group (later groups do better), a sex and KIT exon 11 covariate, a surgery time."""
    rng = np.random.default_rng(seed)
    label = np.repeat(groups, n_per_group)
    rate = 0.05 / (1 + np.searchsorted(groups, label, sorter=np.argsort(groups)) * 0.5)
    event_time, censor_time = rng.exponential(1 / rate), rng.uniform(6, 72, label.size)
    event = (event_time <= censor_time).astype(int)
    if silent is not None:
        event[label == silent] = 0
    follow_up = np.minimum(event_time, censor_time)
    surgery = rng.exponential(20, label.size)
    return pd.DataFrame(
        {
            "time_months": follow_up,
            "event": event,
            "group": label,
            "sex": rng.choice(["female", "male"], label.size),
            "kit_exon11": rng.random(label.size) < 0.7,
            "surgery_months": np.where(surgery < follow_up, surgery, np.nan),
        }
    )


def duckdb_types(table: pd.DataFrame) -> list[str]:
    connection = duckdb.connect()
    connection.register("incoming", table)
    return [row[1] for row in connection.execute("DESCRIBE SELECT * FROM incoming").fetchall()]


def test_analyse_endpoint_tables_and_keys_load_into_duckdb() -> None:
    frame = registry_like(("imatinib", "sunitinib", "regorafenib"))
    results = analyse_endpoint(
        frame,
        reference_group="imatinib",
        groups=["imatinib", "sunitinib", "regorafenib"],
        covariates=["sex", "kit_exon11"],
        exposure="surgery_months",
    )
    tables = results.tables(analysis_id="surgery_on_tki", endpoint="PFS")
    assert set(tables) == set(COLUMNS)
    connection = duckdb.connect()
    for name, table in tables.items():
        assert list(table.columns) == ["analysis_id", "endpoint", *COLUMNS[name]], name
        connection.register("incoming", table)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming").fetchall()
        connection.unregister("incoming")
        assert connection.execute(f"SELECT count(*) FROM {name}").fetchall() == [(len(table),)]
    assert results.km_summary["group"].tolist() == ["imatinib", "sunitinib", "regorafenib"]
    assert len(results.km_landmarks) == 3 * 5
    assert results.cox["model"].unique().tolist() == ["univariable", "multivariable"]
    assert results.cox.query("model == 'multivariable'")["term"].tolist() == [
        "group=sunitinib",
        "group=regorafenib",
        "sex=male",
        "kit_exon11=True",
    ]
    assert set(results.immortal_time["model"]) == {
        "naive",
        "landmark_6",
        "landmark_12",
        "time_varying",
        "naive_adjusted",
        "landmark_6_adjusted",
        "landmark_12_adjusted",
        "time_varying_adjusted",
    }
    assert (results.cox["status"] == "ok").all()


def test_analyse_endpoint_passes_the_ci_transform_through() -> None:
    frame = registry_like(("a", "b"))
    results = analyse_endpoint(frame, reference_group="a", ci_transform="log")
    pd.testing.assert_frame_equal(results.km_summary, kaplan_meier(frame, ci_transform="log").summary)
    assert (results.km_curve["ci_transform"] == "log").all()
    assert results.immortal_time.empty and list(results.immortal_time.columns) == COX_COLUMNS


def test_analyse_endpoint_never_raises_on_an_empty_frame() -> None:
    empty = registry_like(("a", "b")).iloc[:0]
    results = analyse_endpoint(
        empty, reference_group="a", groups=["a", "b"], covariates=["sex"], exposure="surgery_months"
    )
    assert results.km_summary["n"].tolist() == [0, 0]
    assert results.logrank["status"].iloc[0] == "not_estimable: fewer than 2 groups with subjects"
    assert results.cox["status"].str.startswith("not_estimable").all()
    assert results.immortal_time["status"].str.startswith("not_estimable").all()
    for name in COLUMNS:  # all-missing or empty columns keep their types: no DuckDB NULL-typed column
        assert '"NULL"' not in duckdb_types(getattr(results, name)), name


@pytest.mark.parametrize("groups", [("a", "b"), ("imatinib", "sunitinib", "regorafenib", "ripretinib")])
def test_figures_are_written_with_a_silent_group(tmp_path: Path, groups: tuple[str, ...]) -> None:
    frame = registry_like(groups, silent=groups[-1])  # the last group has no events: median not reached, no HR
    results = analyse_endpoint(frame, reference_group=groups[0], groups=list(groups), covariates=["sex", "kit_exon11"])
    assert not results.km_summary["median_reached"].iloc[-1]
    note = "Not randomised: confounding by indication. Not held: performance status, comorbidity."
    km_path = save_png(km_figure(frame, results, title="PFS", footnote=note), tmp_path / f"km_{len(groups)}.png")
    forest_path = save_png(
        forest_figure(results.cox, title="PFS", footnote=note), tmp_path / f"forest_{len(groups)}.png"
    )
    for path in (km_path, forest_path):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 20_000
    assert plt.get_fignums() == []  # figures live outside pyplot: nothing accumulates in a long run


def test_figures_with_an_empty_group_and_no_estimable_model(tmp_path: Path) -> None:
    frame = registry_like(("a", "b"), silent="a")  # reference without events: no HR at all
    results = analyse_endpoint(frame, reference_group="a", groups=["a", "b", "c"], covariates=["sex"])
    assert save_png(km_figure(frame, results), tmp_path / "km.png").stat().st_size > 20_000
    assert save_png(forest_figure(results.cox), tmp_path / "forest.png").stat().st_size > 10_000
