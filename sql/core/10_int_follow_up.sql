-- grain: one patient (patient_id).
-- intermediate.int_follow_up: one row per patient; the follow-up window every endpoint uses.
-- Calendar dates:
--   censor_date  : last contact, or the data cut-off if that is earlier
--   censor_source : the registry column censor_date was taken from
--   death_date   : date of death if on or before the cut-off, else NULL (alive at cut-off)
--   death_cause  : the recorded cause of that death (gist, treatment, other, unknown; NULL if not recorded)
--   death_cause_class : that death as dead_of_disease (gist) / dead_of_other_cause (treatment, other) /
--                       dead_of_unknown_cause (unknown or not recorded); NULL if alive at the cut-off
--   follow_up_end : how follow-up ended: death, data_cutoff, lost_to_follow_up (the site says the patient
--                   was lost; censored at last contact) or last_contact
-- Times from an anchor (a site sending durations instead of dates; NULL for dated patients):
--   time_anchor   : what time 0 of the patient's times is (diagnosis, advanced_disease, first_tki, ...)
--   censor_months : months from the anchor to last contact, exactly as sent (days / 30.4375 for days);
--                   never through a date, so 12.00 months stays 12.00
--   death_months  : months from the anchor to death (death_time, else last_contact_time of the dead)
--   times_cutoff  : the site's export date, the data cut-off of those times (GIST_DATA_CUTOFF needs dates)
CREATE OR REPLACE VIEW intermediate.int_follow_up AS
WITH months AS (
    SELECT
        p.*,
        CASE p.time_unit WHEN 'days' THEN 30.4375 ELSE 1 END AS days_per_unit,
        -- died within the follow-up counted: by the cut-off (dates) or as sent (relative times)
        coalesce(
            p.death_date <= core.data_cutoff(),
            p.last_contact_date IS NULL AND p.vital_status = 'dead',
            false
        ) AS died
    FROM core.patients AS p
)

SELECT
    p.site_id,
    p.patient_id,
    -- least() skips a NULL: a patient without a last contact date has no censoring date, not the cut-off
    CASE WHEN p.last_contact_date IS NOT NULL
         THEN least(p.last_contact_date, core.data_cutoff()) END           AS censor_date,
    CASE WHEN p.last_contact_date IS NULL AND p.last_contact_time IS NOT NULL THEN 'PATIENTS.LAST_CONTACT_TIME'
         WHEN p.last_contact_date > core.data_cutoff() THEN 'DATA_CUTOFF'
         ELSE 'PATIENTS.LAST_CONTACT_DATE' END                              AS censor_source,
    CASE WHEN p.death_date <= core.data_cutoff() THEN p.death_date END      AS death_date,
    CASE WHEN p.death_date <= core.data_cutoff() OR p.last_contact_date IS NULL THEN p.death_cause END
                                                                           AS death_cause,
    CASE WHEN NOT p.died THEN NULL
         WHEN p.death_cause = 'gist' THEN 'dead_of_disease'
         WHEN p.death_cause IN ('treatment', 'other') THEN 'dead_of_other_cause'
         ELSE 'dead_of_unknown_cause' END                                   AS death_cause_class,
    CASE WHEN p.died THEN 'death'
         WHEN p.last_contact_date > core.data_cutoff() THEN 'data_cutoff'
         WHEN p.lost_to_follow_up THEN 'lost_to_follow_up'
         ELSE 'last_contact' END                                            AS follow_up_end,
    p.time_anchor,
    p.last_contact_time / p.days_per_unit                                    AS censor_months,
    CASE WHEN p.vital_status = 'dead'
         THEN coalesce(p.death_time, p.last_contact_time) / p.days_per_unit END AS death_months,
    p.times_exported_on                                                     AS times_cutoff
FROM months AS p;
