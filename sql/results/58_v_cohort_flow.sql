-- grain: one analysis, step, kind and reason or group (v_cohort_flow).
-- published.v_cohort_flow: the cohort flow of each analysis with a flow (analysis.<id>_flow), CONSORT style,
-- from results.cohort_flow (pipelines/stats/flow.py), in step order.
--   step             : 0 = the registry's units (patients, or the frame's operations or samples), then one per
--                      declared exclusion in order; the last holds the analysed groups
--   kind             : cohort (units remaining), excluded (with a reason; 0 included) or analysed (per group)
--   reason           : the step's label code (sql/analysis/labels.yaml, flow), NULL on analysed rows
--   group            : the analysed group, NULL otherwise
--   n                : units, as the root (withheld, with complements, like every published count; a 0 is shown)
--   n_suppressed     : true where n is withheld (print "supp.")
CREATE OR REPLACE VIEW published.v_cohort_flow AS
SELECT
    analysis_id,
    step,
    kind,
    reason,
    "group",
    results.published(n, n_suppressed) AS n,
    results.withheld(n, n_suppressed) AS n_suppressed
FROM results.cohort_flow;
