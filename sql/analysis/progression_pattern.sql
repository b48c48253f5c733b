-- analysis.progression_pattern: patients whose disease first progressed on first-line
-- imatinib, by the pattern of that progression (seed 004: focal vs generalised).
-- Grain: one patient.  Origin: the date of the first progression on imatinib.
-- Groups: focal vs multifocal (generalised).  PFS here is progression after salvage.
-- Columns: age at progression and the patient characteristics of intermediate.int_patient_characteristics.
CREATE OR REPLACE VIEW analysis.progression_pattern_subjects AS
SELECT
    g.patient_id                   AS subject_id,
    g.site_id,
    g.patient_id,
    g.pattern                      AS group_label,
    g.progression_date             AS origin_date,
    year(g.progression_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_progression_context AS g
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = g.site_id AND c.patient_id = g.patient_id
WHERE g.ordinal = 1
  AND g.tki_line = 1
  AND g.tki_agent = 'imatinib';

CREATE OR REPLACE TABLE analysis.progression_pattern AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.progression_pattern_subjects');

-- analysis.progression_pattern_flow: grain one registry patient; the first cohort step the patient fails
-- (pipelines/stats/flow.py), NULL if none: the subjects view's WHERE in order (a first progression, on line 1,
-- of imatinib), then the frame's rule.  Patterns other than focal and multifocal leave as not in a compared group.
CREATE OR REPLACE MACRO analysis.progression_pattern_flow_steps() AS
    ['registry_patients', 'no_progression', 'first_progression_not_on_first_line', 'first_line_not_imatinib',
     'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.progression_pattern_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN g.patient_id IS NULL THEN 'no_progression'
        WHEN NOT coalesce(g.tki_line = 1, false) THEN 'first_progression_not_on_first_line'
        WHEN NOT coalesce(g.tki_agent = 'imatinib', false) THEN 'first_line_not_imatinib'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.progression_pattern_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.progression_pattern') AS c
LEFT JOIN intermediate.int_progression_context AS g
  ON g.site_id = c.site_id AND g.patient_id = c.patient_id AND g.ordinal = 1;
