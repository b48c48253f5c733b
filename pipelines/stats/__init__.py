"""Survival statistics of the registry: plain functions over pandas analysis frames, no Dagster.

The entry point is :func:`analyse_endpoint` (one call per analysis endpoint); the other
functions are its parts and the non-survival analyses (binary outcomes, Table 1).
Conventions and every output column are documented in docs/statistics.md.
"""

from pipelines.stats.binary import BINARY_COLUMNS, binary_outcome, contingency_test, event_within
from pipelines.stats.cox import COX_COLUMNS, CoxResult, cox_model
from pipelines.stats.endpoint import EndpointResults, analyse_endpoint
from pipelines.stats.frame import DAYS_PER_MONTH, DEFAULT_LANDMARKS, EVENT, GROUP, TIME, CiTransform
from pipelines.stats.km import (
    CURVE_COLUMNS,
    LANDMARK_COLUMNS,
    SUMMARY_COLUMNS,
    KaplanMeierTables,
    kaplan_meier,
    pointwise_ci,
    survival_quantile,
)
from pipelines.stats.logrank import LOGRANK_COLUMNS, logrank
from pipelines.stats.ph_test import PH_COLUMNS
from pipelines.stats.plots import (
    cumulative_incidence_figure,
    exposure_forest_figure,
    few_events_note,
    forest_figure,
    km_figure,
    ph_test_note,
    save_figure,
    save_png,
)
from pipelines.stats.table_one import TABLE_ONE_COLUMNS, table_one
from pipelines.stats.timevarying import (
    counting_process_frame,
    ever_exposed_frame,
    immortal_time_analysis,
    landmark_frame,
    time_varying_cox,
)

__all__ = [
    "BINARY_COLUMNS",
    "COX_COLUMNS",
    "CURVE_COLUMNS",
    "DAYS_PER_MONTH",
    "DEFAULT_LANDMARKS",
    "EVENT",
    "GROUP",
    "LANDMARK_COLUMNS",
    "LOGRANK_COLUMNS",
    "PH_COLUMNS",
    "SUMMARY_COLUMNS",
    "TABLE_ONE_COLUMNS",
    "TIME",
    "CiTransform",
    "CoxResult",
    "EndpointResults",
    "KaplanMeierTables",
    "analyse_endpoint",
    "binary_outcome",
    "contingency_test",
    "counting_process_frame",
    "cox_model",
    "event_within",
    "ever_exposed_frame",
    "cumulative_incidence_figure",
    "exposure_forest_figure",
    "few_events_note",
    "forest_figure",
    "immortal_time_analysis",
    "kaplan_meier",
    "km_figure",
    "landmark_frame",
    "logrank",
    "pointwise_ci",
    "ph_test_note",
    "save_figure",
    "save_png",
    "survival_quantile",
    "table_one",
    "time_varying_cox",
]
