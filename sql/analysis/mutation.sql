-- analysis.mutation: advanced GIST on first-line imatinib by genotype (seeds 002, 003):
-- KIT exon 11 / KIT exon 9 / PDGFRA / KIT-PDGFRA wild type (intermediate.int_patient_characteristics
-- .mutation_class; other KIT exons and untested patients are labelled but not in the catalogue groups).
-- Grain: one patient.  Origin: the start of imatinib.  Columns: starting dose (exon 9 may start
-- on 800 mg, see mutation_exon9_dose), first-line response, age at imatinib start, characteristics.
CREATE OR REPLACE VIEW analysis.mutation_subjects AS
SELECT
    f.patient_id                   AS subject_id,
    f.site_id,
    f.patient_id,
    c.mutation_class               AS group_label,
    f.imatinib_start               AS origin_date,
    f.starting_dose_mg,
    f.first_line_response,
    year(f.imatinib_start) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_first_line_imatinib AS f
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = f.site_id AND c.patient_id = f.patient_id;

CREATE OR REPLACE TABLE analysis.mutation AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.mutation_subjects');

-- analysis.mutation_flow: grain one registry patient; the first cohort step the patient fails
-- (pipelines/stats/flow.py), NULL if none.  Other mutation classes (other KIT exons, not tested, unknown)
-- pass every step and leave as not in a compared group.
CREATE OR REPLACE MACRO analysis.mutation_flow_steps() AS
    ['registry_patients', 'not_first_line_imatinib', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.mutation_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN f.patient_id IS NULL THEN 'not_first_line_imatinib'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.mutation_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.mutation') AS c
LEFT JOIN intermediate.int_first_line_imatinib AS f ON f.site_id = c.site_id AND f.patient_id = c.patient_id;
