-- grain: one analysis, endpoint and group.
-- published.v_logrank: the k-group log-rank test per analysis and endpoint (one row per group, from
-- results.logrank; the test columns repeat on every group row of the same test).
--   n, observed         : subjects and observed events per group (the same withheld cells as v_survival_summary)
--   n_suppressed, observed_suppressed : true where withheld (print "supp.")
--   expected            : events expected if the groups did not differ (not a count of patients)
--   statistic, df, p    : chi-square statistic, k - 1 degrees of freedom, p-value
--   status              : 'ok', or why the test could not be computed (e.g. a single group)
CREATE OR REPLACE VIEW published.v_logrank AS
SELECT
    analysis_id,
    endpoint,
    "group",
    results.published(n, n_suppressed)                AS n,
    results.published(observed, observed_suppressed)  AS observed,
    expected,
    statistic,
    df,
    p,
    status,
    results.withheld(n, n_suppressed)                 AS n_suppressed,
    results.withheld(observed, observed_suppressed)   AS observed_suppressed
FROM results.logrank;
