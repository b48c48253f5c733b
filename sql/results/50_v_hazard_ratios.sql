-- grain: one analysis, endpoint, model and term.
-- published.v_hazard_ratios: every hazard ratio the registry publishes, per analysis and endpoint:
-- the Cox models of results.cox (univariable: group only; multivariable: group plus the
-- catalogue's covariates) and the immortal-time comparisons of results.immortal_time (naive,
-- landmark, time-varying exposure, its split by kind, with time-varying confounders), and the IPTW-adjusted
-- models of results.iptw_cox (model 'iptw', or 'iptw_landmark_<L>' on the landmark frame at L of an exposure).
--   source             : 'cox', 'immortal_time' or 'iptw'
--   adjustment         : 'none', 'multivariable' (the catalogue's covariates in the model) or 'iptw'
--                        (weighted by inverse probability of treatment; E-values in published.v_iptw_hazard_ratios)
--   model, term        : the model and the coefficient (e.g. 'group=sunitinib' against `reference`)
--   design             : what the model is: 'naive: immortal-time biased' for the naive grouping of an
--                        analysis with an exposure (its results.cox rows and the naive models), 'landmark',
--                        'time-varying', 'time-varying, exposure split by kind', 'time-varying with
--                        time-dependent confounders (sensitivity)', 'IPTW-adjusted', 'IPTW-adjusted landmark'
--                        (exposed by L vs not, among those event-free at L); 'as grouped' in analyses
--                        without an exposure
--   is_primary         : true for the catalogue's `primary` model of the analysis (the estimate to lead with)
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
    models.analysis_id, models.endpoint, models.source, models.model, models.term, models.variable,
    models.level, models.reference,
    CASE
        WHEN models.source = 'iptw' THEN 'iptw'
        WHEN models.model = 'multivariable' OR models.model LIKE '%\_adjusted' ESCAPE '\' THEN 'multivariable'
        ELSE 'none'
    END AS adjustment,
    CASE WHEN models.source = 'iptw' AND models.model LIKE 'iptw\_landmark\_%' ESCAPE '\' THEN 'IPTW-adjusted landmark'
        WHEN models.source = 'iptw' THEN 'IPTW-adjusted'
        ELSE results.design_label(models.source, models.model, a.exposure IS NOT NULL) END AS design,
    coalesce(models.model = a."primary"::VARCHAR, false)                                     AS is_primary,
    results.published(models.n, models.n_suppressed)                                 AS n,
    results.published(models.events, models.events_suppressed)                       AS events,
    results.published(models.n_excluded_missing, models.n_excluded_missing_suppressed) AS n_excluded_missing,
    results.published(models.n_clusters, models.n_clusters_suppressed)               AS n_clusters,
    CASE WHEN models.status = 'ok' THEN results.finite(models.hr) END                AS hr,
    CASE WHEN models.status = 'ok' THEN results.finite(models.hr_lower) END          AS hr_lower,
    CASE WHEN models.status = 'ok' THEN results.finite(models.hr_upper) END          AS hr_upper,
    CASE WHEN models.status = 'ok' THEN models.p END                                 AS p,
    models.status,
    results.withheld(models.n, models.n_suppressed)                                  AS n_suppressed,
    results.withheld(models.events, models.events_suppressed)                        AS events_suppressed,
    results.withheld(models.n_excluded_missing, models.n_excluded_missing_suppressed) AS n_excluded_missing_suppressed,
    results.withheld(models.n_clusters, models.n_clusters_suppressed)                AS n_clusters_suppressed
FROM (
    SELECT 'cox' AS source, * FROM results.cox
    UNION ALL BY NAME
    SELECT 'immortal_time' AS source, * FROM results.immortal_time
    UNION ALL BY NAME
    SELECT
        'iptw' AS source, analysis_id, endpoint, model, term, variable, level, reference, n, events,
        n_excluded_missing, n_clusters, hr, hr_lower, hr_upper, p, status, n_suppressed, events_suppressed,
        n_excluded_missing_suppressed, n_clusters_suppressed
    FROM results.iptw_cox
) AS models
LEFT JOIN results.analyses AS a ON a.id = models.analysis_id;
