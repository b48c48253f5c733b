"""The results contract: one declaration per ``results.*`` table (columns, DuckDB types, meanings, grain, views).

Types come from the statistics modules' ``*_SCHEMA`` dtype dicts (never written twice); this module adds
what a column means, what one row is, and which published views read the table. The declaration drives the
tables' DDL and ``COMMENT ON`` (``pipelines/registry/results.py``) and ``docs/results-dictionary.md``
(``python -m schemas.results``; a test fails when the committed file is stale).

A new results table is one entry in ``RESULTS``: ``declare(name, grain, row, schema, meanings, views=...)``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_type_hints

from pipelines.catalogue import Adjustment, Analysis, BinaryOutcome
from pipelines.disclosure import AT_RISK_SCHEMA, COUNTS, flag
from pipelines.stats.binary import BINARY_SCHEMA
from pipelines.stats.competing import CIF_SCHEMA, COMPETING_COX_SCHEMA, GRAY_SCHEMA
from pipelines.stats.cox import COX_SCHEMA
from pipelines.stats.flow import FLOW_SCHEMA
from pipelines.stats.iptw import IPTW_SCHEMAS
from pipelines.stats.km import CURVE_SCHEMA, LANDMARK_SCHEMA, SUMMARY_SCHEMA
from pipelines.stats.logrank import LOGRANK_SCHEMA
from pipelines.stats.ph_test import PH_SCHEMA
from pipelines.stats.rmst import RMST_CONTRAST_SCHEMA, RMST_SCHEMA
from pipelines.stats.table_one import TABLE_ONE_SCHEMA

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "results-dictionary.md"
DUCKDB_TYPE = {
    "string": "VARCHAR",
    "float64": "DOUBLE",
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
}
KEYS = {"analysis_id": "string", "endpoint": "string"}
KEY_MEANINGS = {
    "analysis_id": "The catalogue entry (sql/analysis/catalogue.yaml) the row belongs to.",
    "endpoint": "PFS, RFS or OS; NULL in tables that describe an analysis's subjects once (table_one).",
}


@dataclass(frozen=True)
class ResultsColumn:
    name: str
    duckdb_type: str
    meaning: str


@dataclass(frozen=True)
class ResultsTable:
    """One ``results.<name>`` table: its columns in order, the key that makes a row unique, its readers."""

    name: str
    grain: tuple[str, ...]  # columns unique together: one row per ...
    row: str  # what one row is, in words
    columns: tuple[ResultsColumn, ...]
    views: tuple[str, ...]  # published.v_* views that read it

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        return ", ".join(f'"{c.name}" {c.duckdb_type}' for c in self.columns)


def declare(
    name: str,
    grain: tuple[str, ...],
    row: str,
    schema: Mapping[str, str],
    meanings: Mapping[str, str],
    *,
    views: tuple[str, ...] = (),
    keys: Mapping[str, str] = KEYS,
) -> ResultsTable:
    """A table keyed by ``keys``, with ``schema``'s columns, then a ``<count>_suppressed`` flag per disclosed count.

    Types are pandas dtypes (``string``, ``float64``, ...) or, where pandas has none (lists, structs), DuckDB's.

    Raises when a column has no meaning or a meaning no column, so the docs cannot fall behind the code.
    """
    dtypes = {**keys, **schema}
    given = {**KEY_MEANINGS, **meanings}
    missing, stale = set(dtypes) - set(given), set(meanings) - set(dtypes)
    if missing or stale:
        raise ValueError(
            f"results.{name}: columns without a meaning {sorted(missing)}, meanings without a column {sorted(stale)}"
        )
    columns = [ResultsColumn(c, DUCKDB_TYPE.get(t, t), given[c]) for c, t in dtypes.items()]
    columns += [
        ResultsColumn(flag(c), "BOOLEAN", f"True where {c} is withheld (small-count suppression, docs/statistics.md).")
        for c in COUNTS.get(name, ())
    ]
    return ResultsTable(name, grain, row, tuple(columns), views)


GROUP = {"group": "Group label."}
P_FLOOR_MEANINGS = {
    "p_floor": "The smallest p the test can give (Monte Carlo: 1 / (resamples + 1)); NULL for exact tests.",
    "p_display": "p as text, '< p_floor' where a Monte Carlo p is at its floor (never shown as exact).",
}
IPTW_MODEL_MEANING = (
    "iptw (the entry's two groups) or iptw_landmark_<L> (an entry with an exposure: exposed by L months vs not, "
    "among the subjects event-free and followed at L, time from L; groups exposed / unexposed)."
)
CI = "CI transform used for S(t) and its confidence limits (log-log, log or plain)."
COX_MEANINGS = {
    "model": "univariable or multivariable; in immortal_time: naive, landmark_<L>, time_varying, each optionally _adjusted.",
    "term": "group=<label>, <covariate>=<level>, or a numeric covariate's name (group alone for a single-group frame).",
    "variable": "The column the term comes from.",
    "level": "The level compared (NULL for a numeric covariate).",
    "reference": "The level it is compared with (NULL for a numeric covariate: HR per unit).",
    "n": "Subjects in the fitted model.",
    "events": "Events in the fitted model.",
    "n_excluded_missing": "Subjects left out for a missing covariate.",
    "n_clusters": "Clusters (patients) of the robust variance; NULL = model-based variance.",
    "coef": "Log hazard ratio.",
    "se": "Standard error of coef.",
    "hr": "Hazard ratio exp(coef).",
    "hr_lower": "Lower limit of the 95% Wald CI of the HR.",
    "hr_upper": "Upper limit of the 95% Wald CI of the HR.",
    "p": "Wald p-value.",
    "status": "ok or why this term is not estimable (every estimate NaN then).",
}
LIMITS_MEANINGS = {
    "design": "The observational-data statement (confounding by indication; associations, not effects).",
    "confounders_held": "Covariates of the multivariable model (NULL if none).",
    "confounders_not_held": "The catalogue's confounders_not_held.",
    "few_events_groups": "Groups with fewer than 10 events and their events as published (supp. where withheld; NULL if none).",
    "clustering": "For operation-level analyses: robust variance by patient, KM/log-rank not corrected.",
    "immortal_time": "For analyses with an exposure: where the corrected estimates are.",
    "adjustment": "Which adjustments the models make: multivariable covariates, landmarks, time-varying exposure, "
    "its split, time-varying covariates, IPTW where declared.",
    "time_dependent_confounding": "In words, what the exposure models cannot separate (progression as a "
    "time-dependent confounder and mediator; exposure kinds mixed); NULL without an exposure.",
    "primary_model": "The catalogue's primary model, the estimate the report leads with (NULL if none declared).",
    "footnote": "All of the above as the sentence printed under every figure of the comparison.",
}
LIMITS_SCHEMA = {
    "analysis_id": "string",
    "endpoint": "string",
    "design": "string",
    "confounders_held": "string",
    "confounders_not_held": "string",
    "few_events_groups": "string",
    "clustering": "string",
    "immortal_time": "string",
    "adjustment": "string",
    "time_dependent_confounding": "string",
    "primary_model": "string",
    "footnote": "string",
}
CATALOGUE_TYPE = {
    str: "VARCHAR",
    str | None: "VARCHAR",
    tuple[str, ...]: "VARCHAR[]",
    tuple[float, ...]: "DOUBLE[]",
    BinaryOutcome | None: "STRUCT(endpoint VARCHAR, within_months DOUBLE)",
    bool: "BOOLEAN",
    float: "DOUBLE",
    float | None: "DOUBLE",
    int: "BIGINT",
    Adjustment | None: "VARCHAR",  # JSON text
    Mapping[str, str] | None: "VARCHAR",  # JSON text
    Mapping[str, tuple[str, ...]] | None: "VARCHAR",  # JSON text
}


def _only(meanings: Mapping[str, str], schema: Mapping[str, str]) -> dict[str, str]:
    """The meanings of the columns ``schema`` has (tables that share some of another's columns)."""
    return {name: text for name, text in meanings.items() if name in schema}


def _catalogue_schema() -> dict[str, str]:
    """``results.analyses`` holds every field of :class:`Analysis`, so a new catalogue key needs no entry here."""
    hints = get_type_hints(Analysis)
    unknown = {f.name: hints[f.name] for f in fields(Analysis) if hints[f.name] not in CATALOGUE_TYPE}
    if unknown:
        raise TypeError(f"results.analyses: no DuckDB type for catalogue fields {unknown} (add it to CATALOGUE_TYPE)")
    return {f.name: CATALOGUE_TYPE[hints[f.name]] for f in fields(Analysis)}


def _results_tables() -> dict[str, ResultsTable]:
    """Every results table written by ``pipelines/analyses.py`` and ``pipelines/registry/results.py``."""
    tables = [
        declare(
            "km_summary",
            ("analysis_id", "endpoint", "group"),
            "one group of one endpoint",
            SUMMARY_SCHEMA,
            {
                **GROUP,
                "n": "Subjects.",
                "events": "Events.",
                "censored": "Censored subjects.",
                "median": "Median time to event in months (NaN = not reached).",
                "median_lower": "Lower 95% confidence limit of the median (NaN = not reached).",
                "median_upper": "Upper 95% confidence limit of the median (NaN = not reached).",
                "median_reached": "Whether S(t) fell to 0.5.",
                "few_events": "Fewer than 10 events: the estimates are unstable.",
                "ci_transform": CI,
            },
            views=("v_survival_summary", "v_km_curve", "v_cumulative_incidence_curve"),
        ),
        declare(
            "km_landmarks",
            ("analysis_id", "endpoint", "group", "time"),
            "one group at one landmark time (the catalogue's landmarks)",
            LANDMARK_SCHEMA,
            {
                **GROUP,
                "time": "Landmark time (months).",
                "n_at_risk": "Subjects with time >= landmark.",
                "n_events": "Events up to and including the landmark.",
                "survival": "S(landmark) (NaN beyond the group's follow-up).",
                "lower": "Lower pointwise 95% confidence limit of S(landmark).",
                "upper": "Upper pointwise 95% confidence limit of S(landmark).",
                "ci_transform": CI,
            },
            views=("v_survival_at_landmarks", "v_km_curve", "v_cumulative_incidence_curve"),
        ),
        declare(
            "km_curve",
            ("analysis_id", "endpoint", "group", "time"),
            "one step of the Kaplan-Meier curve: a group at a distinct event or censoring time (from time 0)",
            CURVE_SCHEMA,
            {
                **GROUP,
                "time": "Event or censoring time (months); the first row of each group is time 0.",
                "n_at_risk": "Subjects with time >= this time.",
                "n_events": "Events at this time.",
                "n_censored": "Subjects censored at this time.",
                "survival": "S(t) from this time until the next row.",
                "lower": "Lower pointwise 95% confidence limit of S(t) (NaN where S = 0).",
                "upper": "Upper pointwise 95% confidence limit of S(t) (NaN where S = 0).",
                "ci_transform": CI,
            },
            views=("v_km_curve",),
        ),
        declare(
            "km_at_risk",
            ("analysis_id", "endpoint", "group", "time"),
            "one group at one time of the Kaplan-Meier plot's numbers-at-risk table",
            {c: t for c, t in AT_RISK_SCHEMA.items() if c not in KEYS},
            {**GROUP, "time": "Time printed under the plot (months).", "n_at_risk": "Subjects with time >= this time."},
            views=("v_numbers_at_risk", "v_km_curve", "v_cumulative_incidence_curve"),
        ),
        declare(
            "logrank",
            ("analysis_id", "endpoint", "group"),
            "one group of one endpoint; the test is repeated on every row",
            LOGRANK_SCHEMA,
            {
                **GROUP,
                "n": "Subjects.",
                "observed": "Observed events.",
                "expected": "Expected events under equal survival (NaN for a group without subjects).",
                "statistic": "Log-rank chi-square.",
                "df": "Degrees of freedom = groups with subjects - 1.",
                "p": "p-value.",
                "status": "ok or the reason the test could not be done.",
            },
            views=("v_logrank", "v_km_curve", "v_cumulative_incidence_curve"),
        ),
        declare(
            "cox",
            ("analysis_id", "endpoint", "model", "term"),
            "one term of one Cox model (univariable, and multivariable with covariates)",
            COX_SCHEMA,
            COX_MEANINGS,
            views=("v_hazard_ratios",),
        ),
        declare(
            "immortal_time",
            ("analysis_id", "endpoint", "model", "term"),
            "one term of one exposure model (naive, landmark, time-varying); analyses with an exposure only",
            COX_SCHEMA,
            COX_MEANINGS,
            views=("v_hazard_ratios",),
        ),
        declare(
            "ph_test",
            ("analysis_id", "endpoint", "model", "term"),
            "one term of one Cox model, plus a GLOBAL row per model (cox.zph score test)",
            PH_SCHEMA,
            {
                "model": "As in cox; with an exposure also the immortal_time models.",
                "term": "Term as in cox, or GLOBAL.",
                "statistic": "Chi-square.",
                "df": "1 per term; number of terms for GLOBAL.",
                "p": "p-value (small = the hazard ratio changes over time).",
                "time_transform": "km (R cox.zph's default).",
                "status": "The model's status.",
            },
            views=("v_ph_tests",),
        ),
        declare(
            "binary_outcome",
            ("analysis_id", "endpoint", "within_months", "group"),
            "one group for one horizon; the test is repeated on every row (analyses with a binary_outcome only)",
            BINARY_SCHEMA,
            {
                "within_months": "The horizon (months): outcome = an event of endpoint within it.",
                **GROUP,
                "n": "Subjects with a known outcome.",
                "n_missing": "Subjects with a missing outcome.",
                "events": "Subjects with outcome = 1.",
                "proportion": "events / n.",
                "lower": "Lower exact (Clopper-Pearson) 95% confidence limit of the proportion.",
                "upper": "Upper exact (Clopper-Pearson) 95% confidence limit of the proportion.",
                "test": "fisher_exact, fisher_monte_carlo, chi_square or none.",
                "statistic": "Odds ratio (2x2 Fisher), table probability (Monte Carlo Fisher) or chi-square.",
                "p": "p-value.",
                **P_FLOOR_MEANINGS,
                "status": "ok or not_testable: ...",
            },
            views=("v_binary_outcomes",),
            keys={**KEYS, "within_months": "float64"},
        ),
        declare(
            "table_one",
            ("analysis_id", "variable", "level", "group"),
            "one characteristic (and level, if categorical) in one group; endpoint NULL",
            TABLE_ONE_SCHEMA,
            {
                "variable": "The characteristic.",
                "kind": "continuous, categorical, unknown (a variable's subjects with the value unknown: count = "
                "n_missing, percent of the group's subjects; only for variables with an unknown value), or units "
                "(operation-level analyses: the rows operations and patients, count = n; a patient operated in two "
                "groups counts in both, so (all) is not their sum).",
                "level": "Category; (unknown) on unknown rows; NULL for continuous and units.",
                "group": "Group label, or (all) for all subjects.",
                "n": "Subjects with a known value in the group.",
                "n_missing": "Subjects with a missing value in the group.",
                "count": "Subjects in this category (categorical), with the value unknown (unknown), or the "
                "operations / patients (units).",
                "percent": "100 x count / n (categorical); 100 x count / (n + n_missing) (unknown).",
                "median": "Median (continuous only).",
                "q1": "First quartile (continuous only).",
                "q3": "Third quartile (continuous only).",
                "min": "Minimum (continuous only).",
                "max": "Maximum (continuous only).",
                "test": "mann_whitney, kruskal_wallis, fisher_exact, fisher_monte_carlo, chi_square or none.",
                "p": "p-value of the difference between groups (same on every row of the variable).",
                **P_FLOOR_MEANINGS,
                "smd": "Standardised mean difference of the group against the reference group (tableone's definition); NaN on the "
                "reference and (all) rows.",
                "smd_max": "The largest absolute SMD over every pair of groups (same on every row of the variable).",
            },
            views=("v_table_one",),
        ),
        declare(
            "rmst",
            ("analysis_id", "endpoint", "group", "tau"),
            "one group at one restriction time tau (the catalogue's rmst_horizons)",
            RMST_SCHEMA,
            {
                **GROUP,
                "tau": "Restriction time (months).",
                "n": "Subjects in the group.",
                "rmst": "Restricted mean survival time: area under the Kaplan-Meier curve from 0 to tau (months).",
                "se": "Standard error of rmst (survRM2's variance).",
                "lower": "Lower limit of the 95% CI of rmst.",
                "upper": "Upper limit of the 95% CI of rmst.",
                "status": "ok, or not_estimable when tau is beyond the group's last follow-up.",
            },
            views=("v_rmst",),
        ),
        declare(
            "rmst_contrast",
            ("analysis_id", "endpoint", "group", "tau"),
            "one group against the reference at one tau",
            RMST_CONTRAST_SCHEMA,
            {
                **GROUP,
                "reference": "The reference group.",
                "tau": "Restriction time (months).",
                "difference": "rmst(group) - rmst(reference), months.",
                "difference_se": "Standard error of the difference.",
                "difference_lower": "Lower limit of the 95% CI of the difference.",
                "difference_upper": "Upper limit of the 95% CI of the difference.",
                "difference_p": "p-value of difference = 0.",
                "ratio": "rmst(group) / rmst(reference).",
                "log_ratio_se": "Standard error of log(ratio) (delta method).",
                "ratio_lower": "Lower limit of the 95% CI of the ratio (log scale).",
                "ratio_upper": "Upper limit of the 95% CI of the ratio (log scale).",
                "ratio_p": "p-value of ratio = 1.",
                "status": "ok, or why the contrast is not estimable.",
            },
            views=("v_rmst_contrasts",),
        ),
        declare(
            "cumulative_incidence",
            ("analysis_id", "endpoint", "group", "cause", "kind", "time"),
            "one group and cause at one time: a step of the Aalen-Johansen curve (kind curve) or a landmark",
            CIF_SCHEMA,
            {
                **GROUP,
                "cause": "Cause code: OS 1 death from GIST, 2 other known cause, 3 unknown; PFS/RFS 1 progression "
                "or recurrence, 2 death before it.",
                "cause_label": "The cause in words.",
                "kind": "curve (time 0, every event time, the last follow-up) or landmark.",
                "time": "Time (months).",
                "n_at_risk": "Subjects with time >= this time.",
                "n_events": "Events of this cause at this time (curve) or up to it (landmark).",
                "cumulative_incidence": "Aalen-Johansen cumulative incidence of the cause (NaN beyond follow-up).",
                "variance": "Its variance as cmprsk::cuminc reports it.",
                "lower": "Lower 95% confidence limit.",
                "upper": "Upper 95% confidence limit.",
                "ci_transform": "log(-log) (cmprsk's default).",
            },
            views=("v_cumulative_incidence", "v_cumulative_incidence_curve", "v_km_curve"),
        ),
        declare(
            "gray_test",
            ("analysis_id", "endpoint", "cause"),
            "one cause: Gray's test of equal cumulative incidence across the groups",
            GRAY_SCHEMA,
            {
                "cause": "Cause code (as in cumulative_incidence).",
                "cause_label": "The cause in words.",
                "n_groups": "Groups compared.",
                "statistic": "Gray's chi-square (rho = 0).",
                "df": "Degrees of freedom.",
                "p": "p-value.",
                "status": "ok or why the test could not be done.",
            },
            views=("v_competing_risks",),
        ),
        declare(
            "competing_cox",
            ("analysis_id", "endpoint", "cause", "model", "term"),
            "one term of one competing-risk model of one cause (cause-specific Cox or Fine-Gray)",
            COMPETING_COX_SCHEMA,
            {
                **_only(COX_MEANINGS, COMPETING_COX_SCHEMA),
                "cause": "Cause code (as in cumulative_incidence).",
                "cause_label": "The cause in words.",
                "model": "cause_specific or fine_gray, each optionally _multivariable.",
                "hr": "Cause-specific hazard ratio, or Fine-Gray subdistribution hazard ratio.",
            },
            views=("v_competing_risks",),
        ),
        declare(
            "iptw_cox",
            ("analysis_id", "endpoint", "model", "term"),
            "the IPTW-adjusted treatment term of one endpoint (analyses with adjust: iptw)",
            IPTW_SCHEMAS["iptw_cox"],
            {
                **_only(COX_MEANINGS, IPTW_SCHEMAS["iptw_cox"]),
                "model": IPTW_MODEL_MEANING,
                "n_clusters": "Clusters of the robust variance (patients, or subjects).",
                "adjustment": "The weighting in words (stabilised ATE weights, propensity covariates, truncation).",
                "weighted_logrank_statistic": "Weighted log-rank: the robust score test of the weighted Cox model.",
                "weighted_logrank_p": "Its p-value.",
                "e_value": "E-value of the HR (VanderWeele & Ding): the confounder strength that would explain it away.",
                "e_value_ci": "E-value of the CI limit closer to 1 (1 when the CI includes 1).",
                "e_value_rule": "rare outcome (HR as RR) or common outcome (square-root conversion).",
            },
            views=("v_iptw_hazard_ratios", "v_hazard_ratios"),
        ),
        declare(
            "iptw_balance",
            ("analysis_id", "endpoint", "model", "term"),
            "one propensity covariate term: balance before and after weighting",
            IPTW_SCHEMAS["iptw_balance"],
            {
                "model": IPTW_MODEL_MEANING,
                "term": "Covariate term as in cox.",
                "variable": "The column the term comes from.",
                "kind": "binary (a 0/1 dummy) or numeric.",
                "mean_treated": "Mean (proportion) among the treated, unweighted.",
                "mean_reference": "Mean among the reference group, unweighted.",
                "smd_before": "Standardised mean difference before weighting (pooled SD).",
                "mean_treated_weighted": "Weighted mean among the treated.",
                "mean_reference_weighted": "Weighted mean among the reference group.",
                "smd_after": "Standardised mean difference after weighting.",
                "imbalanced_before": "|smd_before| > 0.1.",
                "imbalanced_after": "|smd_after| > 0.1.",
            },
            views=("v_iptw_balance",),
        ),
        declare(
            "iptw_positivity",
            ("analysis_id", "endpoint", "model", "group"),
            "one group: the propensity scores and weights (positivity and overlap)",
            IPTW_SCHEMAS["iptw_positivity"],
            {
                "model": IPTW_MODEL_MEANING,
                **GROUP,
                "n": "Subjects weighted.",
                "n_excluded_missing": "Subjects left out for a missing propensity covariate.",
                "ps_min": "Smallest propensity score.",
                "ps_p05": "5th percentile of the propensity score.",
                "ps_median": "Median propensity score.",
                "ps_p95": "95th percentile of the propensity score.",
                "ps_max": "Largest propensity score.",
                "overlap_lower": "Lower end of the region both groups' scores cover.",
                "overlap_upper": "Upper end of that region.",
                "n_outside_overlap": "Subjects whose score is outside it.",
                "weight_min": "Smallest weight.",
                "weight_max": "Largest weight.",
                "n_extreme_weights": "Subjects with a weight outside [0.1, 10].",
                "n_truncated": "Weights truncated at the declared percentiles.",
                "effective_n": "Kish's effective sample size of the weights.",
            },
            views=("v_iptw_positivity", "v_iptw_km_curve", "v_comparison_summary"),
        ),
        declare(
            "iptw_km_curve",
            ("analysis_id", "endpoint", "model", "group", "time"),
            "one step of the IPTW-weighted Kaplan-Meier curve of a group",
            IPTW_SCHEMAS["iptw_km_curve"],
            {
                "model": IPTW_MODEL_MEANING,
                **GROUP,
                "time": "Time (months).",
                "weighted_at_risk": "Sum of the weights at risk.",
                "weighted_events": "Sum of the weights of the events at this time.",
                "survival": "Weighted S(t).",
                "std_err": "Robust (infinitesimal-jackknife) SE of S(t), clustered as the Cox model: R survfit(weights =, "
                "robust = TRUE)'s std.err; 0 where S = 0.",
                "lower": "Lower 95% confidence limit (log-log, from that SE).",
                "upper": "Upper 95% confidence limit.",
            },
            views=("v_iptw_km_curve",),
        ),
        declare(
            "cohort_flow",
            ("analysis_id", "step", "kind", "reason", "group"),
            "one box of one analysis's cohort flow diagram (analyses with an analysis.<id>_flow view: every catalogue entry)",
            FLOW_SCHEMA,
            {
                "step": "0 = the registry's units (patients, or the frame's operations or samples), then one per declared "
                "exclusion in order; the last holds the analysed groups.",
                "kind": "cohort (units remaining), excluded (units leaving at this step, 0 included) or analysed (per group).",
                "reason": "The step's code (sql/analysis/labels.yaml, flow); NULL on analysed rows.",
                "group": "The analysed group; NULL otherwise.",
                "n": "Units (as the root: patients, operations or samples); analysed rows equal the group's n in km_summary.",
            },
            views=("v_cohort_flow",),
        ),
        declare(
            "limits",
            ("analysis_id", "endpoint"),
            "one endpoint of one analysis: what its comparison cannot show",
            {},
            LIMITS_MEANINGS,
            views=("v_limits",),
            keys=LIMITS_SCHEMA,
        ),
        declare(
            "analyses",
            ("id",),
            "one catalogue entry, so the database explains itself",
            {},
            {
                name: f"Catalogue key {name} (documented at the top of sql/analysis/catalogue.yaml)."
                for name in _catalogue_schema()
            },
            keys=_catalogue_schema(),
            views=("v_hazard_ratios", "v_survival_summary", "v_comparison_summary"),
        ),
    ]
    return {t.name: t for t in tables}


def render() -> str:
    """``docs/results-dictionary.md``: every results table's grain, readers and columns."""
    lines = [
        "# Results dictionary",
        "",
        "Generated from `schemas/results.py` by `python -m schemas.results`; do not edit by hand.",
        "The `results.*` tables hold exact counts and are internal; what is published reads the `published.v_*`",
        "views over them (`sql/results/`), which print flagged counts as NULL. Each refresh of an analysis",
        "replaces all its rows in every table, in one transaction. The same text is each column's DuckDB comment.",
        "",
        "| table | grain (one row per) | unique key | read by |",
        "|---|---|---|---|",
    ]
    tables = RESULTS.values()
    lines += [
        f"| `results.{t.name}` | {t.row} | {', '.join(t.grain)} | {', '.join(f'`published.{v}`' for v in t.views)} |"
        for t in tables
    ]
    for table in tables:
        lines += ["", f"## `results.{table.name}`", "", f"Grain: {table.row}.", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.duckdb_type} | {c.meaning} |" for c in table.columns]
    return "\n".join(lines) + "\n"


def main() -> int:
    DOCS_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}")
    return 0


RESULTS: dict[str, ResultsTable] = _results_tables()

if __name__ == "__main__":
    sys.exit(main())
