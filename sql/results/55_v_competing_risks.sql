-- grain: per view, one analysis, endpoint, group, cause and landmark (v_cumulative_incidence) or curve
-- step (v_cumulative_incidence_curve); one analysis, endpoint, cause and model term (v_competing_risks).
-- Competing risks (docs/statistics.md, "Competing risks"): per analysis, endpoint, group and cause
-- (OS: 1 death_gist, 2 death_other, 3 death_unknown; PFS/RFS: 1 progression or recurrence, 2 death before it).
--
-- published.v_cumulative_incidence: the cumulative incidence F_k(t) at the landmarks
-- (from results.cumulative_incidence,
-- kind 'landmark'; R cmprsk::cuminc + timepoints).  Grain: analysis, endpoint, group, cause, landmark.
--   cause, cause_label     : the cause code and its name
--   time_months            : the landmark
--   cumulative_incidence   : Aalen-Johansen F_k(t); NULL beyond the group's last follow-up
--   variance               : cuminc's variance of F_k(t)
--   lower, upper           : 95% CI, symmetric on log(-log F) (ci_transform)
--   n_at_risk              : subjects still followed at t (the Kaplan-Meier's); NULL where withheld
--   n_events               : cause-k events up to and including t; NULL where withheld
--   n_at_risk_suppressed, n_events_suppressed : true where withheld (print "supp.")
CREATE OR REPLACE VIEW published.v_cumulative_incidence AS
SELECT
    analysis_id,
    endpoint,
    "group",
    cause,
    cause_label,
    time                                                   AS time_months,
    results.finite(cumulative_incidence)                   AS cumulative_incidence,
    results.finite(variance)                               AS variance,
    results.finite(lower)                                  AS lower,
    results.finite(upper)                                  AS upper,
    results.published(n_at_risk, n_at_risk_suppressed)     AS n_at_risk,
    results.published(n_events, n_events_suppressed)       AS n_events,
    results.withheld(n_at_risk, n_at_risk_suppressed)      AS n_at_risk_suppressed,
    results.withheld(n_events, n_events_suppressed)        AS n_events_suppressed,
    ci_transform
FROM results.cumulative_incidence
WHERE kind = 'landmark';

-- published.v_cumulative_incidence_curve: the step function F_k(t) per group and cause, for re-drawing curves
-- (kind 'curve': time 0, every cause-k event time, the last follow-up time).  As published.v_km_curve: no per-time
-- counts; a group's curves are published only when none of its counts is withheld (results.withheld_groups()),
-- and stop where fewer than results.min_cell_count() subjects are still at risk (the jumps with the
-- variance would give back the counts).  Columns as published.v_cumulative_incidence.
CREATE OR REPLACE VIEW published.v_cumulative_incidence_curve AS
SELECT
    c.analysis_id,
    c.endpoint,
    c."group",
    c.cause,
    c.cause_label,
    c.time                                   AS time_months,
    results.finite(c.cumulative_incidence)   AS cumulative_incidence,
    results.finite(c.lower)                  AS lower,
    results.finite(c.upper)                  AS upper,
    c.ci_transform
FROM results.cumulative_incidence AS c
ANTI JOIN results.withheld_groups() AS w
    ON w.analysis_id = c.analysis_id AND w.endpoint = c.endpoint AND w."group" = c."group"
WHERE c.kind = 'curve' AND c.n_at_risk >= results.min_cell_count();

-- published.v_competing_risks: per cause, the tests and models that compare the groups.  Grain: analysis, endpoint,
-- cause, model, term.
--   model               : 'gray_test' (Gray's test of equal cumulative incidence, R cmprsk::cuminc's Tests; term
--                         NULL), 'cause_specific' (Cox, other causes censored, R coxph Efron) or 'fine_gray'
--                         (subdistribution hazards, R cmprsk::crr), the models '_multivariable' with the catalogue's
--                         covariates
--   term, variable, level, reference : the coefficient (as published.v_hazard_ratios)
--   n, events           : subjects and cause-k events the model used; NULL where withheld
--   n_excluded_missing, n_clusters : as published.v_hazard_ratios (the Fine-Gray variance of a clustered analysis
--                         sums per cluster: not crr's)
--   hr, hr_lower, hr_upper : cause-specific or subdistribution hazard ratio with Wald 95% CI
--   statistic, df       : Gray's chi-square and its degrees of freedom (gray_test rows)
--   p                   : the coefficient's Wald p, or Gray's test p
--   status              : 'ok', or why there is no estimate
--   *_suppressed        : true where withheld
CREATE OR REPLACE VIEW published.v_competing_risks AS
-- (AM07: UNION ALL BY NAME fills the columns the Gray rows lack with NULL)
SELECT  -- noqa: AM07
    analysis_id, endpoint, cause, cause_label, model, term, variable, level, reference,
    results.published(n, n_suppressed)                                       AS n,
    results.published(events, events_suppressed)                             AS events,
    results.published(n_excluded_missing, n_excluded_missing_suppressed)     AS n_excluded_missing,
    results.published(n_clusters, n_clusters_suppressed)                     AS n_clusters,
    CASE WHEN status = 'ok' THEN results.finite(hr) END                      AS hr,
    CASE WHEN status = 'ok' THEN results.finite(hr_lower) END                AS hr_lower,
    CASE WHEN status = 'ok' THEN results.finite(hr_upper) END                AS hr_upper,
    NULL::DOUBLE                                                             AS statistic,
    NULL::BIGINT                                                             AS df,
    CASE WHEN status = 'ok' THEN p END                                       AS p,
    status,
    results.withheld(n, n_suppressed)                                        AS n_suppressed,
    results.withheld(events, events_suppressed)                              AS events_suppressed,
    results.withheld(n_excluded_missing, n_excluded_missing_suppressed)      AS n_excluded_missing_suppressed,
    results.withheld(n_clusters, n_clusters_suppressed)                      AS n_clusters_suppressed
FROM results.competing_cox
UNION ALL BY NAME
SELECT
    analysis_id, endpoint, cause, cause_label, 'gray_test' AS model,
    results.finite(statistic) AS statistic, df, p, status
FROM results.gray_test;
