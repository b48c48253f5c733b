-- analysis.status_at_surgery: the same operations as surgery_on_tki (seed 003), by the
-- radiological disease status just before surgery: responsive / stable / focal progression /
-- multifocal (generalised) progression.  Grain: one operation (clustered by patient_id).
-- Origin: the date of surgery.  Columns: TKI at surgery, resection, age at surgery and the
-- patient characteristics of intermediate.int_patient_characteristics.
-- Cohort flow (analysis.status_at_surgery_flow) at the frame's grain, operations, as surgery_on_tki's (see
-- there why not patients): the registry's operations down to each disease status's operations.
CREATE OR REPLACE VIEW analysis.status_at_surgery_subjects AS
SELECT
    o.operation_id                 AS subject_id,
    o.site_id,
    o.patient_id,
    o.disease_status               AS group_label,
    o.surgery_date                 AS origin_date,
    o.tki_agent,
    o.resection,
    o.operation_number,
    year(o.surgery_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_operations_on_tki AS o
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = o.site_id AND c.patient_id = o.patient_id
WHERE o.disease_status IS NOT NULL;

CREATE OR REPLACE TABLE analysis.status_at_surgery AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.status_at_surgery_subjects');

-- analysis.status_at_surgery_flow: grain one registry operation; the first cohort step it fails
-- (pipelines/stats/flow.py), NULL if none: the conditions of intermediate.int_operations_on_tki
-- (analysis.operations_on_tki_flow), this view's WHERE, then the frame's own (follow-up ending before the surgery).
CREATE OR REPLACE MACRO analysis.status_at_surgery_flow_steps() AS
    list_concat(analysis.operations_on_tki_flow_steps(), ['no_disease_status', 'no_follow_up_after_origin']);

CREATE OR REPLACE VIEW analysis.status_at_surgery_flow AS
SELECT
    o.site_id,
    o.patient_id,
    o.subject_id,
    coalesce(o.operation_reason, CASE
        WHEN o.disease_status IS NULL THEN 'no_disease_status'
        WHEN NOT o.in_frame THEN 'no_follow_up_after_origin'
    END) AS excluded_reason,
    list_position(analysis.status_at_surgery_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.operations_on_tki_flow('analysis.status_at_surgery') AS o;
