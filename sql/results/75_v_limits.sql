-- grain: one analysis and endpoint.
-- published.v_limits: what each comparison can and cannot say, per analysis and endpoint (from results.limits).
--   design               : observational data, not randomised
--   confounders_held     : covariates of the multivariable model
--   confounders_not_held : what could confound the comparison that the registry does not record
--   few_events_groups    : groups with fewer than 10 events (unstable estimates), each with its events as
--                          published ('supp.' where v_survival_summary withholds them)
--   clustering           : how repeated subjects per patient (operations) are handled, if they occur
--   immortal_time        : how time before an exposure is handled, for exposure comparisons
--   footnote             : all of it in one sentence, as printed under the plots
CREATE OR REPLACE VIEW published.v_limits AS
SELECT analysis_id, endpoint, design, confounders_held, confounders_not_held, few_events_groups,
       clustering, immortal_time, footnote
FROM results.limits;
