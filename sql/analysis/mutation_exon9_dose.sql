-- analysis.mutation_exon9_dose: the KIT exon 9 subgroup of analysis.mutation by starting dose of
-- imatinib, 400 vs 800 mg (seed 002: 800 mg may be appropriate for exon 9).
-- Grain: one patient.  Origin: the start of imatinib.  Groups: imatinib_400 / imatinib_800
-- (any other starting dose is labelled other_dose and left out by the catalogue).
-- Runs after mutation.sql (file name order), whose subjects view it filters.
CREATE OR REPLACE VIEW analysis.mutation_exon9_dose_subjects AS
SELECT * REPLACE (CASE starting_dose_mg WHEN 400 THEN 'imatinib_400' WHEN 800 THEN 'imatinib_800'
                       ELSE 'other_dose' END AS group_label)
FROM analysis.mutation_subjects
WHERE group_label = 'kit_exon9';

CREATE OR REPLACE TABLE analysis.mutation_exon9_dose AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.mutation_exon9_dose_subjects');

-- analysis.mutation_exon9_dose_flow: grain one registry patient; the first cohort step the patient fails
-- (pipelines/stats/flow.py), NULL if none: analysis.mutation_subjects' FROM, this view's WHERE, the frame's rule.
-- Starting doses other than 400 and 800 mg pass every step and leave as not in a compared group.
CREATE OR REPLACE MACRO analysis.mutation_exon9_dose_flow_steps() AS
    ['registry_patients', 'not_first_line_imatinib', 'not_kit_exon9', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.mutation_exon9_dose_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN s.patient_id IS NULL THEN 'not_first_line_imatinib'
        WHEN NOT coalesce(s.group_label = 'kit_exon9', false) THEN 'not_kit_exon9'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.mutation_exon9_dose_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.mutation_exon9_dose') AS c
LEFT JOIN analysis.mutation_subjects AS s ON s.site_id = c.site_id AND s.patient_id = c.patient_id;
