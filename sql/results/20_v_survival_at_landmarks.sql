-- grain: one analysis, endpoint, group and landmark time.
-- published.v_survival_at_landmarks: S(t) at each landmark (6, 12, 24, 36, 60 months unless the
-- catalogue says otherwise), per analysis, endpoint and group (from results.km_landmarks).
--   survival, lower, upper : Kaplan-Meier estimate with its pointwise 95% CI (transform in ci_transform)
--   n_at_risk              : subjects still followed at t; NULL where withheld
--   n_events               : events up to and including t; NULL where withheld (also where the events between
--                            two landmarks, or after the last, would otherwise follow by subtraction)
--   n_at_risk_suppressed, n_events_suppressed : true where withheld (print "supp.", not "<k")
CREATE OR REPLACE VIEW published.v_survival_at_landmarks AS
SELECT
    analysis_id,
    endpoint,
    "group",
    time                                                   AS time_months,
    results.finite(survival)                               AS survival,
    results.finite(lower)                                  AS lower,
    results.finite(upper)                                  AS upper,
    results.published(n_at_risk, n_at_risk_suppressed)     AS n_at_risk,
    results.published(n_events, n_events_suppressed)       AS n_events,
    results.withheld(n_at_risk, n_at_risk_suppressed)      AS n_at_risk_suppressed,
    results.withheld(n_events, n_events_suppressed)        AS n_events_suppressed,
    ci_transform
FROM results.km_landmarks;
