"""The IPTW figures drawn from hand-written tables: what a reader sees is what the tables say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.stats.iptw import SMD_THRESHOLD
from pipelines.stats.iptw_plots import love_figure, weighted_km_figure


def test_love_plot_shows_every_term_before_and_after_with_the_threshold() -> None:
    balance = pd.DataFrame(
        {"term": ["age", "sex: male", "size_cm"], "smd_before": [0.42, -0.25, 0.05], "smd_after": [0.03, 0.08, -0.11]}
    )
    ax = love_figure(balance, title="surgery_on_tki", footnote="n = 40").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["size cm", "sex: male", "Age, years"]  # first on top
    before, after = (np.asarray(c.get_offsets())[:, 0] for c in ax.collections)
    assert list(before) == [0.05, 0.25, 0.42] and list(after) == [0.11, 0.08, 0.03]  # |SMD|, bottom to top
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [SMD_THRESHOLD]
    assert "Covariate balance" in ax.get_title()


def test_weighted_km_starts_at_one_and_draws_each_group_with_its_limits() -> None:
    curve = pd.DataFrame(
        {
            "group": ["a", "a", "b"],
            "time": [2.0, 5.5, 3.0],
            "survival": [0.8, 0.5, 0.9],
            "lower": [0.6, 0.3, 0.7],
            "upper": [0.95, 0.7, 1.0],
        }
    )
    ax = weighted_km_figure(curve, title="t").axes[0]
    lines = ax.get_lines()
    assert len(lines) == 6  # survival, lower and upper per group
    assert list(lines[0].get_xdata()) == [0.0, 2.0, 5.5] and list(lines[0].get_ydata()) == [1.0, 0.8, 0.5]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (IPTW-adjusted)", "b (IPTW-adjusted)"]
    assert ax.get_ylabel() == "Survival probability, IPTW-adjusted"
