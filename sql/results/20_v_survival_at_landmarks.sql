-- results.v_survival_at_landmarks: S(t) at each landmark (6, 12, 24, 36, 60 months unless the
-- catalogue says otherwise), per analysis, endpoint and group (from results.km_landmarks).
--   survival, lower, upper : Kaplan-Meier estimate with its pointwise 95% CI (transform in ci_transform)
--   n_at_risk              : subjects still followed at t (small counts suppressed)
--   n_events               : events up to and including t (small counts suppressed)
CREATE OR REPLACE VIEW results.v_survival_at_landmarks AS
SELECT
    analysis_id,
    endpoint,
    "group",
    time                          AS time_months,
    results.finite(survival)      AS survival,
    results.finite(lower)         AS lower,
    results.finite(upper)         AS upper,
    results.suppress(n_at_risk)   AS n_at_risk,
    results.suppress(n_events)    AS n_events,
    results.is_small(n_at_risk) OR results.is_small(n_events) AS suppressed,
    ci_transform
FROM results.km_landmarks;
