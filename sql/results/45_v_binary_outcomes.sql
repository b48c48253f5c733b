-- grain: one analysis, endpoint, horizon (within_months) and group.
-- published.v_binary_outcomes: binary outcomes per analysis and group (from results.binary_outcome),
-- e.g. recurrence or death within 12 months of surgery (postop_tki).
--   within_months      : the outcome window; subjects censored before its end are missing, not "no event"
--   n, n_missing       : subjects with a known outcome, and without one; NULL where withheld
--   events             : subjects with the outcome; NULL where withheld
--   n_suppressed, n_missing_suppressed, events_suppressed : true where withheld (print "supp.")
--   proportion, lower, upper : events / n with its exact (Clopper-Pearson) 95% CI; NULL when n or events is
--                        withheld (the proportion, or the CI's limits, would give both back)
--   test, statistic, p : Fisher's exact test across the groups (statistic: odds ratio for 2 x 2); statistic
--                        and p are NULL when any count of the table is withheld (enumerating the tables that
--                        fit the published margins and matching p or the odds ratio would recover it)
--   p_floor            : the smallest p the test can give (Monte Carlo tests: 1 / (resamples + 1)), else NULL
--   p_display          : p as text, "< p_floor" when a Monte Carlo p is at its floor (never shown as exact);
--                        NULL where p is
CREATE OR REPLACE VIEW published.v_binary_outcomes AS
WITH flagged AS (
    SELECT *,
           results.withheld(n, n_suppressed) OR results.withheld(events, events_suppressed) AS rate_withheld,
           bool_or(results.withheld(n, n_suppressed) OR results.withheld(events, events_suppressed)
                   OR results.withheld(n_missing, n_missing_suppressed))
               OVER (PARTITION BY analysis_id, endpoint, within_months) AS test_withheld
    FROM results.binary_outcome
)
SELECT
    analysis_id, endpoint, within_months, "group",
    results.published(n, n_suppressed)                  AS n,
    results.published(n_missing, n_missing_suppressed)  AS n_missing,
    results.published(events, events_suppressed)        AS events,
    CASE WHEN NOT rate_withheld THEN proportion END     AS proportion,
    CASE WHEN NOT rate_withheld THEN lower END          AS lower,
    CASE WHEN NOT rate_withheld THEN upper END          AS upper,
    test,
    CASE WHEN NOT test_withheld THEN statistic END      AS statistic,
    CASE WHEN NOT test_withheld THEN p END              AS p,
    p_floor,
    CASE WHEN NOT test_withheld THEN p_display END      AS p_display,
    status,
    results.withheld(n, n_suppressed)                   AS n_suppressed,
    results.withheld(n_missing, n_missing_suppressed)   AS n_missing_suppressed,
    results.withheld(events, events_suppressed)         AS events_suppressed
FROM flagged;
