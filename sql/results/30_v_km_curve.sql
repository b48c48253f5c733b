-- results.v_km_curve: the full Kaplan-Meier step function per analysis, endpoint and group, for
-- re-drawing curves elsewhere (from results.km_curve).  The per-time counts are left out: at most
-- event times they are 1, so publishing them would identify patients.
CREATE OR REPLACE VIEW results.v_km_curve AS
SELECT
    analysis_id,
    endpoint,
    "group",
    time                      AS time_months,
    results.finite(survival)  AS survival,
    results.finite(lower)     AS lower,
    results.finite(upper)     AS upper,
    ci_transform
FROM results.km_curve;
