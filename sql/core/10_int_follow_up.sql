-- grain: one patient (patient_id).
-- intermediate.int_follow_up: one row per patient; the follow-up window every endpoint uses.
--   censor_date  : last contact, or the data cut-off if that is earlier
--   censor_source : the registry column censor_date was taken from
--   death_date   : date of death if on or before the cut-off, else NULL (alive at cut-off)
--   death_cause  : the recorded cause of that death (gist, treatment, other, unknown; NULL if not recorded)
CREATE OR REPLACE VIEW intermediate.int_follow_up AS
SELECT
    p.site_id,
    p.patient_id,
    least(p.last_contact_date, core.data_cutoff())                          AS censor_date,
    CASE WHEN p.last_contact_date > core.data_cutoff() THEN 'DATA_CUTOFF'
         ELSE 'PATIENTS.LAST_CONTACT_DATE' END                              AS censor_source,
    CASE WHEN p.death_date <= core.data_cutoff() THEN p.death_date END      AS death_date,
    CASE WHEN p.death_date <= core.data_cutoff() THEN p.death_cause END     AS death_cause
FROM core.patients AS p;
