"""The cohort flow of an analysis (CONSORT/STROBE style): the registry's units, the ordered exclusions, the analysed groups.

The exclusion steps are data: an analysis's SQL may define ``analysis.<id>_flow`` (one row per registry
patient, or per operation or sample where the frame has that grain, with ``excluded_step`` and
``excluded_reason`` of the first step it fails, NULL if none) and ``analysis.<id>_flow_steps()``, the boxes in
order (the root, ``registry_<unit>``, then every reason the view can give).  :func:`cohort_flow` counts every
declared step, so a step that excludes nobody is drawn with its 0.  The analysed n per group is the
analysis's own (its ``km_summary``), so the diagram and the results cannot disagree; whoever passes every step
but is not in a compared group is the last exclusion, ``not_in_compared_groups``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

FLOW_SCHEMA = {"step": "int64", "kind": "string", "reason": "string", "group": "string", "n": "int64"}
NOT_COMPARED = "not_in_compared_groups"
ROOT = "registry_"  # the root box's code: registry_<unit>, the unit (patients, operations, samples) in words


def cohort_flow(patients: pd.DataFrame, steps: Sequence[str], analysed: Mapping[str, int]) -> pd.DataFrame:
    """Rows in order: ``cohort`` (units remaining), ``excluded`` (with a reason) after each step, ``analysed`` per group.

    ``patients`` has one row per registry unit with ``excluded_step`` and ``excluded_reason``; ``steps`` is
    the root then the reasons in order (``excluded_step`` = the reason's position after the root);
    ``analysed`` maps each compared group to its n, in display order.
    """
    root, *reasons = steps
    position = {reason: float(step) for step, reason in enumerate(reasons, 1)}
    given = patients["excluded_reason"].map(lambda r: position.get(r, -1.0) if isinstance(r, str) else float("nan"))
    stated = patients["excluded_step"].astype("float64")
    wrong = patients[~(given.isna() & stated.isna()) & (given != stated)]
    if len(wrong):
        step, reason = wrong.iloc[0][["excluded_step", "excluded_reason"]]
        raise ValueError(f"excluded_step {step} with reason {reason!r} is not one of the declared steps {reasons}")
    counts = patients["excluded_reason"].value_counts()
    rows = [(0, "cohort", root, None, len(patients))]
    remaining = len(patients)
    for step, reason in enumerate(reasons, 1):
        n = int(counts.get(reason, 0))
        remaining -= n
        rows += [(step, "excluded", reason, None, n), (step, "cohort", None, None, remaining)]
    last = len(reasons) + 1
    not_compared = remaining - sum(int(n) for n in analysed.values())
    if not_compared < 0:
        raise ValueError(f"the analysed groups hold {-not_compared} more than pass the cohort's steps")
    rows.append((last, "excluded", NOT_COMPARED, None, not_compared))
    rows += [(last, "analysed", None, group, int(n)) for group, n in analysed.items()]
    return pd.DataFrame(rows, columns=list(FLOW_SCHEMA)).astype(FLOW_SCHEMA)
