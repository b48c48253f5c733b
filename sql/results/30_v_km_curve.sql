-- grain: one analysis, endpoint, group and time of the step function.
-- published.v_km_curve: the Kaplan-Meier step function per analysis, endpoint and group, for re-drawing
-- curves elsewhere (from results.km_curve).  The per-time counts are left out.  Survival to full precision
-- with its Greenwood CI gives them back (each step is 1 - d/n, the CI's width adds d/(n(n - d))), so:
--   * a group's curve is published only when none of its counts is withheld (results.withheld_groups());
--   * it stops where fewer than results.min_cell_count() subjects are still at risk.
-- Each step still shows when events happened; see docs/statistics.md ("Small-count suppression").
CREATE OR REPLACE VIEW published.v_km_curve AS
SELECT
    c.analysis_id,
    c.endpoint,
    c."group",
    c.time                      AS time_months,
    results.finite(c.survival)  AS survival,
    results.finite(c.lower)     AS lower,
    results.finite(c.upper)     AS upper,
    c.ci_transform
FROM results.km_curve AS c
ANTI JOIN results.withheld_groups() AS w
    ON w.analysis_id = c.analysis_id AND w.endpoint = c.endpoint AND w."group" = c."group"
WHERE c.n_at_risk >= results.min_cell_count();
