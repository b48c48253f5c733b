-- results.v_survival_summary: one row per analysis, endpoint and group (from results.km_summary).
--   n, events, censored   : subjects, events, censored subjects (small counts suppressed, each on its own)
--   median_months         : Kaplan-Meier median; NULL when not reached (median_reached = false)
--   median_lower / _upper : its 95% CI (Brookmeyer-Crowley); NULL where a limit is not reached
--   few_events            : fewer than 10 events in the group — the estimates are unstable
--   suppressed            : some count of this row was withheld
CREATE OR REPLACE VIEW results.v_survival_summary AS
SELECT
    analysis_id,
    endpoint,
    "group",
    results.suppress(n)                                                        AS n,
    results.suppress(events)                                                   AS events,
    results.suppress(censored)                                                 AS censored,
    CASE WHEN median_reached THEN results.finite(median) END                   AS median_months,
    results.finite(median_lower)                                               AS median_lower,
    results.finite(median_upper)                                               AS median_upper,
    median_reached,
    few_events,
    results.is_small(n) OR results.is_small(events) OR results.is_small(censored) AS suppressed,
    ci_transform
FROM results.km_summary;
