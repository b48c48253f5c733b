-- grain: one analysis, endpoint, model and term (GLOBAL included).
-- published.v_ph_tests: proportional-hazards tests (the score test of R's cox.zph(fit, transform = "km"),
-- survival >= 3.0) per Cox model and term, the immortal-time models' included, plus the global test
-- (term 'GLOBAL').  A small p says the hazard ratio changes over follow-up, so one HR summarises it badly.
CREATE OR REPLACE VIEW published.v_ph_tests AS
SELECT analysis_id, endpoint, model, term, statistic, df, p, time_transform, status
FROM results.ph_test;
