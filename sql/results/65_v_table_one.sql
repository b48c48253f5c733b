-- grain: one analysis, variable, level and group.
-- published.v_table_one: "Table 1" — the characteristics of each analysis's groups (from results.table_one).
-- One row per analysis, variable, level (categorical variables) and group, the group '(all)' included.
--   kind               : 'continuous' (median, q1, q3, min, max), 'categorical' (count, percent), 'unknown'
--                        (level '(unknown)': count = n_missing, percent of the group's subjects) or 'units'
--                        (operation-level analyses: variables 'operations' and 'patients', count = n; the
--                        groups' patients need not add up to '(all)': a patient may be operated in two groups)
--   n, n_missing       : subjects with the variable known, and missing; NULL where withheld
--   count              : subjects at this level; NULL where withheld (a small count, or one withheld so that
--                        none follows from the group's n, the other levels or the '(all)' column)
--   n_suppressed, n_missing_suppressed, count_suppressed : true where withheld (print "supp.", not "<k")
--   percent            : share of the non-missing (unknown rows: of all the group's subjects); NULL where count
--                        or n is withheld (percent x n = count)
--   median, q1, q3, min, max : NULL where n is withheld (in a small group they are patients' own values)
--   test, p            : Mann-Whitney / Kruskal-Wallis (continuous) or Fisher / chi-square (categorical); for a
--                        categorical variable p is NULL when any of its counts is withheld (the tables that
--                        fit the published margins, matched on p, would give the withheld cells back)
--   p_floor            : the smallest p the test can give (Monte Carlo tests: 1 / (resamples + 1)), else NULL
--   p_display          : p as text, "< p_floor" when a Monte Carlo p is at its floor (never shown as exact);
--                        NULL where p is
--   smd                : standardised mean difference of the group against the analysis's reference (tableone);
--                        NULL on the reference and '(all)' rows, where n is withheld, and for a categorical
--                        variable with a withheld count (as p)
--   smd_max            : the largest absolute SMD over every pair of groups; NULL as p (and for a
--                        continuous variable where any group's n is withheld)
CREATE OR REPLACE VIEW published.v_table_one AS
WITH flagged AS (
    SELECT *,
           results.withheld(n, n_suppressed)                  AS n_withheld,
           results.withheld(count, count_suppressed)          AS count_withheld,
           bool_or(kind = 'categorical'
                   AND (results.withheld(n, n_suppressed) OR results.withheld(count, count_suppressed)
                        OR results.withheld(n_missing, n_missing_suppressed)))
               OVER (PARTITION BY analysis_id, variable)      AS test_withheld,
           bool_or(results.withheld(n, n_suppressed))
               OVER (PARTITION BY analysis_id, variable)      AS any_n_withheld
    FROM results.table_one
)
SELECT
    analysis_id, variable, kind, level, "group",
    results.published(n, n_suppressed)                      AS n,
    results.published(n_missing, n_missing_suppressed)      AS n_missing,
    results.published(count, count_suppressed)              AS count,
    CASE WHEN NOT (count_withheld OR n_withheld) THEN percent END AS percent,
    CASE WHEN NOT n_withheld THEN median END                AS median,
    CASE WHEN NOT n_withheld THEN q1 END                    AS q1,
    CASE WHEN NOT n_withheld THEN q3 END                    AS q3,
    CASE WHEN NOT n_withheld THEN min END                   AS min,
    CASE WHEN NOT n_withheld THEN max END                   AS max,
    test,
    CASE WHEN NOT test_withheld THEN p END                  AS p,
    p_floor,
    CASE WHEN NOT test_withheld THEN p_display END          AS p_display,
    CASE WHEN NOT (test_withheld OR n_withheld) THEN smd END AS smd,
    CASE WHEN NOT (test_withheld OR any_n_withheld) THEN smd_max END AS smd_max,
    n_withheld                                              AS n_suppressed,
    results.withheld(n_missing, n_missing_suppressed)       AS n_missing_suppressed,
    count_withheld                                          AS count_suppressed
FROM flagged;
