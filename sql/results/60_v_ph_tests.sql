-- results.v_ph_tests: proportional-hazards tests (scaled Schoenfeld residuals against rank of
-- time, as R's cox.zph(transform = "rank")) per Cox model and term, plus the global test
-- (term 'GLOBAL').  A small p says the hazard ratio changes over follow-up, so one HR summarises it badly.
CREATE OR REPLACE VIEW results.v_ph_tests AS
SELECT analysis_id, endpoint, model, term, statistic, df, p, time_transform, status
FROM results.ph_test;
