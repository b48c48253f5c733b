-- grain: one analysis, endpoint and group.
-- published.v_survival_summary: one row per analysis, endpoint and group (from results.km_summary).
--   n, events, censored   : subjects, events, censored subjects; NULL where withheld
--   n_suppressed, events_suppressed, censored_suppressed : true where that count is withheld (a count from 1
--                           to k - 1, or a larger one withheld so that none can be derived): print "supp."
--   median_months         : Kaplan-Meier median; NULL when not reached (median_reached = false)
--   median_lower / _upper : its 95% CI (Brookmeyer-Crowley); NULL where a limit is not reached
--   few_events            : fewer than 10 events in the group — the estimates are unstable
--   design                : 'naive: immortal-time biased' where the groups are the naive grouping of an analysis
--                           with an exposure (exposed at any time vs never), else 'as grouped'
CREATE OR REPLACE VIEW published.v_survival_summary AS
SELECT
    k.analysis_id,
    k.endpoint,
    k."group",
    results.design_label('cox', 'km', a.exposure IS NOT NULL)                 AS design,
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
FROM results.km_summary AS k
LEFT JOIN results.analyses AS a ON a.id = k.analysis_id;
