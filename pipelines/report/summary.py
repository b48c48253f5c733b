"""The report's first table: every comparison's answer, read from ``published.v_comparison_summary``.

One row per analysis, endpoint and compared level: the question, n and events per group as the
survival summary publishes them, the primary estimate with its design, the naive estimate beside it,
and a traffic light with the reasons that qualify the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines import labels as words
from pipelines.report.formatting import count, estimate_ci, p_value

REASONS = {  # flag column -> what it means for the reader
    "ph_test_failed": "proportional hazards rejected (p < 0.05): the HR averages a ratio that changes over time",
    "positivity_concern": "IPTW positivity: extreme weights or groups outside the propensity overlap",
    "few_events": "a group with fewer than 10 events",
    "counts_withheld": "counts withheld (small-count suppression)",
}


@dataclass(frozen=True)
class SummaryRow:
    analysis_id: str  # the anchor of the analysis's section
    question: str
    endpoint: str  # in words
    comparison: str  # "<level> vs <reference>", in words
    label: str  # the forest plot's line: comparison and endpoint abbreviation
    groups: str  # n / events per group, as published
    primary: str  # "HR (CI), p" of the primary model
    primary_design: str
    naive: str
    naive_design: str
    light: str
    reasons: list[str]
    primary_ci: tuple[float, float, float] | None  # HR, lower, upper for the forest plot
    naive_ci: tuple[float, float, float] | None


def _ci(hr: object, lower: object, upper: object) -> tuple[float, float, float] | None:
    values = (hr, lower, upper)
    return None if any(v is None for v in values) else tuple(float(v) for v in values)  # type: ignore[return-value]


def _hazard_ratio(hr: object, lower: object, upper: object, p: object) -> str:
    """``HR 0.61 (0.48–0.78), p < 0.001`` as a paper prints it."""
    shown = p_value(p)
    if shown == "—":
        return f"HR {estimate_ci(hr, lower, upper)}"
    return f"HR {estimate_ci(hr, lower, upper)}, p {'< ' + shown[1:] if shown.startswith('<') else '= ' + shown}"


def summary_rows(con: duckdb.DuckDBPyConnection, min_cell_count: int) -> list[SummaryRow]:
    """The comparisons in catalogue order (``results.analyses``), each endpoint and level."""
    groups: dict[tuple[str, str], list[str]] = {}
    for analysis_id, endpoint, group, n, events in con.execute(
        'SELECT analysis_id, endpoint, "group", n, events FROM published.v_survival_summary ORDER BY ALL'
    ).fetchall():
        group_words = words.AnalysisLabels(analysis_id).group(group)
        text = f"{group_words}: n = {count(n, min_cell_count)}, {count(events, min_cell_count)} events"
        groups.setdefault((analysis_id, endpoint), []).append(text)
    rows = con.execute(
        "SELECT s.* FROM published.v_comparison_summary AS s "
        "JOIN (SELECT id, row_number() OVER () AS position FROM results.analyses) AS a ON a.id = s.analysis_id "
        "ORDER BY a.position, s.endpoint, s.level"
    )
    names = [d[0] for d in rows.description]
    out = []
    for values in rows.fetchall():
        r = dict(zip(names, values, strict=True))
        labels = words.AnalysisLabels(r["analysis_id"])
        comparison = f"{labels.group(r['level'])} vs {labels.group(r['reference'])}"
        out.append(
            SummaryRow(
                analysis_id=r["analysis_id"],
                question=r["question"],
                endpoint=words.endpoint(r["endpoint"]),
                comparison=comparison,
                label=f"{comparison}, {r['endpoint']}",
                groups="; ".join(groups.get((r["analysis_id"], r["endpoint"]), [])),
                primary=_hazard_ratio(r["hr"], r["hr_lower"], r["hr_upper"], r["p"]),
                primary_design=f"primary: {words.model(r['primary_model'])}",
                naive=_hazard_ratio(r["naive_hr"], r["naive_lower"], r["naive_upper"], r["naive_p"]),
                naive_design=words.model(r["naive_model"]) if r["naive_model"] == "naive" else "unadjusted",
                light=r["light"],
                reasons=[text for flag, text in REASONS.items() if r[flag]],
                primary_ci=_ci(r["hr"], r["hr_lower"], r["hr_upper"]),
                naive_ci=_ci(r["naive_hr"], r["naive_lower"], r["naive_upper"]),
            )
        )
    return out
