-- grain: one analysis and endpoint.
-- published.v_limits: what each comparison can and cannot say, per analysis and endpoint (from results.limits).
--   design               : observational data, not randomised
--   confounders_held     : covariates of the multivariable model
--   confounders_not_held : what could confound the comparison that the registry does not record
--   few_events_groups    : groups with fewer than 10 events (unstable estimates), each with its events as
--                          published ('supp.' where v_survival_summary withholds them)
--   clustering           : how repeated subjects per patient (operations) are handled, if they occur
--   immortal_time        : how time before an exposure is handled, for exposure comparisons
--   adjustment           : which adjustments the models make (multivariable covariates, landmarks, time-varying
--                          exposure, its split, time-varying covariates, IPTW where declared)
--   time_dependent_confounding : in words, what the exposure models cannot separate (progression as a
--                          time-dependent confounder and mediator; exposure kinds mixed in the pooled exposure)
--   primary_model        : the catalogue's primary model, the estimate the report leads with
--   footnote             : all of it in one sentence, as printed under the plots
CREATE OR REPLACE VIEW published.v_limits AS
SELECT analysis_id, endpoint, design, confounders_held, confounders_not_held, few_events_groups,
       clustering, immortal_time, adjustment, time_dependent_confounding,
       primary_model, footnote
FROM results.limits;
