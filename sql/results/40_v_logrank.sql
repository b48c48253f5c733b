-- results.v_logrank: the k-group log-rank test per analysis and endpoint (one row per group, from
-- results.logrank; the test columns repeat on every group row of the same test).
--   observed / expected : events per group, and as expected if the groups did not differ
--   statistic, df, p    : chi-square statistic, k - 1 degrees of freedom, p-value
--   status              : 'ok', or why the test could not be computed (e.g. a single group)
CREATE OR REPLACE VIEW results.v_logrank AS
SELECT
    analysis_id,
    endpoint,
    "group",
    results.suppress(n)         AS n,
    results.suppress(observed)  AS observed,
    expected,
    statistic,
    df,
    p,
    status
FROM results.logrank;
