"""An analysis's cohort flow (published.v_cohort_flow) as boxes in words, for the report's vertical flow diagram."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines import labels as words
from pipelines.catalogue import Analysis
from pipelines.report.formatting import count
from pipelines.stats.flow import ROOT


@dataclass(frozen=True)
class FlowStep:
    """One box (patients remaining), entered from the one above less ``excluded`` (words, count)."""

    label: str
    n: str
    excluded: tuple[str, str] | None = None


@dataclass(frozen=True)
class Flow:
    unit: str  # what the boxes count, in words: patients, operations, samples
    steps: list[FlowStep] = field(default_factory=list)
    analysed: list[tuple[str, str]] = field(default_factory=list)  # (group in words, n) in display order
    excluded: list[tuple[str, str]] = field(default_factory=list)  # the exclusion before the analysed groups


def cohort_flow(con: duckdb.DuckDBPyConnection, analysis: Analysis, min_cell_count: int) -> Flow | None:
    """None where the analysis publishes no flow (no ``analysis.<id>_flow``)."""
    rows = con.execute(
        'SELECT step, kind, reason, "group", n FROM published.v_cohort_flow WHERE analysis_id = ? '
        "ORDER BY step, kind = 'cohort', kind = 'analysed'",
        [analysis.id],
    ).fetchall()
    if not rows:
        return None
    labels = words.AnalysisLabels(analysis.id)
    unit = words.variable(rows[0][2].removeprefix(ROOT))
    flow, excluded = Flow(unit.lower()), None
    for _, kind, reason, group, n in rows:
        shown = count(n, min_cell_count)
        if kind == "excluded":
            excluded = (words.flow(reason), shown)
        elif kind == "cohort":
            flow.steps.append(FlowStep(words.flow(reason) if reason else f"{unit} remaining", shown, excluded))
            excluded = None
        else:
            flow.analysed.append((labels.group(group), shown))
    if excluded is not None:  # the last exclusion leads to the analysed groups
        flow.excluded.append(excluded)
    order = {labels.group(g): i for i, g in enumerate(analysis.groups)}
    flow.analysed.sort(key=lambda item: order.get(item[0], len(order)))
    return flow
