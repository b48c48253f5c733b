-- grain: one patient (patient_id).
-- intermediate.int_follow_up: one row per patient; the follow-up window every endpoint uses.
--   censor_date  : last contact, or the data cut-off if that is earlier
--   censor_source : the registry column censor_date was taken from
--   death_date   : date of death if on or before the cut-off, else NULL (alive at cut-off)
--   death_cause  : the recorded cause of that death (gist, treatment, other, unknown; NULL if not recorded)
--   death_cause_class : that death as dead_of_disease (gist) / dead_of_other_cause (treatment, other) /
--                       dead_of_unknown_cause (unknown or not recorded); NULL if alive at the cut-off
--   follow_up_end : how follow-up ended: death, data_cutoff, lost_to_follow_up (the site says the patient
--                   was lost; censored at last contact) or last_contact
CREATE OR REPLACE VIEW intermediate.int_follow_up AS
SELECT
    p.site_id,
    p.patient_id,
    least(p.last_contact_date, core.data_cutoff())                          AS censor_date,
    CASE WHEN p.last_contact_date > core.data_cutoff() THEN 'DATA_CUTOFF'
         ELSE 'PATIENTS.LAST_CONTACT_DATE' END                              AS censor_source,
    CASE WHEN p.death_date <= core.data_cutoff() THEN p.death_date END      AS death_date,
    CASE WHEN p.death_date <= core.data_cutoff() THEN p.death_cause END     AS death_cause,
    CASE WHEN p.death_date > core.data_cutoff() OR p.death_date IS NULL THEN NULL
         WHEN p.death_cause = 'gist' THEN 'dead_of_disease'
         WHEN p.death_cause IN ('treatment', 'other') THEN 'dead_of_other_cause'
         ELSE 'dead_of_unknown_cause' END                                 AS death_cause_class,
    CASE WHEN p.death_date <= core.data_cutoff() THEN 'death'
         WHEN p.last_contact_date > core.data_cutoff() THEN 'data_cutoff'
         WHEN p.lost_to_follow_up THEN 'lost_to_follow_up'
         ELSE 'last_contact' END                                          AS follow_up_end
FROM core.patients AS p;
