-- analysis.imatinib_interruption: patients progression-free on first-line imatinib for one year
-- (seed 002, BFR14), by a planned interruption at that point vs continuation.
-- Grain: one patient.  Origin: imatinib start + 365 days (the 1-year landmark).
-- Cohort: at the landmark progression-free, alive, under follow-up, not operated on imatinib, not
-- switched to a later line, and not interrupted more than 30 days before it (the WHERE in that order, which
-- the cohort flow, analysis.imatinib_interruption_flow, follows step by step).
-- Groups: 'interruption' = a line-1 episode ended as a planned interruption between 30 days before
-- and 60 days after the landmark; otherwise 'continued' (also if an interruption comes later:
-- intention-to-treat from the landmark).  The 60-day window lets at most 2 months of immortal
-- time into the interruption group (docs/statistics.md).
-- analysis.imatinib_interruption_landmark(): intermediate.int_first_line_imatinib with
--   landmark_date    : imatinib start + 365 days
--   later_line_start : the first start of a later line for advanced disease (NULL if none)
CREATE OR REPLACE MACRO analysis.imatinib_interruption_landmark() AS TABLE
SELECT
    f.*,
    f.imatinib_start + INTERVAL 365 DAY AS landmark_date,
    (SELECT min(e.start_date) FROM core.tki_episodes AS e
      WHERE e.site_id = f.site_id AND e.patient_id = f.patient_id
        AND e.line > 1 AND coalesce(e.setting, 'advanced') = 'advanced') AS later_line_start
FROM intermediate.int_first_line_imatinib AS f;

CREATE OR REPLACE VIEW analysis.imatinib_interruption_subjects AS
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
FROM analysis.imatinib_interruption_landmark() AS l
INNER JOIN intermediate.int_follow_up AS u ON u.site_id = l.site_id AND u.patient_id = l.patient_id
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = l.site_id AND c.patient_id = l.patient_id
WHERE coalesce(l.first_progression_date > l.landmark_date, true)
  AND coalesce(u.death_date > l.landmark_date, true)
  AND u.censor_date > l.landmark_date
  AND coalesce(l.surgery_date > l.landmark_date, true)
  AND coalesce(l.later_line_start > l.landmark_date, true)
  AND coalesce(l.interruption_date >= l.landmark_date - INTERVAL 30 DAY, true);

CREATE OR REPLACE TABLE analysis.imatinib_interruption AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.imatinib_interruption_subjects');

-- analysis.imatinib_interruption_flow: grain one registry patient; the first cohort step the patient fails
-- (pipelines/stats/flow.py), NULL if none: first-line imatinib, the subjects view's WHERE in order, then the
-- frame's rule (which excludes nobody the WHERE keeps: follow-up goes on past the landmark, the origin).
CREATE OR REPLACE MACRO analysis.imatinib_interruption_flow_steps() AS
    ['registry_patients', 'not_first_line_imatinib', 'progression_before_landmark', 'death_before_landmark',
     'follow_up_ended_before_landmark', 'surgery_before_landmark', 'later_line_before_landmark',
     'interruption_before_landmark', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.imatinib_interruption_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN l.patient_id IS NULL THEN 'not_first_line_imatinib'
        WHEN l.first_progression_date <= l.landmark_date THEN 'progression_before_landmark'
        WHEN u.death_date <= l.landmark_date THEN 'death_before_landmark'
        WHEN NOT coalesce(u.censor_date > l.landmark_date, false) THEN 'follow_up_ended_before_landmark'
        WHEN l.surgery_date <= l.landmark_date THEN 'surgery_before_landmark'
        WHEN l.later_line_start <= l.landmark_date THEN 'later_line_before_landmark'
        WHEN l.interruption_date < l.landmark_date - INTERVAL 30 DAY THEN 'interruption_before_landmark'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.imatinib_interruption_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.imatinib_interruption') AS c
INNER JOIN intermediate.int_follow_up AS u ON u.site_id = c.site_id AND u.patient_id = c.patient_id
LEFT JOIN analysis.imatinib_interruption_landmark() AS l ON l.site_id = c.site_id AND l.patient_id = c.patient_id;
