-- results.v_table_one: "Table 1" — the characteristics of each analysis's groups (from results.table_one).
-- One row per analysis, variable, level (categorical variables) and group, the group '(all)' included.
--   kind               : 'continuous' (median, q1, q3, min, max) or 'categorical' (count, percent)
--   n, n_missing       : subjects in the group, and those with the variable missing (small counts suppressed)
--   count, percent     : subjects at this level and their share of the non-missing (NULL when suppressed)
--   test, p            : Mann-Whitney / Kruskal-Wallis (continuous) or Fisher / chi-square (categorical)
CREATE OR REPLACE VIEW results.v_table_one AS
SELECT
    analysis_id, variable, kind, level, "group",
    results.suppress(n)          AS n,
    results.suppress(n_missing)  AS n_missing,
    results.suppress(count)      AS count,
    CASE WHEN NOT results.is_small(count) THEN percent END AS percent,
    median, q1, q3, min, max, test, p,
    results.is_small(n) OR results.is_small(n_missing) OR results.is_small(count) AS suppressed
FROM results.table_one;
