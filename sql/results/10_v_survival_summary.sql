-- grain: one analysis, endpoint and group.
-- published.v_survival_summary: one row per analysis, endpoint and group (from results.km_summary).
--   n, events, censored   : subjects, events, censored subjects; NULL where withheld
--   n_suppressed, events_suppressed, censored_suppressed : true where that count is withheld (a count from 1
--                           to k - 1, or a larger one withheld so that none can be derived): print "supp."
--   median_months         : Kaplan-Meier median; NULL when not reached (median_reached = false)
--   median_lower / _upper : its 95% CI (Brookmeyer-Crowley); NULL where a limit is not reached
--   few_events            : fewer than 10 events in the group — the estimates are unstable
CREATE OR REPLACE VIEW published.v_survival_summary AS
SELECT
    analysis_id,
    endpoint,
    "group",
    results.published(n, n_suppressed)                                         AS n,
    results.published(events, events_suppressed)                               AS events,
    results.published(censored, censored_suppressed)                           AS censored,
    CASE WHEN median_reached THEN results.finite(median) END                   AS median_months,
    results.finite(median_lower)                                               AS median_lower,
    results.finite(median_upper)                                               AS median_upper,
    median_reached,
    few_events,
    results.withheld(n, n_suppressed)                                          AS n_suppressed,
    results.withheld(events, events_suppressed)                                AS events_suppressed,
    results.withheld(censored, censored_suppressed)                            AS censored_suppressed,
    ci_transform
FROM results.km_summary;
