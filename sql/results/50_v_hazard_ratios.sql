-- grain: one analysis, endpoint, model and term.
-- published.v_hazard_ratios: every hazard ratio the registry publishes, per analysis and endpoint:
-- the Cox models of results.cox (univariable: group only; multivariable: group plus the
-- catalogue's covariates) and the immortal-time comparisons of results.immortal_time (naive,
-- landmark, time-varying exposure).
--   source             : 'cox' or 'immortal_time'
--   model, term        : the model and the coefficient (e.g. 'group=sunitinib' against `reference`)
--   n, events          : subjects and events the model used; NULL where withheld (also where the subjects or
--                        events it left out, e.g. for a missing covariate, would otherwise follow by subtraction)
--   n_excluded_missing : subjects left out for a missing covariate; NULL where withheld
--   n_clusters         : patients, where subjects are operations clustered by patient (robust variance);
--                        NULL for a model-based variance, or where withheld
--   n_suppressed, events_suppressed, n_excluded_missing_suppressed, n_clusters_suppressed : true where
--                        withheld (print "supp."; n_clusters_suppressed is false where there are no clusters)
--   hr, hr_lower/upper, p : hazard ratio with Wald 95% CI and p-value; NULL when status is not 'ok'
--   status             : 'ok', or why no estimate is published (separation, constant covariate, ...)
CREATE OR REPLACE VIEW published.v_hazard_ratios AS
SELECT
    analysis_id, endpoint, source, model, term, variable, level, reference,
    results.published(n, n_suppressed)                                       AS n,
    results.published(events, events_suppressed)                             AS events,
    results.published(n_excluded_missing, n_excluded_missing_suppressed)     AS n_excluded_missing,
    results.published(n_clusters, n_clusters_suppressed)                     AS n_clusters,
    CASE WHEN status = 'ok' THEN results.finite(hr) END        AS hr,
    CASE WHEN status = 'ok' THEN results.finite(hr_lower) END  AS hr_lower,
    CASE WHEN status = 'ok' THEN results.finite(hr_upper) END  AS hr_upper,
    CASE WHEN status = 'ok' THEN p END                         AS p,
    status,
    results.withheld(n, n_suppressed)                                        AS n_suppressed,
    results.withheld(events, events_suppressed)                              AS events_suppressed,
    results.withheld(n_excluded_missing, n_excluded_missing_suppressed)      AS n_excluded_missing_suppressed,
    results.withheld(n_clusters, n_clusters_suppressed)                      AS n_clusters_suppressed
FROM (
    SELECT 'cox' AS source, * FROM results.cox
    UNION ALL BY NAME
    SELECT 'immortal_time' AS source, * FROM results.immortal_time
) AS models;
