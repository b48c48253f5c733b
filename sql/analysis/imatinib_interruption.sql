-- analysis.imatinib_interruption: patients progression-free on first-line imatinib for one year
-- (seed 002, BFR14), by a planned interruption at that point vs continuation.
-- Grain: one patient.  Origin: imatinib start + 365 days (the 1-year landmark).
-- Cohort: at the landmark alive, under follow-up, progression-free, not operated on imatinib, not
-- switched to a later line, and not interrupted more than 30 days before it.
-- Groups: 'interruption' = a line-1 episode ended as a planned interruption between 30 days before
-- and 60 days after the landmark; otherwise 'continued' (also if an interruption comes later:
-- intention-to-treat from the landmark).  The 60-day window lets at most 2 months of immortal
-- time into the interruption group (docs/statistics.md).
CREATE OR REPLACE VIEW analysis.imatinib_interruption_subjects AS
WITH landmark AS (
    SELECT f.*, f.imatinib_start + INTERVAL 365 DAY AS landmark_date
    FROM intermediate.int_first_line_imatinib AS f
)
SELECT
    l.patient_id                   AS subject_id,
    l.site_id,
    l.patient_id,
    CASE WHEN l.interruption_date <= l.landmark_date + INTERVAL 60 DAY THEN 'interruption'
         ELSE 'continued' END      AS group_label,
    cast(l.landmark_date AS DATE)  AS origin_date,
    l.first_line_response,
    l.starting_dose_mg,
    year(l.landmark_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM landmark AS l
INNER JOIN intermediate.int_follow_up AS u ON u.site_id = l.site_id AND u.patient_id = l.patient_id
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = l.site_id AND c.patient_id = l.patient_id
WHERE u.censor_date > l.landmark_date
  AND coalesce(u.death_date > l.landmark_date, true)
  AND coalesce(l.first_progression_date > l.landmark_date, true)
  AND coalesce(l.surgery_date > l.landmark_date, true)
  AND coalesce(l.interruption_date >= l.landmark_date - INTERVAL 30 DAY, true)
  AND NOT EXISTS (SELECT 1 FROM core.tki_episodes AS e
                  WHERE e.site_id = l.site_id AND e.patient_id = l.patient_id
                    AND e.line > 1 AND coalesce(e.setting, 'advanced') = 'advanced'
                    AND e.start_date <= l.landmark_date);

CREATE OR REPLACE TABLE analysis.imatinib_interruption AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.imatinib_interruption_subjects');
