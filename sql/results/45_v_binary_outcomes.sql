-- results.v_binary_outcomes: binary outcomes per analysis and group (from results.binary_outcome),
-- e.g. recurrence or death within 12 months of surgery (postop_tki).
--   within_months      : the outcome window; subjects censored before its end are missing, not "no event"
--   n, n_missing       : subjects with a known outcome, and without one (small counts suppressed)
--   events             : subjects with the outcome (suppressed when small)
--   proportion, lower, upper : events / n with its exact (Clopper-Pearson) 95% CI; NULL when events are suppressed
--   test, statistic, p : Fisher's exact test across the groups (statistic: odds ratio for 2 x 2)
CREATE OR REPLACE VIEW results.v_binary_outcomes AS
SELECT
    analysis_id, endpoint, within_months, "group",
    results.suppress(n)          AS n,
    results.suppress(n_missing)  AS n_missing,
    results.suppress(events)     AS events,
    CASE WHEN NOT results.is_small(events) THEN proportion END AS proportion,
    CASE WHEN NOT results.is_small(events) THEN lower END      AS lower,
    CASE WHEN NOT results.is_small(events) THEN upper END      AS upper,
    test, statistic, p, status,
    results.is_small(n) OR results.is_small(n_missing) OR results.is_small(events) AS suppressed
FROM results.binary_outcome;
