-- grain: one analysis, endpoint, group and tau (v_rmst, v_rmst_contrasts).
-- published.v_rmst: restricted mean survival time (RMST) per analysis, endpoint, group and horizon tau
-- (from results.rmst; survRM2's rmst1 definitions, docs/statistics.md "RMST").
--   tau              : the restriction time, months
--   n                : subjects in the group (the same count, withheld the same way, as v_survival_summary's n)
--   n_suppressed     : true where n is withheld (print "supp.")
--   rmst, se         : area under the Kaplan-Meier curve from 0 to tau (expected event-free months within
--                      tau) and its standard error
--   lower, upper     : normal 95% CI
--   status           : 'ok', or why no estimate is published (e.g. tau beyond the group's last follow-up)
CREATE OR REPLACE VIEW published.v_rmst AS
SELECT
    analysis_id,
    endpoint,
    "group",
    tau,
    results.published(n, n_suppressed) AS n,
    rmst,
    se,
    lower,
    upper,
    status,
    results.withheld(n, n_suppressed) AS n_suppressed
FROM results.rmst;
-- published.v_rmst_contrasts: RMST of each group against the analysis's reference group, per endpoint and
-- tau (from results.rmst_contrast; survRM2's rmst2 definitions).
--   group, reference : the compared group and the reference
--   tau              : the restriction time, months
--   difference, difference_lower, difference_upper, difference_p : RMST(group) - RMST(reference), normal 95% CI
--                      from the sum of the two variances, two-sided Wald p
--   ratio, ratio_lower, ratio_upper, ratio_p : RMST(group) / RMST(reference), CI and p on the log scale
--                      (delta method: Var log RMST = Var RMST / RMST^2)
--   status           : 'ok', or why no contrast is published (an RMST not estimable at tau)
CREATE OR REPLACE VIEW published.v_rmst_contrasts AS
SELECT
    analysis_id,
    endpoint,
    "group",
    reference,
    tau,
    difference,
    difference_lower,
    difference_upper,
    difference_p,
    ratio,
    ratio_lower,
    ratio_upper,
    ratio_p,
    status
FROM results.rmst_contrast;
