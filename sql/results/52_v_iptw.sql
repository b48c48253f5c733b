-- grain: per view, one analysis, endpoint and model, and then term (v_iptw_hazard_ratios, v_iptw_balance),
-- group (v_iptw_positivity), group and time (v_iptw_km_curve).
-- published.v_iptw_hazard_ratios: the IPTW-adjusted hazard ratio of each two-group comparison whose catalogue
-- entry declares `adjust: {method: iptw, ...}`, per analysis and endpoint (from results.iptw_cox).
--   model                  : 'iptw' (the entry's two groups) or 'iptw_landmark_<L>' (an entry with an exposure:
--                            exposed by L months vs not, among the subjects event-free and followed at L, time
--                            from L); every v_iptw_* view carries it
--   term, level, reference : the treatment group's coefficient against the reference group
--   n, events              : subjects and events weighted (complete cases on the propensity covariates);
--                            NULL where withheld
--   n_excluded_missing     : subjects left out for a missing propensity covariate; NULL where withheld
--   n_clusters             : independent units of the robust variance (patients, or subjects); NULL where withheld
--   hr, hr_lower/upper, p  : weighted Cox HR with robust (sandwich) 95% CI and Wald p; NULL when status is not 'ok'
--   weighted_logrank_statistic, weighted_logrank_p : robust score test of the weighted Cox model (1 df)
--   e_value, e_value_ci    : E-value of the HR and of its CI limit closer to 1 (1 when the CI contains 1)
--   e_value_rule           : whether the HR was converted to a risk ratio first (common outcome, > 15 % events)
--   status                 : 'ok', or why no estimate is published
--   *_suppressed           : true where the count is withheld
CREATE OR REPLACE VIEW published.v_iptw_hazard_ratios AS
SELECT
    analysis_id, endpoint, model, term, level, reference, adjustment,
    results.published(n, n_suppressed) AS n,
    results.published(events, events_suppressed) AS events,
    results.published(n_excluded_missing, n_excluded_missing_suppressed) AS n_excluded_missing,
    results.published(n_clusters, n_clusters_suppressed) AS n_clusters,
    CASE WHEN status = 'ok' THEN results.finite(hr) END AS hr,
    CASE WHEN status = 'ok' THEN results.finite(hr_lower) END AS hr_lower,
    CASE WHEN status = 'ok' THEN results.finite(hr_upper) END AS hr_upper,
    CASE WHEN status = 'ok' THEN p END AS p,
    CASE WHEN status = 'ok' THEN weighted_logrank_statistic END AS weighted_logrank_statistic,
    CASE WHEN status = 'ok' THEN weighted_logrank_p END AS weighted_logrank_p,
    CASE WHEN status = 'ok' THEN e_value END AS e_value,
    CASE WHEN status = 'ok' THEN e_value_ci END AS e_value_ci,
    e_value_rule,
    status,
    results.withheld(n, n_suppressed) AS n_suppressed,
    results.withheld(events, events_suppressed) AS events_suppressed,
    results.withheld(n_excluded_missing, n_excluded_missing_suppressed) AS n_excluded_missing_suppressed,
    results.withheld(n_clusters, n_clusters_suppressed) AS n_clusters_suppressed
FROM results.iptw_cox;

-- published.v_iptw_balance: standardised mean differences of each propensity term before and after weighting
-- (from results.iptw_balance; the unweighted means are not published: with n they would give small counts).
--   term, variable, kind   : the design term (dummy 'variable=level' or a numeric variable), binary or continuous
--   smd_before, smd_after  : (m1 - m0) / sqrt((v1 + v0) / 2), unweighted and IPTW-weighted
--   imbalanced_before/after: |SMD| > 0.1
CREATE OR REPLACE VIEW published.v_iptw_balance AS
SELECT analysis_id, endpoint, model, term, variable, kind, smd_before, smd_after, imbalanced_before, imbalanced_after
FROM results.iptw_balance;

-- published.v_iptw_positivity: per group, the propensity score's spread and the weights' extremes
-- (from results.iptw_positivity).
--   n, n_excluded_missing  : complete-case subjects and those left out; NULL where withheld
--   ps_min, ps_p05, ps_median, ps_p95, ps_max : propensity score (probability of the treatment group)
--   overlap_lower/upper    : common support: the largest group minimum and the smallest group maximum
--   n_outside_overlap      : subjects outside the common support; NULL where withheld
--   weight_min, weight_max : stabilised weights after truncation
--   n_extreme_weights      : weights outside [0.1, 10] (after truncation); NULL where withheld
--   n_truncated            : weights set to the truncation percentiles; NULL where withheld
--   effective_n            : Kish's effective sample size (sum w)^2 / sum w^2
--   *_suppressed           : true where the count is withheld
CREATE OR REPLACE VIEW published.v_iptw_positivity AS
SELECT
    analysis_id, endpoint, model, "group",
    results.published(n, n_suppressed) AS n,
    results.published(n_excluded_missing, n_excluded_missing_suppressed) AS n_excluded_missing,
    ps_min, ps_p05, ps_median, ps_p95, ps_max, overlap_lower, overlap_upper,
    results.published(n_outside_overlap, n_outside_overlap_suppressed) AS n_outside_overlap,
    weight_min, weight_max,
    results.published(n_extreme_weights, n_extreme_weights_suppressed) AS n_extreme_weights,
    results.published(n_truncated, n_truncated_suppressed) AS n_truncated,
    effective_n,
    results.withheld(n, n_suppressed) AS n_suppressed,
    results.withheld(n_excluded_missing, n_excluded_missing_suppressed) AS n_excluded_missing_suppressed,
    results.withheld(n_outside_overlap, n_outside_overlap_suppressed) AS n_outside_overlap_suppressed,
    results.withheld(n_extreme_weights, n_extreme_weights_suppressed) AS n_extreme_weights_suppressed,
    results.withheld(n_truncated, n_truncated_suppressed) AS n_truncated_suppressed
FROM results.iptw_positivity;

-- published.v_iptw_km_curve: IPTW-weighted Kaplan-Meier curves per group at each event time (from
-- results.iptw_km_curve): survival with its pointwise 95% CI (log-log, robust infinitesimal-jackknife variance
-- clustered as the Cox model: R survfit(weights =, robust = TRUE)). The weighted
-- numbers at risk and events are not published (with weights near 1 they approximate counts), and, as
-- published.v_km_curve, neither is a curve that would give them back: a group's curve only where its n in
-- v_iptw_positivity is published, and only while the weights at risk sum to results.min_cell_count() or more.
CREATE OR REPLACE VIEW published.v_iptw_km_curve AS
SELECT c.analysis_id, c.endpoint, c.model, c."group", c.time, c.survival, c.lower, c.upper
FROM results.iptw_km_curve AS c
SEMI JOIN results.iptw_positivity AS p
    ON p.analysis_id = c.analysis_id AND p.endpoint = c.endpoint AND p.model = c.model AND p."group" = c."group"
    AND NOT results.withheld(p.n, p.n_suppressed)
WHERE c.weighted_at_risk >= results.min_cell_count();
