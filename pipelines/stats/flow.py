"""The cohort flow of an analysis (CONSORT/STROBE style): registry patients, the ordered exclusions, the analysed groups.

The exclusion steps are data: an analysis's SQL may define ``analysis.<id>_flow`` (one row per registry
patient, ``excluded_step`` and ``excluded_reason`` of the first step the patient fails, NULL if none), and
:func:`cohort_flow` turns it into counts.  The analysed n per group is the analysis's own (its
``km_summary``), so the diagram and the results cannot disagree; whoever passes every step but is not in
a compared group is the last exclusion, ``not_in_compared_groups``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

FLOW_SCHEMA = {"step": "int64", "kind": "string", "reason": "string", "group": "string", "n": "int64"}
REGISTRY = "registry_patients"
NOT_COMPARED = "not_in_compared_groups"


def cohort_flow(patients: pd.DataFrame, analysed: Mapping[str, int]) -> pd.DataFrame:
    """Rows in order: ``cohort`` (patients remaining), ``excluded`` (with a reason) after each step, ``analysed`` per group.

    ``patients`` has one row per registry patient with ``excluded_step`` (order of the step) and
    ``excluded_reason``; ``analysed`` maps each compared group to its n, in display order.
    """
    excluded = patients.dropna(subset=["excluded_step"])
    counts = excluded.groupby(["excluded_step", "excluded_reason"], sort=True).size()
    rows = [(0, "cohort", REGISTRY, None, len(patients))]
    remaining = len(patients)
    for (step, reason), n in counts.items():  # the SQL's step numbers: a step that excludes nobody has no row
        remaining -= int(n)
        rows += [(int(step), "excluded", str(reason), None, int(n)), (int(step), "cohort", None, None, remaining)]
    last = int(excluded["excluded_step"].max()) + 1 if len(excluded) else 1
    not_compared = remaining - sum(int(n) for n in analysed.values())
    if not_compared < 0:
        raise ValueError(f"the analysed groups hold {-not_compared} more patients than pass the cohort's steps")
    rows.append((last, "excluded", NOT_COMPARED, None, not_compared))
    rows += [(last, "analysed", None, group, int(n)) for group, n in analysed.items()]
    return pd.DataFrame(rows, columns=list(FLOW_SCHEMA)).astype(FLOW_SCHEMA)
