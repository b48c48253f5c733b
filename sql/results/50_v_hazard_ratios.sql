-- results.v_hazard_ratios: every hazard ratio the registry publishes, per analysis and endpoint:
-- the Cox models of results.cox (univariable: group only; multivariable: group plus the
-- catalogue's covariates) and the immortal-time comparisons of results.immortal_time (naive,
-- landmark, time-varying exposure).
--   source           : 'cox' or 'immortal_time'
--   model, term      : the model and the coefficient (e.g. 'group=sunitinib' against `reference`)
--   n, events        : subjects and events the model used (small counts suppressed)
--   n_clusters       : patients, where subjects are operations clustered by patient (robust variance)
--   hr, hr_lower/upper, p : hazard ratio with Wald 95% CI and p-value; NULL when status is not 'ok'
--   status           : 'ok', or why no estimate is published (separation, constant covariate, ...)
CREATE OR REPLACE VIEW results.v_hazard_ratios AS
SELECT
    analysis_id, endpoint, source, model, term, variable, level, reference,
    results.suppress(n)       AS n,
    results.suppress(events)  AS events,
    n_excluded_missing,
    n_clusters,
    CASE WHEN status = 'ok' THEN results.finite(hr) END        AS hr,
    CASE WHEN status = 'ok' THEN results.finite(hr_lower) END  AS hr_lower,
    CASE WHEN status = 'ok' THEN results.finite(hr_upper) END  AS hr_upper,
    CASE WHEN status = 'ok' THEN p END                         AS p,
    status
FROM (
    SELECT 'cox' AS source, * FROM results.cox
    UNION ALL BY NAME
    SELECT 'immortal_time' AS source, * FROM results.immortal_time
);
