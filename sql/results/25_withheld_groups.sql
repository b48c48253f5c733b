-- grain: one analysis, endpoint and group.
-- results.withheld_groups(): the groups with any withheld count in their survival tables (Kaplan-Meier summary,
-- landmarks, numbers at risk, log-rank, cumulative incidence).  The step functions of such a group are not
-- published (published.v_km_curve, published.v_cumulative_incidence_curve): a curve at full precision with its CI
-- gives back the counts at each step, and an all-cause curve beside one cause's curve gives back the other
-- causes' events by subtraction.  Both views read this one list, so neither publishes what the other withholds.
-- A table macro, bound when a view is read: it has no columns of its own to document.
CREATE OR REPLACE MACRO results.withheld_groups() AS TABLE
SELECT analysis_id, endpoint, "group" FROM results.km_summary
WHERE results.withheld(n, n_suppressed) OR results.withheld(events, events_suppressed)
   OR results.withheld(censored, censored_suppressed)
UNION SELECT analysis_id, endpoint, "group" FROM results.km_landmarks
WHERE results.withheld(n_at_risk, n_at_risk_suppressed) OR results.withheld(n_events, n_events_suppressed)
UNION SELECT analysis_id, endpoint, "group" FROM results.km_at_risk
WHERE results.withheld(n_at_risk, n_at_risk_suppressed)
UNION SELECT analysis_id, endpoint, "group" FROM results.logrank
WHERE results.withheld(n, n_suppressed) OR results.withheld(observed, observed_suppressed)
UNION SELECT analysis_id, endpoint, "group" FROM results.cumulative_incidence
WHERE results.withheld(n_at_risk, n_at_risk_suppressed) OR results.withheld(n_events, n_events_suppressed);
