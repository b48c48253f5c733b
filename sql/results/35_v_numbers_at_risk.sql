-- grain: one analysis, endpoint, group and printed time.
-- published.v_numbers_at_risk: the numbers at risk printed under each Kaplan-Meier plot, per analysis, endpoint,
-- group and tick time (from results.km_at_risk, written by pipelines/disclosure.py with the plot's ticks).
--   n_at_risk            : subjects with time >= time_months (as v_survival_at_landmarks); NULL where withheld
--   n_at_risk_suppressed : true where withheld, as the plot prints it ("supp.")
CREATE OR REPLACE VIEW published.v_numbers_at_risk AS
SELECT
    analysis_id,
    endpoint,
    "group",
    time                                                AS time_months,
    results.published(n_at_risk, n_at_risk_suppressed)  AS n_at_risk,
    results.withheld(n_at_risk, n_at_risk_suppressed)   AS n_at_risk_suppressed
FROM results.km_at_risk;
